/**
 * `qkv lab mask`: why padding gets −∞ and not a finite −1000 (or −1e9).
 *
 * Scores of growing magnitude (random N(0, s²)) over T keys, the last P of them padding. The
 * −∞ mask is the attention core's own `keyPaddingMask`; the finite masks go through the same
 * core as an additive `attentionBias` (how "−1e4 masks" are usually built). Reported: the
 * softmax weight that leaks onto the padded keys, and what a fully padded row gets (−∞: zeros;
 * a finite mask: the shifts cancel, so softmax of the raw scores, all weight on padding).
 *
 * Legend: B = rows of scores, T = keys, P = padded keys.
 */
import { attentionWeightsFromScores } from '../../nn/attention.ts';
import { Rng } from '../../tensor/random.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { numberListParam, numberParam, type Experiment, type ExperimentResult, type Series } from '../experiment.ts';

export type MaskKind = '-inf' | '-1000' | '-1e9';
export const MASK_KINDS: readonly MaskKind[] = ['-inf', '-1000', '-1e9'];

function maskedWeights(scores: Tensor, kind: MaskKind, padded: number): Tensor {
  const [batch, , , keys] = scores.shape;
  if (kind === '-inf') {
    const keep = Tensor.ones([batch, keys]); // (B, T): 1 real, 0 padding
    for (let b = 0; b < batch; b++) for (let j = keys - padded; j < keys; j++) keep.data[b * keys + j] = 0;
    return attentionWeightsFromScores(scores, { keyPaddingMask: keep });
  }
  const bias = Tensor.zeros([1, 1, 1, keys]); // (1, 1, 1, T): the finite additive mask
  for (let j = keys - padded; j < keys; j++) bias.data[j] = Number(kind);
  return attentionWeightsFromScores(scores, { attentionBias: bias.expand([1, 1, scores.shape[2], keys]) });
}

/** Mean weight on the padded keys, for scores N(0, magnitude²). */
export function leakedWeight(kind: MaskKind, magnitude: number, options: { keys: number; padded: number; rows: number; rng: Rng }): number {
  const { keys, padded, rows, rng } = options;
  const scores = Tensor.randn([rows, 1, 1, keys], { rng, std: magnitude }); // (B, 1, 1, T)
  const weights = maskedWeights(scores, kind, padded).contiguousData();
  let leaked = 0;
  for (let b = 0; b < rows; b++) for (let j = keys - padded; j < keys; j++) leaked += weights[b * keys + j];
  return leaked / rows;
}

/** Output weights of a row whose keys are all padding. */
export function fullyPaddedRow(kind: MaskKind, keys: number): number[] {
  return Array.from(maskedWeights(Tensor.randn([1, 1, 1, keys], { rng: new Rng(0) }), kind, keys).contiguousData());
}

export const maskExperiment: Experiment = {
  name: 'mask',
  description: 'padding masks −∞ vs −1000 vs −1e9 as score magnitudes grow: weight leaked onto padding, fully padded rows',
  params: [
    { name: 'magnitudes', description: 'score standard deviations, comma-separated', default: '1,10,100,1000,10000,1e6,1e9,1e10', quick: '1,100,1000,1e10' },
    { name: 'keys', description: 'keys per row (T)', default: 16 },
    { name: 'padded', description: 'padded keys at the end of each row', default: 6 },
    { name: 'rows', description: 'random score rows per point', default: 2000, quick: 400 },
  ],
  run(params, { seed, onProgress }): ExperimentResult {
    const magnitudes = numberListParam(params, 'magnitudes');
    const keys = numberParam(params, 'keys');
    const padded = numberParam(params, 'padded');
    const rows = numberParam(params, 'rows');
    const series: Series[] = MASK_KINDS.map((kind) => ({ name: `mask ${kind}`, points: [] }));
    const table: ExperimentResult['rows'] = [];
    magnitudes.forEach((magnitude, index) => {
      const leaks = MASK_KINDS.map((kind) => leakedWeight(kind, magnitude, { keys, padded, rows, rng: new Rng(seed * 7919 + index) }));
      leaks.forEach((leak, k) => series[k].points.push([magnitude, leak]));
      table.push([magnitude, ...leaks]);
      onProgress(index + 1, magnitudes.length);
    });
    const fully = MASK_KINDS.map((kind) => fullyPaddedRow(kind, keys));
    table.push(['fully padded row: total weight', ...fully.map((weights) => weights.reduce((a, b) => a + b, 0))]);
    const at = (kind: number) => series[kind].points.at(-1)?.[1] ?? NaN;
    return {
      columns: ['score std', ...MASK_KINDS.map((kind) => `leaked (${kind})`)],
      rows: table,
      plot: { title: `weight leaked onto ${padded} of ${keys} padded keys`, xLabel: 'score standard deviation', yLabel: 'weight on padding', kind: 'line', logX: true, series },
      findings: [
        `At score std ${magnitudes.at(-1)}: −∞ leaks ${at(0)}, −1000 leaks ${at(1).toFixed(3)}, −1e9 leaks ${at(2).toFixed(3)} of the weight onto padding.`,
        `A fully padded row gets all-zero weights (a zero output) with −∞; with a finite mask the shifts cancel and it spreads total weight 1 over padding.`,
      ],
    };
  },
};
