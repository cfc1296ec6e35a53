import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../../src/tensor/tensor.ts';
import { gradcheck } from '../../../src/tensor/gradcheck.ts';
import { Rng } from '../../../src/tensor/random.ts';
import { QkvShapeError, QkvValueError } from '../../../src/tensor/errors.ts';
import { max, mean, reduceToShape, sum, variance } from '../../../src/tensor/ops/reduce.ts';
import { sumToShape } from '../../../src/tensor/ops/broadcast.ts';

const rng = new Rng(11);
const f64 = (shape: number[]) => Tensor.rand(shape, { dtype: 'float64', rng, low: -2, high: 2, requiresGrad: true });

function assertClose(actual: number[], expected: number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} values vs ${expected.length}`);
  actual.forEach((v, i) =>
    assert.ok(Math.abs(v - expected[i]) <= tolerance * Math.max(1, Math.abs(expected[i])), `${what} index ${i}: ${v} vs ${expected[i]}`),
  );
}

/** Naive oracle: sum over `axes` by walking every element with its full index. */
function referenceSum(x: Tensor, axes: number[]): { values: number[]; shape: number[] } {
  const shape = x.shape;
  const outShape = shape.filter((_, i) => !axes.includes(i));
  const out = new Array<number>(outShape.reduce((a, b) => a * b, 1)).fill(0);
  const index = new Array<number>(shape.length).fill(0);
  for (let n = 0; n < x.size; n++) {
    let outIndex = 0;
    for (let axis = 0; axis < shape.length; axis++) if (!axes.includes(axis)) outIndex = outIndex * shape[axis] + index[axis];
    out[outIndex] += x.get(...index);
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      if (++index[axis] < shape[axis]) break;
      index[axis] = 0;
    }
  }
  return { values: out, shape: outShape };
}

test('sum by hand: all, one axis, negative axis, list, keepdim', () => {
  const x = Tensor.from([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(sum(x).tolist(), 21);
  assert.deepEqual(sum(x).shape, []);
  assert.deepEqual(sum(x, 0).tolist(), [5, 7, 9]);
  assert.deepEqual(sum(x, -1).tolist(), [6, 15]);
  assert.deepEqual(sum(x, [0, 1]).tolist(), 21);
  assert.deepEqual(sum(x, 1, true).tolist(), [[6], [15]]);
  assert.deepEqual(sum(x, [-2, -1], true).shape, [1, 1]);
  assert.deepEqual(sum(x, []).tolist(), [[1, 2, 3], [4, 5, 6]], 'an empty axis list reduces nothing');
  assert.deepEqual(x.sum(-1).tolist(), [6, 15], 'the Tensor method delegates');
});

test('mean and variance by hand', () => {
  const x = Tensor.from([[1, 2, 3, 4], [2, 2, 2, 2]]);
  assert.deepEqual(mean(x, -1).tolist(), [2.5, 2]);
  assert.deepEqual(mean(x).tolist(), 2.25);
  // population: mean 2.5, squared deviations 2.25+0.25+0.25+2.25 = 5 → 5/4; unbiased 5/3
  assertClose(variance(x, -1).toArray(), [1.25, 0], 1e-7, 'population variance');
  assertClose(variance(x, 1, { unbiased: true }).toArray(), [5 / 3, 0], 1e-7, 'unbiased variance');
  assert.deepEqual(variance(x, 1, { keepdim: true }).shape, [2, 1]);
  assertClose(x.var(0).toArray(), [0.25, 0, 0.25, 1], 1e-7, 'variance over axis 0');
});

test('variance stays accurate when the mean dwarfs the spread', () => {
  // E[x²] − E[x]² would lose every digit here; two passes keep them.
  const x = Tensor.from([1e8 + 1, 1e8 + 2, 1e8 + 3], [3], { dtype: 'float64' });
  assertClose(variance(x).toArray(), [2 / 3], 1e-12, 'variance');
});

test('reductions read strided inputs: transposed, narrowed, expanded views', () => {
  const x = Tensor.from([[1, 2, 3], [4, 5, 6]]);
  const xt = x.transpose(0, 1); // (3,2) [[1,4],[2,5],[3,6]]
  assert.deepEqual(sum(xt, -1).tolist(), [5, 7, 9]);
  assert.deepEqual(sum(xt, 0).tolist(), [6, 15]);
  assert.deepEqual(mean(xt, 1, true).tolist(), [[2.5], [3.5], [4.5]]);
  const narrowed = x.narrow(1, 1, 2); // [[2,3],[5,6]], offset 1
  assert.deepEqual(sum(narrowed, -1).tolist(), [5, 11]);
  assert.deepEqual(max(narrowed, 0).values.tolist(), [5, 6]);
  assertClose(variance(narrowed, 0).toArray(), [2.25, 2.25], 1e-7, 'variance of a narrowed view');
  const expanded = Tensor.from([[1], [2]]).expand(2, 4); // stride 0 along the last axis
  assert.deepEqual(sum(expanded, -1).tolist(), [4, 8]);
  assert.deepEqual(sum(expanded, 0).tolist(), [3, 3, 3, 3]);
});

test('sum matches a naive oracle for every axis subset, contiguous and permuted', () => {
  const base = Tensor.randn([3, 4, 5], { rng });
  const layouts = { contiguous: base, permuted: base.permute(2, 0, 1), narrowed: base.narrow(2, 1, 3) };
  const subsets = [[], [0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]];
  for (const [name, x] of Object.entries(layouts)) {
    for (const axes of subsets) {
      const expected = referenceSum(x, axes);
      const actual = sum(x, axes);
      assert.deepEqual(actual.shape, expected.shape, `${name} axes [${axes}]: shape`);
      assertClose(actual.toArray(), expected.values, 1e-5, `${name} sum over [${axes}]`);
    }
  }
});

test('max returns values and the first maximal index', () => {
  const x = Tensor.from([[1, 7, 7], [9, 2, 9], [-1, -3, -2]]);
  const byRow = max(x, -1);
  assert.deepEqual(byRow.values.tolist(), [7, 9, -1]);
  assert.deepEqual(byRow.indices.tolist(), [1, 0, 0]);
  const byColumn = max(x, 0, true);
  assert.deepEqual(byColumn.values.tolist(), [[9, 7, 9]]);
  assert.deepEqual(byColumn.indices.tolist(), [[1, 0, 1]]);
  assert.deepEqual(x.argmax(1).tolist(), [1, 0, 0]);
  assert.deepEqual(max(x.transpose(0, 1), -1).indices.tolist(), [1, 0, 1], 'transposed view');
  assert.ok(Number.isNaN(max(Tensor.from([1, NaN, 5]), 0).values.item()), 'NaN propagates as in PyTorch');
});

test('max sends the gradient only to the first maximal element', () => {
  const x = Tensor.from([[1, 3, 3], [5, 0, 5]], undefined, { requiresGrad: true });
  max(x, 1).values.backward({ gradient: Tensor.from([10, 20]) });
  assert.deepEqual(x.grad!.tolist(), [[0, 10, 0], [20, 0, 0]]);
});

test('sum and mean backward broadcast the gradient', () => {
  const x = Tensor.ones([2, 3], { requiresGrad: true });
  sum(x, 0).backward({ gradient: Tensor.from([1, 2, 3]) });
  assert.deepEqual(x.grad!.tolist(), [[1, 2, 3], [1, 2, 3]]);
  const y = Tensor.ones([2, 4], { requiresGrad: true });
  mean(y).backward();
  assert.deepEqual(y.grad!.toArray(), new Array(8).fill(1 / 8));
});

test('gradients of sum and mean with odd shapes, negative axes, keepdim and strided inputs', () => {
  gradcheck('sum all', (x) => sum(x), [f64([3, 5])]);
  gradcheck('sum -1', (x) => sum(x, -1), [f64([3, 1, 7])]);
  gradcheck('sum 0 keepdim', (x) => sum(x, 0, true), [f64([5, 3])]);
  gradcheck('sum [0,-1]', (x) => sum(x, [0, -1]), [f64([3, 5, 7])]);
  gradcheck('sum middle', (x) => sum(x, 1), [f64([3, 5, 2])]);
  gradcheck('sum size-1 axis', (x) => sum(x, -2, true), [f64([5, 1, 3])]);
  gradcheck('sum of permuted', (x) => sum(x.permute(2, 0, 1), [0, -1]), [f64([3, 5, 2])]);
  gradcheck('mean all', (x) => mean(x), [f64([7])]);
  gradcheck('mean [1,2]', (x) => mean(x, [-1, 1]), [f64([3, 5, 2])]);
  gradcheck('mean of transposed', (x) => mean(x.transpose(0, 1), -1, true), [f64([5, 3])]);
});

test('gradients of variance and max', () => {
  gradcheck('variance -1', (x) => variance(x, -1), [f64([3, 7])]);
  gradcheck('variance unbiased [0,2]', (x) => variance(x, [0, -1], { unbiased: true, keepdim: true }), [f64([3, 5, 2])]);
  gradcheck('variance all', (x) => variance(x), [f64([5, 1])]);
  gradcheck('variance of transposed', (x) => variance(x.transpose(0, 1), 1), [f64([5, 3])]);
  gradcheck('max -1', (x) => max(x, -1).values, [f64([3, 7])]);
  gradcheck('max 0 keepdim', (x) => max(x, 0, true).values, [f64([5, 1, 3])]);
  gradcheck('max of permuted', (x) => max(x.permute(1, 0, 2), -2).values, [f64([3, 5, 2])]);
});

test('bias-gradient sums (leading axes of a dense tensor) add each column in row order', () => {
  // float64: sumToShape accumulates in float64 too, in the same order, so the results are equal bit for bit.
  for (const rows of [1, 3, 4, 5, 8, 13]) {
    const grad = Tensor.randn([rows, 7], { rng, dtype: 'float64' });
    assert.deepEqual(reduceToShape(grad, [7]).toArray(), sumToShape(grad, [7]).toArray(), `${rows} rows`);
    assert.deepEqual(sum(grad.reshape([1, rows, 7]), [0, 1]).toArray(), sumToShape(grad, [7]).toArray(), `sum over ${rows} rows`);
  }
  const offsetRows = Tensor.randn([9, 5], { rng, dtype: 'float64' }).narrow(0, 2, 6); // dense, with an offset
  assert.deepEqual(reduceToShape(offsetRows, [5]).toArray(), sumToShape(offsetRows, [5]).toArray(), 'rows at an offset');
});

test('reduceToShape undoes broadcasting like sumToShape', () => {
  const grad = Tensor.from([[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]]); // (2,2,3)
  assert.deepEqual(reduceToShape(grad, [3]).tolist(), [22, 26, 30]);
  assert.deepEqual(reduceToShape(grad, [2, 1]).tolist(), [[30], [48]]); // 1+2+3+7+8+9, 4+5+6+10+11+12
  assert.deepEqual(reduceToShape(grad, [1, 1, 1]).tolist(), [[[78]]]);
  assert.equal(reduceToShape(grad, [2, 2, 3]), grad, 'nothing to reduce: the gradient itself');
  const strided = Tensor.randn([3, 5, 7], { rng }).permute(2, 0, 1);
  for (const shape of [[7, 1, 5], [3, 1], [5], [1, 3, 5], []]) {
    assertClose(reduceToShape(strided, shape).toArray(), sumToShape(strided, shape).toArray(), 1e-5, `reduceToShape to (${shape})`);
  }
  assert.throws(() => reduceToShape(grad, [2]), (error: Error) =>
    error instanceof QkvShapeError && /^reduceToShape: \(2\) does not broadcast to the gradient's \(2,2,3\)/.test(error.message));
});

test('bad axes throw a QkvValueError naming the op and the shape', () => {
  const x = Tensor.zeros([2, 3]);
  const says = (pattern: RegExp) => (error: Error) => error instanceof QkvValueError && pattern.test(error.message);
  assert.throws(() => sum(x, 2), says(/^sum: axis 2 is out of range for a tensor of rank 2/));
  assert.throws(() => mean(x, -3), says(/^mean: axis -3/));
  assert.throws(() => sum(x, [1, -1]), says(/^sum: axis -1 appears twice in \[1,-1\] \(shape \(2,3\)\)/));
  assert.throws(() => variance(x, 5), says(/^variance: axis 5/));
  assert.throws(() => max(x, 2), says(/^max: axis 2/));
  assert.throws(() => max(Tensor.zeros([2, 0]), 1), says(/^max: axis 1 of shape \(2,0\) is empty/));
});

test('sum over the last axis of a large contiguous tensor runs near a hand-written loop', () => {
  const x = Tensor.randn([1024, 768], { rng });
  const rows = 1024;
  const columns = 768;
  const time = (fn: () => void): number => {
    fn(); // warm up the JIT
    let best = Infinity; // best of several, so a busy machine does not fail the test
    for (let run = 0; run < 7; run++) {
      const start = performance.now();
      fn();
      best = Math.min(best, performance.now() - start);
    }
    return best;
  };
  const baselineMs = time(() => {
    const out = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      let total = 0;
      for (let c = 0; c < columns; c++) total += x.data[r * columns + c];
      out[r] = total;
    }
  });
  const sumMs = time(() => sum(x, -1));
  // A per-element closure or odometer costs ~10× the plain loop; the tight loop stays close.
  assert.ok(sumMs < 4 * baselineMs + 1, `sum(-1) of (1024,768): ${sumMs.toFixed(2)} ms vs ${baselineMs.toFixed(2)} ms for a plain loop`);
});
