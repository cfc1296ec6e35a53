/**
 * The browser lab's own experiment: a tiny character GPT trained on text the user pastes, the
 * loss reported after every step (so the page draws the curve as it trains), then a sampled
 * continuation. Pure compute: runs the same under Node (tests) and in the page's worker.
 *
 * Held-out loss: the last tenth of the text is never trained on, and is scored every
 * `eval-every` steps, so a falling curve is learning and not just memorising.
 *
 * Legend: B = batch, T = context length, V = vocabulary (characters of the text).
 */
import { GPT } from '../../models/gpt.ts';
import { sampleNextToken } from '../../generate/sampler.ts';
import { Adam } from '../../optim/adam.ts';
import { noGrad } from '../../tensor/autograd.ts';
import { QkvValueError } from '../../tensor/errors.ts';
import { Rng } from '../../tensor/random.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { trainCharTokenizer } from '../../tokenizers/char.ts';
import { TokenDataset } from '../../train/data.ts';
import { numberParam, stringParam, type Experiment, type ExperimentResult } from '../experiment.ts';

export const SAMPLE_PASTE = [
  'the cat sat on the mat. the dog sat on the log. the cat saw the dog.',
  'a cat and a dog sat on a mat and a log. the dog saw the cat on the mat.',
].join('\n').repeat(4);

export const tinyGptExperiment: Experiment = {
  name: 'tiny-gpt',
  description: 'a tiny character GPT trained on text pasted into the page: train and held-out loss per step, then a sample',
  params: [
    { name: 'text', description: 'training text (its last tenth is held out)', default: SAMPLE_PASTE },
    { name: 'steps', description: 'training steps', default: 150, quick: 60 },
    { name: 'context', description: 'context length (T)', default: 32, quick: 16 },
    { name: 'batch', description: 'windows per step (B)', default: 16, quick: 8 },
    { name: 'embd', description: 'n_embd', default: 48, quick: 32 },
    { name: 'layers', description: 'n_layer', default: 2, quick: 1 },
    { name: 'heads', description: 'n_head', default: 4, quick: 2 },
    { name: 'lr', description: 'Adam learning rate', default: 0.01 },
    { name: 'eval-every', description: 'steps between held-out evaluations', default: 10 },
  ],
  run(params, { seed, onProgress }): ExperimentResult {
    const text = stringParam(params, 'text');
    const steps = numberParam(params, 'steps');
    const context = numberParam(params, 'context');
    const batch = numberParam(params, 'batch');
    const evalEvery = Math.max(1, numberParam(params, 'eval-every'));
    const split = Math.floor(text.length * 0.9);
    if (split - 1 <= context || text.length - split - 1 <= context) {
      throw new QkvValueError(`lab tiny-gpt: --text has ${text.length} characters; with context ${context} it needs more than ${Math.ceil((context + 1) / 0.1)} (the last tenth is held out)`);
    }
    const tokenizer = trainCharTokenizer(text);
    // One id per character, so the dataset's last tenth of ids is the text's last tenth.
    const dataset = new TokenDataset(tokenizer.encodeIds(text), 0.1);
    const model = new GPT(
      { vocab_size: tokenizer.vocabSize, n_positions: context, n_embd: numberParam(params, 'embd'), n_layer: numberParam(params, 'layers'), n_head: numberParam(params, 'heads'), embd_pdrop: 0, attn_pdrop: 0, resid_pdrop: 0 },
      { rng: new Rng(seed) },
    );
    const optimizer = new Adam(model.parameters(), { lr: numberParam(params, 'lr') });
    const data = new Rng(seed + 1);
    const heldBatch = dataset.sampleBatch('validation', 8, context, new Rng(seed + 2)); // the same held-out windows every time
    const heldLoss = () => noGrad(() => model.forward(heldBatch.ids, { targets: heldBatch.targets }).loss!.item());
    const trainSeries: Array<[number, number]> = [];
    const heldSeries: Array<[number, number]> = [[0, heldLoss()]];
    for (let step = 1; step <= steps; step++) {
      const { ids, targets } = dataset.sampleBatch('train', batch, context, data);
      const { loss } = model.forward(ids, { targets });
      optimizer.zeroGrad();
      loss!.backward();
      optimizer.step();
      const value = loss!.item();
      trainSeries.push([step, value]);
      const fields: Record<string, number> = { loss: value };
      if (step % evalEvery === 0 || step === steps) {
        const held = heldLoss();
        heldSeries.push([step, held]);
        fields['held-out loss'] = held;
      }
      onProgress(step, steps, fields);
    }
    model.eval();
    const sample = sampleText(model, tokenizer.encodeIds(text.slice(0, context)), context, 80, new Rng(seed + 3));
    const uniform = Math.log(tokenizer.vocabSize);
    const first = trainSeries[0]?.[1] ?? NaN;
    const last = trainSeries.at(-1)?.[1] ?? NaN;
    return {
      columns: ['step', 'train loss', 'held-out loss'],
      rows: heldSeries.map(([step, held]) => [step, step === 0 ? '' : trainSeries[step - 1][1], held]),
      plot: { title: `tiny GPT on ${text.length} pasted characters (V = ${tokenizer.vocabSize}, uniform ${uniform.toFixed(2)} nats)`, xLabel: 'step', yLabel: 'loss (nats/char)', kind: 'line', series: [{ name: 'train loss', points: trainSeries }, { name: 'held-out loss', points: heldSeries }] },
      findings: [
        `Train loss fell from ${first.toFixed(3)} to ${last.toFixed(3)} nats/char in ${steps} steps; held-out ${heldSeries[0][1].toFixed(3)} → ${heldSeries.at(-1)![1].toFixed(3)} (uniform over V = ${tokenizer.vocabSize}: ${uniform.toFixed(3)}).`,
        `Sample (temperature 0.8): ${JSON.stringify(tokenizer.decode(sample))}`,
      ],
    };
  },
};

/** `count` characters sampled after `prompt` (T = the last `context` ids each step). */
function sampleText(model: GPT, prompt: readonly number[], context: number, count: number, rng: Rng): number[] {
  const ids = [...prompt];
  const generated: number[] = [];
  noGrad(() => {
    for (let i = 0; i < count; i++) {
      const window = ids.slice(-context);
      const logits = model.forward(Tensor.from([window])).logits.contiguousData(); // (1, T, V)
      const V = model.vocabSize;
      const last = Float32Array.from(logits.subarray((window.length - 1) * V, window.length * V));
      const next = sampleNextToken(last, generated, { do_sample: true, temperature: 0.8 }, rng);
      ids.push(next);
      generated.push(next);
    }
  });
  return generated;
}
