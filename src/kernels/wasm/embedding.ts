/**
 * Embedding gather (forward) and scatter-add (backward) on the wasm kernels
 * (.../assembly/embedding.ts), for float32 tables.
 *
 * Legend: N = ids (B·T), C = channels, V = vocabulary rows, U = distinct ids among the N.
 * The backward never copies a (V, C) table through wasm memory: ids are mapped to U compact
 * slots here, the kernel sums the N gradient rows into a (U, C) block, and the U rows are
 * copied to their places in dweight. Rows of one id are summed in the order of the ids, as the
 * reference does, so the result is the reference's to the bit.
 *
 * @example
 * embeddingGatherWasm(out, weight, ids, C);          // out (N, C) = weight[ids]
 * embeddingScatterAddWasm(dweight, g, ids, C);       // dweight (V, C) += scatter of g (N, C)
 */
import { Arena } from './runtime.ts';
import { loadKernels } from './loader.ts';

/** out[i, :] = weight[ids[i], :] for the N = ids.length ids. */
export function embeddingGatherWasm(out: Float32Array, weight: Float32Array, ids: Int32Array, C: number): void {
  const N = ids.length;
  checkShape('embeddingGather', weight, ids, C, { out }, N * C);
  if (N === 0 || C === 0) return;
  const kernels = loadKernels();
  const arena = new Arena(kernels);
  const weightSize = weight.length - (weight.length % C);
  const weightPtr = arena.floats(weightSize), idsPtr = arena.floats(N), outPtr = arena.floats(N * C);
  const heap = arena.commit();
  heap.set(weight.subarray(0, weightSize), weightPtr >>> 2);
  new Int32Array(heap.buffer, idsPtr, N).set(ids);
  kernels.exports.embeddingGather(N, C, weightPtr, idsPtr, outPtr);
  out.set(heap.subarray(outPtr >>> 2, (outPtr >>> 2) + N * C));
}

/** dweight[ids[i], :] += g[i, :] for i in [0, N), N = ids.length; dweight (V, C) row-major. */
export function embeddingScatterAddWasm(dweight: Float32Array, g: Float32Array, ids: Int32Array, C: number): void {
  const N = ids.length;
  checkShape('embeddingScatterAdd', dweight, ids, C, { g }, N * C);
  if (N === 0 || C === 0) return;
  // slotOf[id] = its row in the compact block, −1 until seen; distinct[slot] = the id.
  const slotOf = new Int32Array(dweight.length / C).fill(-1);
  const slots = new Int32Array(N);
  const distinct = new Int32Array(N);
  let U = 0;
  for (let i = 0; i < N; i++) {
    const id = ids[i];
    if (slotOf[id] < 0) {
      slotOf[id] = U;
      distinct[U++] = id;
    }
    slots[i] = slotOf[id];
  }
  const kernels = loadKernels();
  const arena = new Arena(kernels);
  const gPtr = arena.floats(N * C), slotsPtr = arena.floats(N), blockPtr = arena.floats(U * C);
  const heap = arena.commit();
  heap.set(g.subarray(0, N * C), gPtr >>> 2);
  new Int32Array(heap.buffer, slotsPtr, N).set(slots);
  // The block starts from dweight's own rows, so the kernel's sum continues theirs (`+=`).
  const block = blockPtr >>> 2;
  for (let u = 0; u < U; u++) heap.set(dweight.subarray(distinct[u] * C, distinct[u] * C + C), block + u * C);
  kernels.exports.embeddingScatterAdd(N, C, gPtr, slotsPtr, blockPtr);
  for (let u = 0; u < U; u++) dweight.set(heap.subarray(block + u * C, block + u * C + C), distinct[u] * C);
}

function checkShape(kernel: string, table: Float32Array, ids: Int32Array, C: number, rows: Record<string, Float32Array>, rowsSize: number): void {
  if (!Number.isInteger(C) || C < 0) throw new RangeError(`${kernel} (wasm): C must be a non-negative integer, got ${C}`);
  const V = C === 0 ? 0 : Math.floor(table.length / C);
  for (let i = 0; i < ids.length; i++) {
    if (!(ids[i] >= 0 && ids[i] < V)) throw new RangeError(`${kernel} (wasm): id ${ids[i]} at position ${i} is out of range for ${V} rows`);
  }
  for (const [name, array] of Object.entries(rows)) {
    if (array.length < rowsSize) throw new RangeError(`${kernel} (wasm): ${name} needs ${rowsSize} elements, found ${array.length}`);
  }
}
