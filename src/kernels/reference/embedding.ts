/**
 * The embedding's gather (forward) and scatter-add (backward) over a (V, C) table.
 *
 * Legend: N = ids (B·T), C = channels, V = vocabulary rows. Rows of one id are summed in the
 * order of the ids, so every backend that keeps that order gets the same bits.
 */
import type { Storage } from '../types.ts';

/** out[i, :] = weight[ids[i], :] for the N = ids.length ids. */
export function embeddingGather(out: Storage, weight: Storage, ids: Int32Array, C: number): void {
  for (let i = 0; i < ids.length; i++) {
    const from = ids[i] * C;
    for (let c = 0; c < C; c++) out[i * C + c] = weight[from + c];
  }
}

/** dweight[ids[i], :] += g[i, :] for i in [0, N). */
export function embeddingScatterAdd(dweight: Storage, g: Storage, ids: Int32Array, C: number): void {
  for (let i = 0; i < ids.length; i++) {
    const to = ids[i] * C;
    for (let c = 0; c < C; c++) dweight[to + c] += g[i * C + c];
  }
}
