/**
 * `qkv lab calibration`: the label bias a few-shot prompt carries, and contextual calibration
 * (Zhao et al. 2021, src/eval/calibration.ts and few-shot.ts) removing it.
 *
 * A tiny character GPT is pre-trained on few-shot "episodes" of a noisy two-class task: an input
 * is `letters` letters, each drawn from the first half of the alphabet with probability
 * `signal` for label x (the second half for y); inside an episode the labels follow a prior
 * drawn per episode, so the model learns, as large LMs do, to lean on the labels it has seen in
 * the prompt, and x is the commoner label overall. Evaluated with `runCalibrationExperiment` on a balanced test set, with
 * demonstration sets drawn from a balanced pool (their label counts vary by chance) in several
 * orders: a skewed set tilts the predictions towards its majority label and costs accuracy;
 * calibrating with the content-free inputs ("N/A", "", "[MASK]")
 * takes the tilt back out. In pre-training, one input in five is one of those content-free
 * strings with a label drawn from the episode's prior: like "N/A" in web text, it appears, but
 * says nothing about the label, which is the premise of the method.
 *
 * Label bias = total-variation distance between the predicted label shares and the test set's
 * true shares (0: predictions as balanced as the truth; 1: one label everywhere).
 *
 * Legend: k = shots, L = labels.
 */
import { GPT } from '../../models/gpt.ts';
import { runCalibrationExperiment, type Demonstration, type PromptTemplate } from '../../eval/few-shot.ts';
import { CONTENT_FREE_INPUTS } from '../../eval/calibration.ts';
import { Rng } from '../../tensor/random.ts';
import { trainCharTokenizer } from '../../tokenizers/char.ts';
import { TokenDataset } from '../../train/data.ts';
import { TRAIN_DEFAULTS, trainLanguageModel } from '../../train/trainer.ts';
import { numberListParam, numberParam, type Experiment, type ExperimentResult } from '../experiment.ts';

const LABELS = ['x', 'y'] as const;
const HALVES = ['abcd', 'efgh'] as const;
/** "abc: x;def: y;…;ghe:" — the prompt the model is trained on and asked with. */
export const EPISODE_TEMPLATE: PromptTemplate = { inputPrefix: '', labelPrefix: ':', separator: ';', maxInputWords: 1 };

/** One input of the task: each letter from the label's half of the alphabet with probability `signal`. */
export function taskInput(label: number, letters: number, signal: number, rng: Rng): string {
  let out = '';
  for (let i = 0; i < letters; i++) {
    const half = rng.uniform() < signal ? HALVES[label] : HALVES[1 - label];
    out += half[rng.randint(half.length)];
  }
  return out;
}

/**
 * Each episode's P(label x) is drawn from [PRIOR_LOW, PRIOR_HIGH]: x is the commoner label in
 * pre-training (mean 0.825), as some label words are commoner in web text (the paper's
 * "common token bias"), and the spread is there for the model to read the prompt's labels.
 */
const PRIOR_LOW = 0.7;
const PRIOR_HIGH = 0.95;

/** Share of pre-training inputs replaced by a content-free string (its label still follows the episode's prior). */
const CONTENT_FREE_RATE = 0.2;

/** Pre-training text: episodes of 1…maxShots shots under a per-episode label prior, one a line. */
export function episodeText(episodes: number, maxShots: number, letters: number, signal: number, rng: Rng): string {
  const lines: string[] = [];
  for (let e = 0; e < episodes; e++) {
    const prior = PRIOR_LOW + (PRIOR_HIGH - PRIOR_LOW) * rng.uniform(); // P(label x) in this episode
    const shots = 1 + rng.randint(maxShots + 1);
    const parts: string[] = [];
    for (let s = 0; s < shots; s++) {
      const label = rng.uniform() < prior ? 0 : 1;
      // Now and then an input that says nothing about its label, as "N/A" does in web text.
      const input = rng.uniform() < CONTENT_FREE_RATE ? CONTENT_FREE_INPUTS[rng.randint(CONTENT_FREE_INPUTS.length)] : taskInput(label, letters, signal, rng);
      parts.push(`${input}${EPISODE_TEMPLATE.labelPrefix} ${LABELS[label]}`);
    }
    lines.push(parts.join(EPISODE_TEMPLATE.separator));
  }
  return lines.join('\n');
}

/** Balanced labelled examples: alternating x, y. */
function balancedSet(count: number, letters: number, signal: number, rng: Rng): Demonstration[] {
  return Array.from({ length: count }, (_, i) => ({ text: taskInput(i % 2, letters, signal, rng), label: LABELS[i % 2] }));
}

/** Total-variation distance between predicted and true label shares. */
export function labelBias(predicted: readonly number[], truth: readonly number[]): number {
  return predicted.reduce((sum, p, l) => sum + Math.abs(p - truth[l]), 0) / 2;
}

const mean = (xs: readonly number[]) => xs.reduce((sum, x) => sum + x, 0) / xs.length;

export const calibrationExperiment: Experiment = {
  name: 'calibration',
  description: "few-shot label bias vs the number and order of demonstrations, before and after contextual calibration (Zhao et al. 2021)",
  params: [
    { name: 'shots', description: 'demonstrations per prompt k (the largest sets the pre-training episodes)', default: '1,2,4', quick: '1,4' },
    { name: 'sets', description: 'demonstration sets drawn per k', default: 8, quick: 4 },
    { name: 'orders', description: 'orders of each set', default: 3, quick: 2 },
    { name: 'test', description: 'balanced test examples', default: 120, quick: 60 },
    { name: 'letters', description: 'letters per input', default: 1 },
    { name: 'signal', description: "chance each letter comes from its label's half", default: 0.75 },
    { name: 'steps', description: 'pre-training steps (fewer, or another seed, can leave the model ignoring its input: nothing to calibrate)', default: 1000 },
    { name: 'embd', description: 'n_embd', default: 32 },
    { name: 'lr', description: 'peak learning rate (0.01 learns only the label prior here)', default: 0.003 },
  ],
  async run(params, { seed, onProgress }): Promise<ExperimentResult> {
    const letters = numberParam(params, 'letters');
    const signal = numberParam(params, 'signal');
    const shotCounts = numberListParam(params, 'shots');
    const maxShots = Math.max(...shotCounts);
    const rng = new Rng(seed + 1);
    const text = episodeText(4000, maxShots, letters, signal, rng);
    const tokenizer = trainCharTokenizer([text, ...CONTENT_FREE_INPUTS].join('\n'));
    const block = (letters + 4) * (maxShots + 1);
    const model = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 2, n_embd: numberParam(params, 'embd'), n_head: 4, n_positions: block, embd_pdrop: 0, resid_pdrop: 0, attn_pdrop: 0 }, { rng: new Rng(seed) });
    const steps = numberParam(params, 'steps');
    await trainLanguageModel({
      model, dataset: new TokenDataset(tokenizer.encodeIds(text), 0.05), outDir: null, saveModel: () => {},
      config: { ...TRAIN_DEFAULTS, steps, batchSize: 16, blockSize: block, learningRate: numberParam(params, 'lr'), minLearningRate: numberParam(params, 'lr') / 10, warmupSteps: 20, evalInterval: steps + 1, evalBatches: 1, seed: seed + 2 },
    });
    onProgress(1, shotCounts.length + 1, { stage: 'pre-trained' });

    const pool = balancedSet(64, letters, signal, rng);
    const test = balancedSet(numberParam(params, 'test'), letters, signal, rng);
    const truthShares = LABELS.map((label) => test.filter((example) => example.label === label).length / test.length);
    const sets = numberParam(params, 'sets');
    const rows: ExperimentResult['rows'] = [];
    const biasBefore: Array<[number, number]> = [];
    const biasAfter: Array<[number, number]> = [];
    shotCounts.forEach((shots, index) => {
      const runs = runCalibrationExperiment({
        model, tokenizer, labels: LABELS, labelWords: new Map(LABELS.map((label) => [label, label])), pool, test, shots,
        seeds: Array.from({ length: sets }, (_, s) => seed * 1000 + shots * 100 + s), orders: numberParam(params, 'orders'), template: EPISODE_TEMPLATE,
      });
      const before = runs.map((run) => labelBias(run.predictedBefore, truthShares));
      const after = runs.map((run) => labelBias(run.predictedAfter, truthShares));
      // Recency: the share of test inputs given the last demonstration's label.
      const lastLabel = (run: (typeof runs)[number], shares: number[]) => shares[LABELS.indexOf(run.demonstrationLabels.at(-1) as (typeof LABELS)[number])];
      const spread = (xs: number[]) => {
        const std = Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
        return std < 1e-9 ? 0 : std; // equal accuracies: float noise, not spread
      };
      rows.push([
        shots, mean(runs.map((r) => r.accuracyBefore)), mean(runs.map((r) => r.accuracyAfter)), mean(before), mean(after),
        mean(runs.map((r) => lastLabel(r, r.predictedBefore))), mean(runs.map((r) => lastLabel(r, r.predictedAfter))),
        spread(runs.map((r) => r.accuracyBefore)), spread(runs.map((r) => r.accuracyAfter)),
      ]);
      biasBefore.push([shots, mean(before)]);
      biasAfter.push([shots, mean(after)]);
      onProgress(index + 2, shotCounts.length + 1, { shots });
    });
    const overall = (column: number) => mean(rows.map((row) => row[column] as number));
    return {
      columns: ['shots k', 'accuracy before', 'accuracy after', 'label bias before', 'label bias after', "share given the last demo's label, before", 'after', 'accuracy std over sets/orders, before', 'after'],
      rows,
      plot: {
        title: 'label bias of few-shot predictions (TV distance from the true label shares)', xLabel: 'shots k', yLabel: 'label bias', kind: 'line', logX: true,
        series: [{ name: 'before calibration', points: biasBefore }, { name: 'after contextual calibration', points: biasAfter }],
      },
      findings: [
        `Contextual calibration cuts the label bias from ${overall(3).toFixed(3)} to ${overall(4).toFixed(3)} on average over k = ${shotCounts.join(', ')}, and moves accuracy from ${overall(1).toFixed(3)} to ${overall(2).toFixed(3)}.`,
        `Before calibration ${(overall(5) * 100).toFixed(0)}% of test inputs get the last demonstration's label (after: ${(overall(6) * 100).toFixed(0)}%); accuracy varies by ${overall(7).toFixed(3)} (std) across demonstration sets and orders, ${overall(8).toFixed(3)} after.`,
      ],
    };
  },
};
