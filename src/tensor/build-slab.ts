/**
 * Parameter storage carved from a few large ArrayBuffers while a model is built to be loaded
 * (`noInitWeights` in src/nn/init.ts), instead of one fresh Float32Array per tensor.
 *
 * Why: a GPT-2 124M build allocated ~150 arrays (500 MB) only for a mapped load to replace them;
 * each fresh ArrayBuffer grows V8's external-memory count and the growth triggers collections,
 * so the build cost 0.1–0.3 s where a handful of chunks cost ~5 ms. A chunk is zero-filled by the
 * OS on first touch, so untouched (replaced) storage never becomes resident, and a chunk is freed
 * once every view on it is gone: after a mapped load adopted them all, or with the model.
 *
 * Views from a chunk are never whole buffers, so the buffer pool (which takes only whole
 * buffers) never sees them. Small tensors (< MIN_SLAB_ELEMENTS) stay on V8's heap, where
 * allocation is cheap, so a stray bias cannot pin a chunk.
 */
import type { DType, Storage } from './tensor.ts';

const CHUNK_BYTES = 64 * 1024 * 1024;
/** Larger requests get their own buffer (one allocation either way). */
const MAX_SLAB_BYTES = CHUNK_BYTES / 4;
const MIN_SLAB_ELEMENTS = 1024;

let depth = 0;
let chunk: ArrayBuffer | null = null;
let chunkUsedBytes = 0;

/**
 * Runs `build` (synchronous) with `allocate` taking zeroed storage from shared chunks.
 *
 * @example const model = withBuildSlab(() => new GPT(config));
 */
export function withBuildSlab<T>(build: () => T): T {
  depth++;
  try {
    return build();
  } finally {
    if (--depth === 0) {
      chunk = null; // later allocations start afresh; the views keep their chunks alive
      chunkUsedBytes = 0;
    }
  }
}

/** Zeroed storage from the current chunk inside `withBuildSlab`, else undefined (allocate as usual). */
export function takeFromBuildSlab(dtype: DType, size: number): Storage | undefined {
  if (depth === 0 || size < MIN_SLAB_ELEMENTS) return undefined;
  const elementBytes = dtype === 'float64' ? 8 : 4;
  const bytes = size * elementBytes;
  if (bytes > MAX_SLAB_BYTES) return undefined;
  // 64-byte aligned views: cache lines and the widest SIMD loads start on a boundary.
  const start = Math.ceil(chunkUsedBytes / 64) * 64;
  if (chunk === null || start + bytes > CHUNK_BYTES) {
    chunk = new ArrayBuffer(CHUNK_BYTES);
    chunkUsedBytes = 0;
    return takeFromBuildSlab(dtype, size);
  }
  chunkUsedBytes = start + bytes;
  return dtype === 'float64' ? new Float64Array(chunk, start, size) : new Float32Array(chunk, start, size);
}
