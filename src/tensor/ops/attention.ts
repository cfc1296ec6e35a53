/**
 * Fused scaled dot-product self-attention as one differentiable op:
 *
 *   out = softmax(scale · Q·Kᵀ + mask) · V,   mask = −∞ for future keys (causal) and padded keys
 *
 * Legend: B = batch, NH = heads, T = time, hs = head size; q, k, v and out are (B, NH, T, hs).
 *
 * The forward and backward run in the WebAssembly kernel (`src/kernels/attention-wasm.ts`),
 * which never holds more than one (T, T) tile per head and recomputes the probabilities in the
 * backward from the saved log-sum-exp. The composition in `src/nn/attention.ts` (matmul,
 * maskedFill, softmax, matmul) is its reference: `scaledDotProductAttention` takes this path only
 * where both compute the same thing (float32, Tq = Tk, no bias, no dropout, weights not asked for).
 */
import { attentionBackward, attentionForward } from '../../kernels/index.ts';
import { attachGrad } from '../autograd.ts';
import { givePooled } from '../buffer-pool.ts';
import { QkvShapeError, formatShape } from '../errors.ts';
import { allocateOverwritten, Tensor } from '../tensor.ts';
import { readDense } from './strided.ts';

export interface FusedAttentionOptions {
  causal?: boolean;
  /** (B, T): 1 for a real key, 0 for padding. */
  keyPaddingMask?: Tensor | null;
  /** Multiplies Q·Kᵀ; default 1/√hs. */
  scale?: number;
}

function asFloat32(t: Tensor): Float32Array {
  const data = readDense(t);
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

export function fusedAttention(q: Tensor, k: Tensor, v: Tensor, options: FusedAttentionOptions = {}): Tensor {
  const same = q.ndim === 4 && q.shape.every((dim, i) => dim === k.shape[i] && dim === v.shape[i]);
  if (!same) {
    throw new QkvShapeError(`fusedAttention: q, k, v must all be (B,NH,T,hs); got ${formatShape(q.shape)}, ${formatShape(k.shape)}, ${formatShape(v.shape)}`);
  }
  const [B, NH, T, hs] = q.shape;
  let keyPadding: Uint8Array | undefined;
  if (options.keyPaddingMask) {
    const mask = options.keyPaddingMask;
    if (mask.ndim !== 2 || mask.shape[0] !== B || mask.shape[1] !== T) {
      throw new QkvShapeError(`fusedAttention: keyPaddingMask must be (B,T) = (${B},${T}), got ${formatShape(mask.shape)}`);
    }
    const keep = readDense(mask);
    keyPadding = new Uint8Array(B * T);
    for (let i = 0; i < keyPadding.length; i++) keyPadding[i] = keep[i] === 0 ? 1 : 0; // the kernel wants 1 = padded
  }
  const params = { B, NH, T, hs, causal: options.causal ?? false, keyPadding, scale: options.scale ?? 1 / Math.sqrt(hs) };
  const qData = asFloat32(q);
  const kData = asFloat32(k);
  const vData = asFloat32(v);
  const outData = allocateOverwritten('float32', B * NH * T * hs) as Float32Array; // written whole
  const logSumExp = new Float32Array(B * NH * T); // saved for the backward
  attentionForward(outData, logSumExp, qData, kData, vData, params);
  const out = new Tensor(outData, q.shape);
  return attachGrad(out, 'fusedAttention', [q, k, v], (grad) => {
    // From `allocate`, so backward can hand them to the buffer pool once consumed.
    // From the pool without a zero-fill: the kernel overwrites all three.
    const dq = allocateOverwritten('float32', outData.length);
    const dk = allocateOverwritten('float32', outData.length);
    const dv = allocateOverwritten('float32', outData.length);
    const gradData = asFloat32(grad);
    attentionBackward(dq, dk, dv, gradData, qData, kData, vData, outData, logSumExp, params);
    // A dense copy made just for the kernel (the merged-heads gradient arrives transposed) is
    // read by nobody after it: back to the pool, else one (B,NH,T,hs) array a layer goes to GC.
    if (gradData.buffer !== grad.data.buffer) givePooled(gradData);
    return [new Tensor(dq, q.shape), new Tensor(dk, k.shape), new Tensor(dv, v.shape)];
  });
}
