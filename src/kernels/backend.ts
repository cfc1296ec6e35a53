/**
 * One shape for every kernel implementation: the `KernelBackend` interface lists each kernel
 * the tensor engine calls, and three backends implement it —
 *   reference/  plain TypeScript over any storage (float32, float64, mixed): the oracle;
 *   wasm/       WebAssembly SIMD on a shared-memory worker pool (the browser's engine);
 *   native/     C++ with AVX-512 / AVX2 / portable SIMD through Node-API, zero copy.
 * The fast two take float32 only; the dispatcher (./index.ts) sends anything else to the
 * reference. Tests run every backend through this interface against the reference.
 *
 * Legend: B = batch, T = time, C = channels, V = vocab, NH = heads, hs = head size, N = rows
 * (B·T); M, N, K are the matmul sizes (M×K times K×N).
 */
import type { ElementwiseOp, StridedLayout } from './reference/elementwise.ts';
import type { UnaryOp } from './reference/unary.ts';
import type { AdamStepScalars, AttentionParams, MatmulParams, RotaryParams, Storage } from './types.ts';

export type KernelBackendName = 'native' | 'wasm' | 'reference';

/** Every kernel, over arrays of type `S` (Float32Array for the fast backends, any Storage for the reference). */
export interface KernelBackend<S extends Storage = Float32Array> {
  readonly name: KernelBackendName;

  /** out[b] (+)= op(A[b])·op(B[b]); see `MatmulParams` in ./types.ts. */
  matmul(a: S, b: S, out: S, params: MatmulParams): void;

  /** out = softmax(scale·Q·Kᵀ + mask)·V; lse (B·NH·T) kept for the backward. */
  attentionForward(out: S, lse: S, q: S, k: S, v: S, p: AttentionParams): void;
  /** dq, dk, dv (overwritten) from dout and the forward's q, k, v, out, lse. */
  attentionBackward(dq: S, dk: S, dv: S, dout: S, q: S, k: S, v: S, out: S, lse: S, p: AttentionParams): void;

  /** RoPE of x (B, NH, T, hs, strided) into a contiguous out, tables cos, sin (rows, hs/2); see `RotaryParams`. */
  rotaryEmbedding(out: S, x: S, cos: S, sin: S, p: RotaryParams): void;

  /** y = gelu_tanh(x) over n values. */
  geluTanhForward(y: S, x: S, n: number): void;
  /** dx = g·gelu_tanh'(x) over n values (written). */
  geluTanhBackward(dx: S, g: S, x: S, n: number): void;
  /** y = gelu_tanh(x + bias), bias (C) over N rows. */
  biasGeluForward(y: S, x: S, bias: S, N: number, C: number): void;
  /** dx = g·gelu_tanh'(x + bias) (written; skipped when null), dbias += Σ_rows dx (skipped when null). */
  biasGeluBackward(dx: S | null, dbias: Float64Array | null, g: S, x: S, bias: S, N: number, C: number): void;

  /** out = (x − mean)·rstd·weight + bias over rows of C; mean, rstd (N) saved for the backward. */
  layerNormForward(out: S, mean: Float64Array, rstd: Float64Array, inp: S, weight: S | null, bias: S | null, N: number, C: number, eps: number): void;
  /** dinp written (skipped when null); dweight, dbias accumulated (`+=`). */
  layerNormBackward(dinp: S | null, dweight: Float64Array | null, dbias: Float64Array | null, dout: S, inp: S, weight: S | null, mean: Float64Array, rstd: Float64Array, N: number, C: number): void;
  /** out = x·rrms·weight, rrms = 1/√(mean(x²) + eps) (N), saved for the backward. */
  rmsNormForward(out: S, rrms: Float64Array, inp: S, weight: S | null, N: number, C: number, eps: number): void;
  rmsNormBackward(dinp: S | null, dweight: Float64Array | null, dout: S, inp: S, weight: S | null, rrms: Float64Array, N: number, C: number): void;

  /** Per-row loss of log-softmax + NLL (label smoothing ε); lse per row kept for the backward. */
  crossEntropyForward(losses: S, logNormalizers: Float64Array, logits: S, targets: Int32Array, N: number, C: number, ignoreIndex: number, smoothing: number): void;
  /** dlogits = rowScales[r]·(softmax(x[r]) − (1 − ε)·onehot(t_r) − ε/C), written. */
  crossEntropyBackward(dlogits: S, logits: S, logNormalizers: Float64Array, targets: Int32Array, rowScales: ArrayLike<number>, N: number, C: number, ignoreIndex: number, smoothing: number): void;

  /** One Adam / AdamW step over a parameter's arrays, in place. */
  adamUpdate(param: S, grad: S, expAvg: S, expAvgSq: S, step: AdamStepScalars): void;

  /** out[i, :] = weight[ids[i], :]. */
  embeddingGather(out: S, weight: S, ids: Int32Array, C: number): void;
  /** dweight[ids[i], :] += g[i, :], in the order of the ids. */
  embeddingScatterAdd(dweight: S, g: S, ids: Int32Array, C: number): void;

  /** out[c] = scale·Σ_r a[offset + r·cols + c] (a bias gradient), in float64, in row order. */
  columnSums(out: S, a: S, offset: number, rows: number, cols: number, scale: number): void;

  /** out[o·inner + i] = scale·Σ_c a[offset + (o·C + c)·inner + i] (a middle-axis sum or mean), in float64. */
  axisSums(out: S, a: S, offset: number, outer: number, C: number, inner: number, scale: number): void;

  /** means, squares (outer·inner) = mean and Σ(x − mean)² over C of an (outer, C, inner) block, in float64 (a variance). */
  axisMoments(means: Float64Array, squares: Float64Array, a: S, offset: number, outer: number, C: number, inner: number): void;

  /** out[r] = scale·Σ_c a[offset + r·C + c] (a last-axis sum or mean), in float64. */
  rowSums(out: S, a: S, offset: number, rows: number, C: number, scale: number): void;
  /** Row maxima over the last axis and their first index (NaN wins), C ≥ 1. */
  rowMax(values: S, indices: S, a: S, offset: number, rows: number, C: number): void;
  /** Σ a[offset + i]² over n values, in float64 (a squared gradient norm). */
  sumOfSquares(a: S, offset: number, n: number): number;

  /** y = op(x) over n values (`slope`: leakyRelu's negative slope). */
  unaryForward(op: UnaryOp, y: S, x: S, n: number, slope: number): void;
  /** dx = g·op'(x) over n values (written), y the forward's output. */
  unaryBackward(op: UnaryOp, dx: S, g: S, x: S, y: S, n: number, slope: number): void;

  /** Softmax over C of an (outer, C, inner) array; a row all −∞ gives zeros. */
  softmaxForward(out: S, inp: S, outer: number, C: number, inner: number): void;
  /** dinp = y ⊙ (dout − Σ_c dout·y), written; out is the forward's y. */
  softmaxBackward(dinp: S, dout: S, out: S, outer: number, C: number, inner: number): void;
  /** Log-softmax over C of an (outer, C, inner) array; a row all −∞ stays −∞. */
  logSoftmaxForward(out: S, inp: S, outer: number, C: number, inner: number): void;
  /** dinp = dout − exp(y)·Σ_c dout, written (0 on a row all −∞). */
  logSoftmaxBackward(dinp: S, dout: S, out: S, outer: number, C: number, inner: number): void;

  /** out = a (a copy between layouts) or a ∘ b, each through its strides (see `StridedLayout`). */
  elementwise(op: ElementwiseOp, out: S, a: S, b: S | null, layout: StridedLayout): void;
}
