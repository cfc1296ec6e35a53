/**
 * `qkv lab sampling`: what temperature, top-k, top-p and the repetition penalty do to output.
 *
 * The model is a word bigram model estimated on Brown text (p(next | prev), smoothed towards
 * the unigram distribution), so its next-word distributions are real, Zipf-shaped ones. Every
 * setting draws the same number of continuations from the same start words through
 * `sampleNextToken` / `processLogits` (src/generate). Reported: mean entropy of the processed
 * next-token distribution, distinct-1/2 (src/eval/diversity.ts), and repetition (the fraction
 * of a sample's trigrams that already occurred in it). Greedy decoding loops; high
 * temperature babbles.
 *
 * Out-of-vocabulary words are never generated (<unk> gets −∞).
 *
 * Legend: V = vocabulary.
 */
import { distinctN } from '../../eval/diversity.ts';
import { isGreedy, resolveGenerationConfig, type GenerationConfig } from '../../generate/config.ts';
import { processLogits, softmax } from '../../generate/logits-processors.ts';
import { sampleNextToken } from '../../generate/sampler.ts';
import { Rng } from '../../tensor/random.ts';
import { numberParam, type Experiment, type ExperimentResult } from '../experiment.ts';
import { brownSplit } from './brown-text.ts';

export interface BigramModel {
  words: string[];
  /** logits(prev) → Float32Array(V): log p(next | prev). */
  logits(previous: number): Float32Array;
}

export function trainBigram(lines: readonly string[], vocabularySize: number, smoothing = 1): BigramModel {
  const tokenised = lines.map((line) => line.toLowerCase().split(/\s+/).filter((word) => word.length > 0));
  const counts = new Map<string, number>();
  for (const line of tokenised) for (const word of line) counts.set(word, (counts.get(word) ?? 0) + 1);
  const words = ['<unk>', ...[...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, vocabularySize - 1).map(([word]) => word)];
  const index = new Map(words.map((word, i) => [word, i]));
  const V = words.length;
  const unigram = new Float64Array(V);
  const pairs = new Map<number, Map<number, number>>();
  const rowTotals = new Float64Array(V);
  for (const line of tokenised) {
    const ids = line.map((word) => index.get(word) ?? 0);
    ids.forEach((id, i) => {
      unigram[id]++;
      // A pair with an out-of-vocabulary word is not counted: the model never predicts <unk>.
      if (i === 0 || id === 0 || ids[i - 1] === 0) return;
      const row = pairs.get(ids[i - 1]) ?? new Map<number, number>();
      row.set(id, (row.get(id) ?? 0) + 1);
      pairs.set(ids[i - 1], row);
      rowTotals[ids[i - 1]]++;
    });
  }
  const unigramTotal = unigram.reduce((a, b) => a + b, 0);
  return {
    words,
    logits(previous) {
      const out = new Float32Array(V);
      const row = pairs.get(previous);
      const denominator = rowTotals[previous] + smoothing;
      for (let v = 0; v < V; v++) out[v] = Math.log(((row?.get(v) ?? 0) + smoothing * (unigram[v] + 0.5) / (unigramTotal + 0.5 * V)) / denominator);
      out[0] = -Infinity;
      return out;
    },
  };
}

export interface SamplingSetting {
  label: string;
  config: GenerationConfig;
}

/** The settings compared; `top_k: 0` where top-k is not the subject (HF's default is 50). */
export const SAMPLING_SETTINGS: readonly SamplingSetting[] = [
  { label: 'greedy', config: { do_sample: false } },
  { label: 'T=0.5', config: { do_sample: true, temperature: 0.5, top_k: 0 } },
  { label: 'T=1', config: { do_sample: true, temperature: 1, top_k: 0 } },
  { label: 'T=1.5', config: { do_sample: true, temperature: 1.5, top_k: 0 } },
  { label: 'top-k 5', config: { do_sample: true, top_k: 5 } },
  { label: 'top-k 50', config: { do_sample: true, top_k: 50 } },
  { label: 'top-p 0.5', config: { do_sample: true, top_k: 0, top_p: 0.5 } },
  { label: 'top-p 0.9', config: { do_sample: true, top_k: 0, top_p: 0.9 } },
  { label: 'greedy, rep. penalty 1.5', config: { do_sample: false, repetition_penalty: 1.5 } },
];

export interface SamplingMeasure {
  label: string;
  entropy: number;
  distinct1: number;
  distinct2: number;
  repetition: number;
  texts: string[];
}

export function measureSetting(model: BigramModel, setting: SamplingSetting, options: { samples: number; length: number; starts: number[]; seed: number }): SamplingMeasure {
  const resolved = resolveGenerationConfig(setting.config);
  const rng = new Rng(options.seed);
  const texts: string[] = [];
  let entropy = 0;
  let steps = 0;
  let repeated = 0;
  let trigrams = 0;
  for (let s = 0; s < options.samples; s++) {
    const ids = [options.starts[s % options.starts.length]];
    const seen = new Set<string>();
    for (let t = 0; t < options.length; t++) {
      const logits = model.logits(ids[ids.length - 1]);
      // Greedy draws from a point mass: entropy 0.
      if (!isGreedy(resolved)) {
        const probabilities = softmax(processLogits(logits, ids, resolved));
        for (const p of probabilities) if (p > 0) entropy -= p * Math.log(p);
      }
      steps++;
      ids.push(sampleNextToken(logits, ids, resolved, rng));
      if (ids.length >= 3) {
        const key = ids.slice(-3).join(' ');
        if (seen.has(key)) repeated++;
        seen.add(key);
        trigrams++;
      }
    }
    texts.push(ids.map((id) => model.words[id]).join(' '));
  }
  return { label: setting.label, entropy: entropy / steps, distinct1: distinctN(texts, 1), distinct2: distinctN(texts, 2), repetition: repeated / trigrams, texts };
}

export const samplingExperiment: Experiment = {
  name: 'sampling',
  description: 'greedy vs temperature vs top-k vs top-p vs repetition penalty: output entropy, distinct-n and repetition on a Brown bigram model',
  params: [
    { name: 'train-lines', description: 'Brown lines the bigram model is counted on', default: 8000, quick: 2000 },
    { name: 'vocab', description: 'vocabulary size (V)', default: 3000, quick: 1000 },
    { name: 'samples', description: 'continuations per setting', default: 40, quick: 12 },
    { name: 'length', description: 'words per continuation', default: 30, quick: 20 },
  ],
  run(params, { seed, onProgress }): ExperimentResult {
    const { train } = brownSplit({ trainLines: numberParam(params, 'train-lines'), heldOutLines: 0 });
    const model = trainBigram(train, numberParam(params, 'vocab'));
    const starts = ['the', 'he', 'it', 'in', 'a', 'she', 'we', 'this'].map((word) => model.words.indexOf(word)).filter((id) => id > 0);
    const measures = SAMPLING_SETTINGS.map((setting, index) => {
      const measure = measureSetting(model, setting, { samples: numberParam(params, 'samples'), length: numberParam(params, 'length'), starts, seed: seed + index });
      onProgress(index + 1, SAMPLING_SETTINGS.length, { setting: setting.label, entropy: measure.entropy, 'distinct-2': measure.distinct2 });
      return measure;
    });
    const get = (label: string) => measures.find((m) => m.label === label)!;
    return {
      columns: ['setting', 'entropy of the sampled distribution (nats)', 'distinct-1', 'distinct-2', 'repeated trigrams', 'example'],
      rows: measures.map((m) => [m.label, m.entropy, m.distinct1, m.distinct2, m.repetition, m.texts[0].split(' ').slice(0, 10).join(' ')]),
      plot: {
        title: 'diversity and repetition per decoding setting', xLabel: 'setting', yLabel: 'fraction', kind: 'bar', categories: measures.map((m) => m.label),
        series: [
          { name: 'distinct-2', points: measures.map((m, i) => [i, m.distinct2]) },
          { name: 'repeated trigrams', points: measures.map((m, i) => [i, m.repetition]) },
        ],
      },
      findings: [
        `Greedy repeats ${(100 * get('greedy').repetition).toFixed(0)}% of its trigrams (distinct-2 ${get('greedy').distinct2.toFixed(2)}); T=1 repeats ${(100 * get('T=1').repetition).toFixed(0)}% (distinct-2 ${get('T=1').distinct2.toFixed(2)}).`,
        `Entropy of the sampled distribution grows with temperature: ${['T=0.5', 'T=1', 'T=1.5'].map((l) => `${l} ${get(l).entropy.toFixed(2)}`).join(', ')} nats.`,
      ],
    };
  },
};
