import assert from 'node:assert/strict';
import { test } from 'node:test';
import { takeFromBuildSlab, withBuildSlab } from '../../src/tensor/build-slab.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

test('withBuildSlab: zeroed, disjoint, 64-byte aligned views on shared chunks; small and huge tensors and code outside it allocate as before', () => {
  const sizes = [1024, 5000, 3 * 1024 * 1024, 4097, 1024];
  const { tensors, small, huge } = withBuildSlab(() => ({
    tensors: sizes.map((n) => Tensor.zeros([n])),
    small: Tensor.zeros([100]),
    huge: Tensor.zeros([5 * 1024 * 1024]), // 20 MiB: above the quarter-chunk limit
  }));
  const views = tensors.map((t) => t.data as Float32Array);
  for (const [i, view] of views.entries()) {
    assert.equal(view.length, sizes[i], `tensor ${i} length`);
    assert.equal(view.byteOffset % 64, 0, `tensor ${i} alignment`);
    assert.ok(view.every((x) => x === 0), `tensor ${i} zeroed`);
  }
  // Shared chunks: fewer ArrayBuffers than tensors, and no two views overlap.
  assert.ok(new Set(views.map((v) => v.buffer)).size < views.length);
  for (let i = 0; i < views.length; i++) views[i].fill(i + 1);
  for (let i = 0; i < views.length; i++) assert.ok(views[i].every((x) => x === i + 1), `tensor ${i} kept its values after the others were written`);
  assert.equal(small.data.byteLength, small.data.buffer.byteLength, 'a small tensor has its own buffer');
  assert.equal(huge.data.byteLength, huge.data.buffer.byteLength, 'a huge tensor has its own buffer');
  const after = Tensor.zeros([4096]);
  assert.equal(after.data.byteLength, after.data.buffer.byteLength, 'outside withBuildSlab: a fresh buffer');
  assert.equal(takeFromBuildSlab('float32', 4096), undefined);
  // float64 too, nested scopes share the chunk
  const [a, b] = withBuildSlab(() => [Tensor.zeros([2048], { dtype: 'float64' }), withBuildSlab(() => Tensor.zeros([2048]))]);
  assert.ok(a.data instanceof Float64Array && a.data.buffer === b.data.buffer);
});
