/**
 * `qkv lab quantize`: what weight quantisation costs (src/compress).
 *
 * A small character-level GPT is trained on Brown text, then copies of it are quantised with
 * each format (`quantizeModel`: q8_0, q4_0 with 32-weight blocks, q4_g128) and evaluated on the
 * same held-out Brown windows. Reported: model bytes, their ratio to float32, held-out
 * perplexity and its change. Layers whose input width is not a multiple of the block size stay
 * in float32 (listed as skipped).
 *
 * Legend: B = windows, T = context, V = characters.
 */
import { QUANT_FORMATS, type QuantFormat } from '../../compress/formats.ts';
import { modelSizeBytes, quantizeModel } from '../../compress/quantize-model.ts';
import { GPT } from '../../models/gpt.ts';
import { Adam } from '../../optim/adam.ts';
import { noGrad } from '../../tensor/autograd.ts';
import { Rng } from '../../tensor/random.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { trainCharTokenizer } from '../../tokenizers/char.ts';
import { numberParam, type Experiment, type ExperimentResult } from '../experiment.ts';
import { brownSplit } from './brown-text.ts';

function windows(ids: readonly number[], length: number, count: number, rng: Rng | null): { inputs: Tensor; targets: Int32Array } {
  const inputs = Tensor.zeros([count, length]);
  const targets = new Int32Array(count * length);
  for (let b = 0; b < count; b++) {
    // Held-out windows (rng null) are evenly spaced, so every format sees the same ones.
    const start = rng ? rng.randint(ids.length - length - 1) : Math.floor((b * (ids.length - length - 1)) / count);
    for (let t = 0; t < length; t++) {
      inputs.data[b * length + t] = ids[start + t];
      targets[b * length + t] = ids[start + t + 1];
    }
  }
  return { inputs, targets };
}

export const quantizeExperiment: Experiment = {
  name: 'quantize',
  description: 'int8 vs 4-bit group-wise weight quantisation of a small Brown character GPT: size and held-out perplexity',
  params: [
    { name: 'train-lines', description: 'Brown lines to train on', default: 3000, quick: 800 },
    { name: 'held-out-lines', description: 'held-out Brown lines', default: 300, quick: 100 },
    { name: 'embd', description: 'n_embd (a multiple of 128 quantises every layer in every format)', default: 128 },
    { name: 'layers', description: 'n_layer', default: 2, quick: 1 },
    { name: 'context', description: 'context length T', default: 64, quick: 32 },
    { name: 'steps', description: 'training steps', default: 400, quick: 60 },
    { name: 'batch', description: 'windows per step', default: 16 },
    { name: 'lr', description: 'Adam learning rate', default: 0.003 },
    { name: 'eval-windows', description: 'held-out windows', default: 64, quick: 32 },
  ],
  run(params, { seed, onProgress }): ExperimentResult {
    const { train, heldOut } = brownSplit({ trainLines: numberParam(params, 'train-lines'), heldOutLines: numberParam(params, 'held-out-lines') });
    const trainText = train.join('\n');
    const tokenizer = trainCharTokenizer(trainText);
    const trainIds = tokenizer.encodeIds(trainText);
    const heldIds = tokenizer.encodeIds(heldOut.join('\n'));
    const context = numberParam(params, 'context');
    const config = { vocab_size: tokenizer.vocabSize, n_positions: context, n_embd: numberParam(params, 'embd'), n_layer: numberParam(params, 'layers'), n_head: 4, embd_pdrop: 0, attn_pdrop: 0, resid_pdrop: 0 };
    const model = new GPT(config, { rng: new Rng(seed) });
    const optimizer = new Adam(model.parameters(), { lr: numberParam(params, 'lr') });
    const data = new Rng(seed + 1);
    const steps = numberParam(params, 'steps');
    const total = steps + QUANT_FORMATS.length + 1;
    for (let step = 0; step < steps; step++) {
      const { inputs, targets } = windows(trainIds, context, numberParam(params, 'batch'), data);
      const { loss } = model.forward(inputs, { targets });
      optimizer.zeroGrad();
      loss!.backward();
      optimizer.step();
      if (step % 10 === 9) onProgress(step + 1, total, { loss: loss!.item().toFixed(3) });
    }
    model.eval();
    const held = windows(heldIds, context, numberParam(params, 'eval-windows'), null);
    const perplexity = (m: GPT) => noGrad(() => Math.exp(m.forward(held.inputs, { targets: held.targets }).loss!.item()));
    const baseBytes = modelSizeBytes(model);
    const basePerplexity = perplexity(model);
    const state = model.stateDict();
    const rows: ExperimentResult['rows'] = [['float32', baseBytes, 1, basePerplexity, 0, '']];
    QUANT_FORMATS.forEach((format: QuantFormat, index) => {
      const copy = new GPT(config, { rng: new Rng(seed) });
      copy.loadStateDict(state);
      copy.eval();
      const report = quantizeModel(copy, format);
      const value = perplexity(copy);
      rows.push([format, report.sizeBytesAfter, report.sizeBytesAfter / baseBytes, value, (value - basePerplexity) / basePerplexity, report.skipped.join(' ')]);
      onProgress(steps + index + 1, total, { format });
    });
    return {
      columns: ['format', 'bytes', 'size / float32', 'held-out perplexity', 'relative change', 'layers left in float32'],
      rows,
      plot: {
        title: 'held-out perplexity vs model size', xLabel: 'format', yLabel: 'perplexity', kind: 'bar', categories: rows.map((r) => String(r[0])),
        series: [{ name: 'perplexity', points: rows.map((r, i) => [i, r[3] as number]) }],
      },
      findings: [`Perplexity float32 ${basePerplexity.toFixed(3)}; ${rows.slice(1).map((r) => `${r[0]} ${(r[3] as number).toFixed(3)} at ${(100 * (r[2] as number)).toFixed(0)}% of the bytes`).join(', ')}.`],
    };
  },
};
