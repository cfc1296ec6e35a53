/**
 * Storage reuse: a size-bucketed pool of the buffers backward frees, so a training step takes its
 * intermediate buffers from the previous step instead of allocating (and zero-filling, and later
 * collecting) fresh Float32Arrays. Without it, allocation and garbage collection were ~20% of a
 * bench GPT step here.
 *
 * Only buffers that provably nobody else can see are returned: ones `allocate` created while a
 * backward pass ran (`recordAllocations`), held only by gradients of intermediate tensors, once
 * the last of those has been consumed (src/tensor/autograd.ts counts them). Leaf gradients, forward
 * activations and anything a caller holds never enter the pool. `QKV_BUFFER_POOL=0` turns it off.
 *
 * Decoding has no backward to free its buffers: `inferenceScope` runs one step under noGrad and
 * returns everything the step allocated, except what the caller names as held (the step's
 * output, the KV cache it grew).
 */
import { noGrad } from './autograd.ts';
import type { DType, Storage } from './tensor.ts';

/** Smaller arrays live on V8's heap, where allocation is cheap: not worth pooling. */
export const MIN_POOLED_ELEMENTS = 1024;
/** Pooled bytes at most: the largest step's intermediates fit; beyond it buffers go to GC. */
const MAX_POOLED_BYTES = 512 * 1024 * 1024;

const enabled = process.env.QKV_BUFFER_POOL !== '0';
const buckets = { float32: new Map<number, Float32Array[]>(), float64: new Map<number, Float64Array[]>() };
let pooledBytes = 0;
let recording: Set<ArrayBufferLike> | null = null;
/** The buffers of the innermost `inferenceScope`, by their ArrayBuffer. */
let scopeRecording: Map<ArrayBufferLike, Storage> | null = null;
let reused = 0;
/** Fresh buffers of ≥ MIN_POOLED_ELEMENTS that `allocate` made (pool misses), and their bytes. */
let freshAllocations = 0;
let freshBytes = 0;

/**
 * A buffer of `size` elements from the pool, or undefined when there is none; zeroed unless
 * `zeroed` is false (for a caller that overwrites every element: its stale values never show).
 */
export function takePooled(dtype: DType, size: number, zeroed = true): Storage | undefined {
  if (!enabled || size < MIN_POOLED_ELEMENTS) return undefined;
  const bucket = buckets[dtype].get(size);
  const buffer = bucket?.pop();
  if (buffer === undefined) return undefined;
  pooledBytes -= buffer.byteLength;
  reused++;
  if (zeroed) buffer.fill(0);
  // A reused buffer is as private to the pass that takes it as a fresh one: recorded too, so it
  // goes back after this step as well (otherwise each step would drain the pool once).
  recording?.add(buffer.buffer);
  scopeRecording?.set(buffer.buffer, buffer);
  return buffer;
}

/** Note a fresh buffer if a backward pass is recording (see `recordAllocations`). */
export function noteAllocation(buffer: Storage): void {
  if (buffer.length < MIN_POOLED_ELEMENTS) return;
  freshAllocations++;
  freshBytes += buffer.byteLength;
  recording?.add(buffer.buffer);
  scopeRecording?.set(buffer.buffer, buffer);
}

/** Return a whole buffer (not a view into one) to its bucket. */
export function givePooled(buffer: Storage): void {
  if (!enabled || buffer.byteOffset !== 0 || buffer.byteLength !== buffer.buffer.byteLength) return;
  // Shared memory (the parallel workers' gradient and weight views) is seen by other threads.
  if (buffer.buffer instanceof SharedArrayBuffer) return;
  if (pooledBytes + buffer.byteLength > MAX_POOLED_BYTES) return;
  const bucketMap = (buffer instanceof Float64Array ? buckets.float64 : buckets.float32) as Map<number, Storage[]>;
  let bucket = bucketMap.get(buffer.length);
  if (bucket === undefined) bucketMap.set(buffer.length, (bucket = []));
  bucket.push(buffer);
  pooledBytes += buffer.byteLength;
}

/** Collect the ArrayBuffers `allocate` creates into `owned` until `stop()`; returns stop. */
export function recordAllocations(owned: Set<ArrayBufferLike>): () => void {
  const previous = recording;
  recording = enabled ? owned : null;
  return () => {
    recording = previous;
  };
}

/** Pool counters, for tests and profiling. */
export function bufferPoolStats(): { pooledBytes: number; reused: number; freshAllocations: number; freshBytes: number; enabled: boolean } {
  return { pooledBytes, reused, freshAllocations, freshBytes, enabled };
}

/** Drop every pooled buffer (they go to GC). */
export function clearBufferPool(): void {
  buckets.float32.clear();
  buckets.float64.clear();
  pooledBytes = 0;
}

/**
 * Runs `fn` with no recording scope: what it allocates is never handed back by an enclosing
 * `inferenceScope` or backward. For caches that outlive the step that first fills them (a
 * module-level table of RoPE angles or causal masks built during a decode step).
 */
export function persistentAllocation<T>(fn: () => T): T {
  const previousScope = scopeRecording;
  const previousRecording = recording;
  scopeRecording = null;
  recording = null;
  try {
    return fn();
  } finally {
    scopeRecording = previousScope;
    recording = previousRecording;
  }
}

/** Anything whose storage outlives an inference step: a tensor (its `.data`) or a raw array. */
export type HeldStorage = { readonly data: Storage } | Storage;

/**
 * Runs one inference step under noGrad (so no graph keeps its intermediates alive) and returns to the pool every buffer `allocate` made (or
 * reused) during it, except the storages of `held(result)`: the next step takes them instead of
 * allocating and zero-filling fresh arrays. `held` must name everything that escapes the step
 * (its output, cache tensors created inside it); a buffer not named is reused by the next step.
 *
 * @example
 * const logits = inferenceScope(() => model.forward(ids, { cache }).logits, (out) => [out, ...cacheTensors(cache)]);
 */
export function inferenceScope<T>(step: () => T, held: (result: T) => Iterable<HeldStorage>): T {
  const owned = new Map<ArrayBufferLike, Storage>();
  const previous = scopeRecording;
  scopeRecording = enabled ? owned : null;
  let result: T;
  try {
    result = noGrad(step);
  } finally {
    scopeRecording = previous;
  }
  for (const keep of held(result)) owned.delete(('data' in keep ? keep.data : keep).buffer);
  for (const buffer of owned.values()) givePooled(buffer);
  return result;
}
