// @ts-nocheck — AssemblyScript, compiled by `asc` (scripts/build-wasm.mjs), not by tsc.
//
// Embedding lookup, forward beside backward.
//   reference: `embedding` / `scatterAdd` in src/tensor/ops/indexing.ts
// Legend: N = ids looked up (B·T), C = channels, V = vocabulary rows, U = distinct ids.
// weight is (V, C) float32, ids (N) int32, out and g (N, C) float32.

/** out[i] = weight[ids[i]]: a row copy per id. */
export function embeddingGather(N: i32, C: i32, weight: usize, ids: usize, out: usize): void {
  const rowBytes = <usize>C << 2;
  for (let i = 0; i < N; i++) {
    const id = <usize>load<i32>(ids + (<usize>i << 2));
    memory.copy(out + <usize>i * rowBytes, weight + id * rowBytes, rowBytes);
  }
}

/**
 * dweight[slots[i]] += g[i] for i in [0, N), in order of i, so a row picked twice sums its
 * gradients in the same order as the reference (and to the same float32 bits). `dweight` is a
 * compact (U, C) block, one row per distinct id (the caller maps ids to slots and zeroes it):
 * its size is bounded by N·C, not by the vocabulary.
 */
export function embeddingScatterAdd(N: i32, C: i32, g: usize, slots: usize, dweight: usize): void {
  const rowBytes = <usize>C << 2;
  for (let i = 0; i < N; i++) {
    const to = dweight + <usize>load<i32>(slots + (<usize>i << 2)) * rowBytes;
    const from = g + <usize>i * rowBytes;
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const at = <usize>c << 2;
      v128.store(to + at, f32x4.add(v128.load(to + at), v128.load(from + at)));
    }
    for (; c < C; c++) {
      const at = <usize>c << 2;
      store<f32>(to + at, load<f32>(to + at) + load<f32>(from + at));
    }
  }
}
