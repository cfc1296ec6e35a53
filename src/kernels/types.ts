/**
 * The contract every kernel implementation (the plain TypeScript reference in `./reference`,
 * the WebAssembly SIMD one) fulfils. Kernels work on raw typed arrays, never on Tensors, so the
 * tensor engine can pick an implementation per call and tests can compare them directly.
 *
 * Legend used in every kernel file: B = batch, T = time, C = channels, V = vocab,
 * NH = heads, hs = head size; M, N, K are the matmul sizes (M×K times K×N).
 */
export type Storage = Float32Array | Float64Array;

/**
 * out[b] (+)= op(A[b]) · op(B[b]) for b in 0..batch-1, all row-major.
 * A[b] is (M, K), or (K, M) stored when `transA`; B[b] is (K, N), or (N, K) stored when `transB`;
 * out[b] is (M, N), contiguous, batch stride M·N.
 */
export interface MatmulParams {
  batch: number;
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  /** Add into `out` instead of overwriting it (used to accumulate gradients). */
  accumulate?: boolean;
  /** Elements between consecutive A[b]; 0 broadcasts one A over the batch. Default M·K. */
  strideA?: number;
  /** Elements between consecutive B[b]; 0 broadcasts one B over the batch. Default K·N. */
  strideB?: number;
  /** Where A[0] / B[0] start in their arrays. Default 0. */
  offsetA?: number;
  offsetB?: number;
}

export type MatmulKernel = (a: Storage, b: Storage, out: Storage, params: MatmulParams) => void;

/**
 * Fused scaled dot-product attention: q, k, v, out (B, NH, T, hs) and lse (B, NH, T), contiguous.
 *   out = softmax(scale · Q·Kᵀ + mask) · V, mask = −∞ for causal (key after query) and padded keys.
 */
export interface AttentionParams {
  B: number;
  NH: number;
  T: number;
  hs: number;
  /** Query i sees keys 0..i only. */
  causal?: boolean;
  /** (B, T): 1 = padded key (its score becomes −∞), 0 = real token. */
  keyPadding?: Uint8Array;
  /** Multiplies Q·Kᵀ; default 1/√hs. Pass 1 to switch scaling off. */
  scale?: number;
}

/** The scalars of one Adam / AdamW step, as adamUpdate (src/optim/adam.ts) derives them. */
export interface AdamStepScalars {
  beta1: number;
  beta2: number;
  /** λ added to the gradient as λ·p (Adam); 0 for AdamW. */
  l2Penalty: number;
  /** p is multiplied by this first: 1 − η·λ for AdamW, 1 for Adam. */
  keep: number;
  /** η / (1 − β₁ᵗ). */
  stepSize: number;
  /** √(1 − β₂ᵗ). */
  biasCorrection2Sqrt: number;
  eps: number;
}

/**
 * Rotary position embedding (RoPE, Hugging Face's rotate_half pairing) of x (B, NH, T, hs) into a
 * contiguous out (B, NH, T, hs): element i is paired with i + hs/2 and the pair turned by the angle
 * of position (position + t) and pair i, read from the tables cos, sin (rows, hs/2):
 *
 *   out[i]        = x[i] · cos − x[i + hs/2] · sin
 *   out[i + hs/2] = x[i + hs/2] · cos + x[i] · sin
 *
 * `inverse` turns by −angle (sin negated): the backward, since a rotation's transpose is its inverse.
 * x is read through strides (its last axis dense), so a head split out of (B, T, NH, hs) needs no copy.
 */
export interface RotaryParams {
  B: number;
  NH: number;
  T: number;
  /** Head size, even. */
  hs: number;
  /** Where x[0, 0, 0, 0] is in its array. Default 0. */
  offset?: number;
  /** Elements between consecutive b, h, t of x. Default contiguous: NH·T·hs, T·hs, hs. */
  strideB?: number;
  strideH?: number;
  strideT?: number;
  /** Table row of x's first position (the positions already in a KV cache). Default 0. */
  position?: number;
  /** Rotate by −angle (the backward). Default false. */
  inverse?: boolean;
}
