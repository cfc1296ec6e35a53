/**
 * A layer's KV cache, grown in place: keys and values live in buffers (B, NHkv, capacity, hs)
 * preallocated past the filled length and doubled when outgrown, and the cache's `keys` and
 * `values` are views of the filled positions. Appending one decoded token then copies one
 * position, where concatenation copied the whole cache every step (O(P) per token, O(P²) per
 * sequence). Attention reads the views in place: the matmul takes the buffer's batch stride.
 *
 * Legend: B = batch, NHkv = key/value heads, P = cached positions, Tk = new positions, hs = head size.
 */
import { concat } from '../tensor/ops/shape.ts';
import { copyStrided } from '../tensor/ops/strided.ts';
import { allocateOverwritten, Tensor } from '../tensor/tensor.ts';

/** Past keys and values of one attention layer: (B, NHkv, P, hs) each, P positions so far. */
export interface LayerCache {
  keys: Tensor | null;
  values: Tensor | null;
  /** (B, NHkv, capacity, hs): `keys` is a view of its first P positions; made on the first append. */
  keyBuffer?: Tensor | null;
  valueBuffer?: Tensor | null;
  /** 'concat': grow by concatenation, a new (B, NHkv, P + Tk, hs) tensor per step (the old way, kept for comparisons). Default 'buffer'. */
  growth?: 'buffer' | 'concat';
}

/** A first buffer holds this many positions at least: a short prompt then decodes 32 tokens before the first doubling. */
const MIN_CAPACITY = 32;

/**
 * Appends k, v (B, NHkv, Tk, hs) after the P cached positions and returns the keys and values
 * attention should read (B, NHkv, P + Tk, hs). The cache keeps detached views; when k or v need
 * a gradient the returned tensors are concatenations that pass it on.
 */
export function appendToCache(cache: LayerCache, k: Tensor, v: Tensor): { keys: Tensor; values: Tensor } {
  if (cache.growth === 'concat' || k.requiresGrad || v.requiresGrad) {
    const keys = cache.keys !== null && cache.values !== null ? concat([cache.keys, k], 2) : k; // (B, NHkv, P + Tk, hs)
    const values = cache.keys !== null && cache.values !== null ? concat([cache.values, v], 2) : v;
    cache.keys = keys.detach();
    cache.values = values.detach();
    cache.keyBuffer = cache.valueBuffer = null;
    return { keys, values };
  }
  const past = cache.keys === null || cache.values === null ? 0 : cache.keys.shape[2];
  cache.keyBuffer = appendRows(cache.keyBuffer ?? null, past === 0 ? null : cache.keys, k);
  cache.valueBuffer = appendRows(cache.valueBuffer ?? null, past === 0 ? null : cache.values, v);
  cache.keys = cache.keyBuffer.narrow(2, 0, past + k.shape[2]);
  cache.values = cache.valueBuffer.narrow(2, 0, past + v.shape[2]);
  // The prompt's own keys as they are: the first step reads what it did before the cache existed.
  return past === 0 ? { keys: k, values: v } : { keys: cache.keys, values: cache.values };
}

/**
 * `buffer` with `fresh` written after the positions of `filled`: the same buffer when `filled` is
 * a view of it and there is room, else a new one of double the capacity with `filled` copied in
 * (also when `filled` was replaced from outside, e.g. reordered beams).
 */
function appendRows(buffer: Tensor | null, filled: Tensor | null, fresh: Tensor): Tensor {
  const [B, NH, Tk, hs] = fresh.shape;
  const past = filled?.shape[2] ?? 0;
  const needed = past + Tk;
  const reusable = buffer !== null && filled !== null && filled.data === buffer.data && filled.offset === buffer.offset && buffer.dtype === fresh.dtype &&
    buffer.shape[0] === B && buffer.shape[1] === NH && buffer.shape[3] === hs && buffer.shape[2] >= needed;
  if (!reusable) {
    // Double when outgrown; keep the capacity when only `filled` changed (beams reordered every step).
    const capacity = buffer !== null && buffer.shape[2] >= needed ? buffer.shape[2] : Math.max(needed, 2 * (buffer?.shape[2] ?? MIN_CAPACITY / 2));
    // Positions past the filled length are never read: no zero fill.
    const grown = new Tensor(allocateOverwritten(fresh.dtype, B * NH * capacity * hs), [B, NH, capacity, hs]);
    if (filled !== null) copyStrided(grown.data, 0, grown.strides, filled);
    buffer = grown;
  }
  const target: Tensor = buffer!;
  copyStrided(target.data, target.offset + past * hs, target.strides, fresh); // (B, NHkv, Tk, hs) into positions P … P + Tk − 1
  return target;
}
