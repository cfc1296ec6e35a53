/**
 * Additive (Bahdanau) attention, for comparison with dot-product attention:
 *
 *   score(q_i, k_j) = vᵀ · tanh(W_q q_i + W_k k_j),  weights = softmax_j(score + masks),  out_i = Σ_j w_ij v_j
 *
 * Reference: Bahdanau, Cho & Bengio 2015, "Neural Machine Translation by Jointly Learning to Align
 * and Translate", eq. (6) (a(s, h) = v_aᵀ tanh(W_a s + U_a h)).
 * Legend: B = batch, Tq = queries, Tk = keys, Dq / Dk / Dv = query / key / value widths, H = hidden size.
 *
 * The score is a small MLP on every (query, key) pair: a (B, Tq, Tk, H) tensor where dot-product
 * attention needs only (B, Tq, Tk), which is why it is slower (see bench/attention.ts). Masks and
 * softmax are the dot-product ones (`attentionWeightsFromScores`); backward comes from the tensor
 * ops it is built of.
 */
import { QkvShapeError, QkvValueError, formatShape } from '../tensor/errors.ts';
import { matmul } from '../tensor/ops/matmul.ts';
import { defaultRng, type Rng } from '../tensor/random.ts';
import type { DType, Tensor } from '../tensor/tensor.ts';
import { attentionWeightsFromScores, type AttentionOptions } from './attention.ts';
import { Linear } from './linear.ts';
import { Module } from './module.ts';

export interface AdditiveAttentionOptions {
  /** Width Dq of the queries. */
  queryDim: number;
  /** Width Dk of the keys (default queryDim). */
  keyDim?: number;
  /** Hidden size H of the scoring MLP (default queryDim). */
  hiddenDim?: number;
  /** Dropout on the attention weights while training (default 0). */
  dropout?: number;
  rng?: Rng;
  dtype?: DType;
}

export interface AdditiveAttentionForwardOptions {
  /** Query i sees keys j ≤ i + queryOffset (default Tk − Tq). */
  causal?: boolean;
  queryOffset?: number;
  /** (B, Tk): 1 for real keys, 0 for padding (exactly 0 weight; an all-padded row gives zeros). */
  keyPaddingMask?: Tensor | null;
  /** Also return the (B, Tq, Tk) weights. */
  returnWeights?: boolean;
}

export interface AdditiveAttentionResult {
  /** (B, Tq, Dv) */
  output: Tensor;
  /** (B, Tq, Tk), when asked for. */
  weights?: Tensor;
}

/**
 * @example
 * const attention = new AdditiveAttention({ queryDim: 32, keyDim: 64, hiddenDim: 32 });
 * const { output, weights } = attention.forward(decoderState, encoderStates, encoderStates, { returnWeights: true });
 * // decoderState (B, 1, 32), encoderStates (B, S, 64) → output (B, 1, 64), weights (B, 1, S)
 */
export class AdditiveAttention extends Module {
  readonly queryDim: number;
  readonly keyDim: number;
  readonly hiddenDim: number;
  readonly dropoutP: number;
  /** W_q: (H, Dq). */
  readonly W_q: Linear;
  /** W_k: (H, Dk). */
  readonly W_k: Linear;
  /** vᵀ: (1, H). */
  readonly v: Linear;

  constructor(options: AdditiveAttentionOptions) {
    super();
    this.queryDim = options.queryDim;
    this.keyDim = options.keyDim ?? options.queryDim;
    this.hiddenDim = options.hiddenDim ?? options.queryDim;
    for (const [name, value] of [['queryDim', this.queryDim], ['keyDim', this.keyDim], ['hiddenDim', this.hiddenDim]] as const) {
      if (!Number.isInteger(value) || value <= 0) throw new QkvValueError(`AdditiveAttention: ${name} must be a positive integer, got ${value}`);
    }
    this.dropoutP = options.dropout ?? 0;
    const linear = { bias: false, rng: options.rng ?? defaultRng, dtype: options.dtype };
    this.W_q = new Linear(this.queryDim, this.hiddenDim, linear);
    this.W_k = new Linear(this.keyDim, this.hiddenDim, linear);
    this.v = new Linear(this.hiddenDim, 1, linear);
  }

  override extraRepr(): string {
    return `query_dim=${this.queryDim}, key_dim=${this.keyDim}, hidden_dim=${this.hiddenDim}`;
  }

  /** (B, 1, Tq, Tk) scores vᵀ·tanh(W_q q_i + W_k k_j) for queries (B, Tq, Dq) and keys (B, Tk, Dk). */
  scores(queries: Tensor, keys: Tensor): Tensor {
    const [B, Tq] = queries.shape;
    const Tk = keys.shape[1];
    const projectedQueries = this.W_q.forward(queries).unsqueeze(2); // (B, Tq, 1, H)
    const projectedKeys = this.W_k.forward(keys).unsqueeze(1); // (B, 1, Tk, H)
    const hidden = projectedQueries.add(projectedKeys).tanh(); // (B, Tq, Tk, H)
    return this.v.forward(hidden).reshape([B, 1, Tq, Tk]); // (B, Tq, Tk, 1) → (B, 1, Tq, Tk): one "head" for the masks
  }

  /** queries (B, Tq, Dq), keys (B, Tk, Dk), values (B, Tk, Dv; default the keys) → (B, Tq, Dv). */
  forward(queries: Tensor, keys: Tensor, values: Tensor = keys, options: AdditiveAttentionForwardOptions = {}): AdditiveAttentionResult {
    const fits = queries.ndim === 3 && keys.ndim === 3 && values.ndim === 3 && queries.shape[2] === this.queryDim &&
      keys.shape[2] === this.keyDim && keys.shape[0] === queries.shape[0] && values.shape[0] === keys.shape[0] && values.shape[1] === keys.shape[1];
    if (!fits) {
      throw new QkvShapeError(
        `AdditiveAttention: expected queries (B,Tq,${this.queryDim}), keys (B,Tk,${this.keyDim}), values (B,Tk,Dv); ` +
          `got ${formatShape(queries.shape)}, ${formatShape(keys.shape)}, ${formatShape(values.shape)}`,
      );
    }
    const [B, Tq] = queries.shape;
    const dropout: AttentionOptions['dropout'] = { p: this.dropoutP, training: this.training, rng: defaultRng };
    const weights = attentionWeightsFromScores(this.scores(queries, keys), { ...options, dropout }); // (B, 1, Tq, Tk)
    const output = matmul(weights, values.unsqueeze(1)).reshape([B, Tq, values.shape[2]]); // (B, 1, Tq, Tk) · (B, 1, Tk, Dv) → (B, Tq, Dv)
    return options.returnWeights ? { output, weights: weights.reshape([B, Tq, keys.shape[1]]) } : { output };
  }
}
