// Embedding gather and scatter-add on wasm against plain loops (the reference in
// src/tensor/ops/indexing.ts does the same row copy and in-order float32 adds), on awkward
// shapes (ids 1, 3, 65 × channels 1, 7, 33, 129) with repeated ids, on 1 and 2 threads.
//
// Tolerance: none. The gather copies rows, and the scatter-add sums each row's gradients in the
// order of the ids, as the reference does, in float32: the results must be equal to the bit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { embeddingGatherWasm, embeddingScatterAddWasm } from '../../../src/kernels/wasm/embedding.ts';
import { setWasmThreads } from '../../../src/kernels/wasm/runtime.ts';
import { randomArray } from '../fixtures.ts';


function assertEqualBits(what: string, actual: Float32Array, expected: Float32Array, C: number): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      assert.fail(`${what}: index ${i} (row ${Math.floor(i / C)}, channel ${i % C}): wasm ${actual[i]}, reference ${expected[i]}, |error| ${Math.abs(actual[i] - expected[i]).toExponential(2)} > 0`);
    }
  }
}

for (const threads of [1, 2]) {
  describe(`embedding wasm, ${threads} thread${threads > 1 ? 's' : ''}`, () => {
    it('gather and scatter-add equal the reference loops, repeated ids included', () => {
      setWasmThreads(threads);
      let seed = 1;
      for (const N of [1, 3, 65]) {
        for (const C of [1, 7, 33, 129]) {
          const V = 11; // fewer rows than ids: ids repeat
          const label = `embedding (N ${N}, C ${C}, V ${V})`;
          const weight = randomArray(V * C, seed++, 1);
          const ids = Int32Array.from({ length: N }, (_, i) => (i * 7 + seed) % V);
          const out = new Float32Array(N * C).fill(NaN);
          embeddingGatherWasm(out, weight, ids, C);
          const expected = new Float32Array(N * C);
          for (let i = 0; i < N; i++) expected.set(weight.subarray(ids[i] * C, ids[i] * C + C), i * C);
          assertEqualBits(`${label} gather`, out, expected, C);

          // dweight starts non-zero: the scatter adds into it.
          const g = randomArray(N * C, seed++, 1);
          const dweight = randomArray(V * C, seed++, 0.5);
          const dweightReference = dweight.slice();
          embeddingScatterAddWasm(dweight, g, ids, C);
          for (let i = 0; i < N; i++) for (let c = 0; c < C; c++) dweightReference[ids[i] * C + c] += g[i * C + c];
          assertEqualBits(`${label} scatter-add`, dweight, dweightReference, C);
        }
      }
    });

    it('rejects an id outside the table, naming the kernel and the position', () => {
      assert.throws(() => embeddingGatherWasm(new Float32Array(4), new Float32Array(6), Int32Array.of(0, 3), 2), /embeddingGather \(wasm\): id 3 at position 1 is out of range for 3 rows/);
    });
  });
}
