/**
 * Fused scaled dot-product attention on the wasm kernels (.../assembly/attention.ts), forward and
 * backward, heads split across the worker pool:
 *   out = softmax(scale · Q·Kᵀ + mask) · V, mask = −∞ for causal (key after query) and padded keys.
 * One (T, T) tile per head per thread at a time; the backward recomputes P from the saved
 * log-sum-exp instead of keeping B·NH·T² probabilities.
 *
 * Legend: B = batch, NH = heads, T = time, hs = head size. q, k, v, out and their gradients are
 * (B, NH, T, hs) float32, contiguous; lse is (B, NH, T). A query whose keys are all masked gets
 * out = 0 and lse = −∞, and zero gradients, never NaN.
 *
 * @example
 * const p = { B: 2, NH: 4, T: 16, hs: 8, causal: true };
 * const out = new Float32Array(2 * 4 * 16 * 8), lse = new Float32Array(2 * 4 * 16);
 * attentionForwardWasm(out, lse, q, k, v, p);
 * attentionBackwardWasm(dq, dk, dv, dout, q, k, v, out, lse, p);
 */
import { DESCRIPTOR_WORDS, MAX_CHUNKS, OP_ATTENTION_BACKWARD, OP_ATTENTION_FORWARD } from './pool.ts';
import { Arena, kernelPool, runChunks, wasmThreads } from './runtime.ts';
import { loadKernels } from './loader.ts';
import type { AttentionParams } from '../types.ts';

export type { AttentionParams };

/** out = softmax(scale·Q·Kᵀ + mask)·V; lse = log Σ_j exp(scale·Q·Kᵀ + mask), kept for the backward. */
export function attentionForwardWasm(out: Float32Array, lse: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, p: AttentionParams): void {
  const { size, rows } = checkParams(p, { q, k, v, out }, lse);
  if (size === 0) return;
  const kernels = loadKernels();
  const layout = new Arena(kernels);
  const qPtr = layout.floats(size), kPtr = layout.floats(size), vPtr = layout.floats(size);
  const outPtr = layout.floats(size), lsePtr = layout.floats(rows);
  const padPtr = p.keyPadding === undefined ? 0 : layout.bytes(p.B * p.T);
  const scratch = layout.perThread(kernels.exports.attentionScratchBytes(p.T));
  const f32 = layout.commit();
  f32.set(q.subarray(0, size), qPtr >>> 2);
  f32.set(k.subarray(0, size), kPtr >>> 2);
  f32.set(v.subarray(0, size), vPtr >>> 2);
  if (p.keyPadding !== undefined) new Uint8Array(kernels.memory.buffer, padPtr, p.B * p.T).set(p.keyPadding.subarray(0, p.B * p.T));

  const descriptors = kernelPool(kernels).descriptors;
  const chunks = headChunks(p, (d, head0, count) => {
    descriptors.set([
      OP_ATTENTION_FORWARD, p.T, p.hs, p.NH, head0, count,
      qPtr, kPtr, vPtr, outPtr, lsePtr, padPtr,
      p.causal ? 1 : 0, scaleBits(p), scratch.base, scratch.bytesPerThread,
    ], d);
  });
  runChunks(kernels, chunks);
  out.set(f32.subarray(outPtr >>> 2, (outPtr >>> 2) + size));
  lse.set(f32.subarray(lsePtr >>> 2, (lsePtr >>> 2) + rows));
}

/** dq, dk, dv (overwritten) from dout and the forward's q, k, v, out, lse. */
export function attentionBackwardWasm(
  dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array,
  q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array,
  p: AttentionParams,
): void {
  const { size, rows } = checkParams(p, { dq, dk, dv, dout, q, k, v, out }, lse);
  if (size === 0) return;
  const kernels = loadKernels();
  const layout = new Arena(kernels);
  const qPtr = layout.floats(size), kPtr = layout.floats(size), vPtr = layout.floats(size);
  const outPtr = layout.floats(size), doutPtr = layout.floats(size), lsePtr = layout.floats(rows);
  const dqPtr = layout.floats(size), dkPtr = layout.floats(size), dvPtr = layout.floats(size);
  const padPtr = p.keyPadding === undefined ? 0 : layout.bytes(p.B * p.T);
  const scratch = layout.perThread(kernels.exports.attentionScratchBytes(p.T));
  const f32 = layout.commit();
  f32.set(q.subarray(0, size), qPtr >>> 2);
  f32.set(k.subarray(0, size), kPtr >>> 2);
  f32.set(v.subarray(0, size), vPtr >>> 2);
  f32.set(out.subarray(0, size), outPtr >>> 2);
  f32.set(dout.subarray(0, size), doutPtr >>> 2);
  f32.set(lse.subarray(0, rows), lsePtr >>> 2);
  if (p.keyPadding !== undefined) new Uint8Array(kernels.memory.buffer, padPtr, p.B * p.T).set(p.keyPadding.subarray(0, p.B * p.T));

  const descriptors = kernelPool(kernels).descriptors;
  const chunks = headChunks(p, (d, head0, count) => {
    descriptors.set([
      OP_ATTENTION_BACKWARD, p.T, p.hs, p.NH, head0, count,
      qPtr, kPtr, vPtr, outPtr, doutPtr, lsePtr, dqPtr, dkPtr, dvPtr, padPtr,
      p.causal ? 1 : 0, scaleBits(p), scratch.base, scratch.bytesPerThread,
    ], d);
  });
  runChunks(kernels, chunks);
  dq.set(f32.subarray(dqPtr >>> 2, (dqPtr >>> 2) + size));
  dk.set(f32.subarray(dkPtr >>> 2, (dkPtr >>> 2) + size));
  dv.set(f32.subarray(dvPtr >>> 2, (dvPtr >>> 2) + size));
}

/** Contiguous runs of heads: one chunk on one thread, else up to 4 per thread for balance. */
function headChunks(p: AttentionParams, write: (d: number, head0: number, count: number) => void): number {
  const heads = p.B * p.NH;
  const threads = wasmThreads();
  // A head's work: 4 (forward) to 10 (backward) T²·hs-flop products; under ~1 MFLOP per head
  // group it is not worth waking a thread.
  const worthSplitting = threads > 1 && heads > 1 && 4 * heads * p.T * p.T * p.hs >= 1 << 22;
  const groups = worthSplitting ? Math.min(heads, threads * 4, MAX_CHUNKS) : 1;
  for (let g = 0; g < groups; g++) {
    const start = Math.floor((g * heads) / groups);
    const end = Math.floor(((g + 1) * heads) / groups);
    write(g * DESCRIPTOR_WORDS, start, end - start);
  }
  return groups;
}

const scaleView = new Float32Array(1);
const scaleBitsView = new Int32Array(scaleView.buffer);
function scaleBits(p: AttentionParams): number {
  scaleView[0] = p.scale ?? 1 / Math.sqrt(p.hs);
  return scaleBitsView[0];
}

function checkParams(p: AttentionParams, arrays: Record<string, Float32Array>, lse: Float32Array): { size: number; rows: number } {
  for (const name of ['B', 'NH', 'T', 'hs'] as const) {
    if (!Number.isInteger(p[name]) || p[name] < 0) throw new RangeError(`attention (wasm): ${name} must be a non-negative integer, got ${p[name]}`);
  }
  const size = p.B * p.NH * p.T * p.hs;
  const rows = p.B * p.NH * p.T;
  for (const [name, array] of Object.entries(arrays)) {
    if (array.length < size) throw new RangeError(`attention (wasm): ${name} needs B·NH·T·hs = ${size} elements, found ${array.length}`);
  }
  if (lse.length < rows) throw new RangeError(`attention (wasm): lse needs B·NH·T = ${rows} elements, found ${lse.length}`);
  if (p.keyPadding !== undefined && p.keyPadding.length < p.B * p.T) {
    throw new RangeError(`attention (wasm): keyPadding needs B·T = ${p.B * p.T} entries, found ${p.keyPadding.length}`);
  }
  return { size, rows };
}
