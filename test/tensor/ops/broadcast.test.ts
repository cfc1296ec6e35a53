import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, type DType } from '../../../src/tensor/tensor.ts';
import { Rng } from '../../../src/tensor/random.ts';
import { arithmetic, mapBinary, type ArithmeticOp } from '../../../src/tensor/ops/broadcast.ts';
import { coalesceAxes, copyStrided } from '../../../src/tensor/ops/strided.ts';
import { contiguousStrides } from '../../../src/tensor/shape.ts';

const rng = new Rng(23);
const random = (shape: number[], dtype: DType = 'float32') => Tensor.randn(shape, { rng, dtype });

const closures: Record<ArithmeticOp, (x: number, y: number) => number> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
};

/** Bit-for-bit equality, naming the first element that differs. */
function assertSameValues(actual: Tensor, expected: Tensor, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  const a = actual.toArray();
  const e = expected.toArray();
  for (let i = 0; i < e.length; i++) {
    if (!Object.is(a[i], e[i])) assert.fail(`${what}: index ${i}: ${a[i]} vs ${e[i]} (error ${a[i] - e[i]})`);
  }
}

/**
 * Operand pairs covering each fast layout (dense pair, bias row, scalar on either side, trailing
 * block, outer product) and the general strided rows (transposed, narrowed, expanded views),
 * with odd sizes so no loop is a multiple of anything.
 */
function operandPairs(): [string, Tensor, Tensor][] {
  const x = random([3, 5, 7]);
  return [
    ['same shape, dense', x, random([3, 5, 7])],
    ['bias (3,5,7) + (7)', x, random([7])],
    ['bias on the left (7) + (3,5,7)', random([7]), x],
    ['scalar right', x, random([])],
    ['scalar left', random([]), x],
    ['one-element (1,1) right', x, random([1, 1])],
    ['trailing block (3,5,7) + (5,7)', x, random([5, 7])],
    ['column (3,5,7) + (5,1)', x, random([5, 1])],
    ['outer (5,1) + (1,7)', random([5, 1]), random([1, 7])],
    ['transposed left', random([7, 5]).transpose(0, 1), random([5, 7])],
    ['transposed both', random([7, 5]).transpose(0, 1), random([7, 5]).transpose(0, 1)],
    ['permuted + bias', random([7, 3, 5]).permute(1, 2, 0), random([7])],
    ['narrowed (offset, gaps)', random([3, 9]).narrow(1, 2, 5), random([3, 5])],
    ['expanded', random([1, 5]).expand(3, 5), random([3, 5])],
    ['float64 with float32', random([3, 5], 'float64'), random([5])],
    ['both scalars', random([]), random([])],
    ['empty', random([0, 4]), random([4])],
  ];
}

test('arithmetic matches mapBinary bit for bit on every layout', () => {
  for (const op of ['add', 'sub', 'mul', 'div'] as const) {
    for (const [layout, a, b] of operandPairs()) {
      assertSameValues(arithmetic(op, a, b), mapBinary(op, a, b, closures[op]), `${op}, ${layout}`);
    }
  }
});

test('add/sub/mul/div through Tensor methods match the general path, forward and backward', () => {
  for (const op of ['add', 'sub', 'mul', 'div'] as const) {
    for (const [layout, a, b] of operandPairs()) {
      assertSameValues(a[op](b), mapBinary(op, a, b, closures[op]), `${op} method, ${layout}`);
    }
  }
  // A bias gradient (B,T,C) → (C) through the fast path against a float64 sum by hand.
  const x = random([2, 3, 5]).requiresGrad_();
  const bias = random([5]).requiresGrad_();
  const grad = random([2, 3, 5]);
  x.sub(bias).backward({ gradient: grad });
  const g = grad.toArray();
  bias.grad!.toArray().forEach((value, c) => {
    let expected = 0;
    for (let row = 0; row < 6; row++) expected -= g[row * 5 + c];
    assert.ok(Math.abs(value - expected) < 1e-6, `bias grad index ${c}: ${value} vs ${expected}`);
  });
  assertSameValues(x.grad!, grad, 'x grad of x − bias');
});

test('coalesceAxes merges runs that are contiguous for both operands', () => {
  // dense pair: one axis
  assert.deepEqual(coalesceAxes([2, 3, 4], [12, 4, 1], [12, 4, 1]), { shape: [24], stridesA: [1], stridesB: [1] });
  // bias: rows against a fixed row
  assert.deepEqual(coalesceAxes([2, 3, 4], [12, 4, 1], [0, 0, 1]), { shape: [6, 4], stridesA: [4, 1], stridesB: [0, 1] });
  // scalar operand
  assert.deepEqual(coalesceAxes([2, 3], [3, 1], [0, 0]), { shape: [6], stridesA: [1], stridesB: [0] });
  // size-1 axes dropped; a transposed operand blocks merging
  assert.deepEqual(coalesceAxes([1, 3, 4], [99, 1, 3], [12, 4, 1]), { shape: [3, 4], stridesA: [1, 3], stridesB: [4, 1] });
  assert.deepEqual(coalesceAxes([], [], []), { shape: [], stridesA: [], stridesB: [] });
});

test('contiguousData of strided views matches element-by-element reads', () => {
  const views: [string, Tensor][] = [
    ['transposed', random([5, 7]).transpose(0, 1)],
    ['permuted, last axis dense (attention heads)', random([2, 3, 4, 70]).permute(0, 2, 1, 3)],
    ['narrowed', random([4, 9, 3]).narrow(1, 2, 5)],
    ['expanded', random([1, 3, 1]).expand(2, 3, 5)],
    ['offset scalar', random([4]).narrow(0, 2, 1).reshape([])],
  ];
  for (const [what, view] of views) {
    const expected: number[] = [];
    const walk = (index: number[]): void => {
      if (index.length === view.ndim) {
        expected.push(view.get(...index));
        return;
      }
      for (let i = 0; i < view.shape[index.length]; i++) walk([...index, i]);
    };
    walk([]);
    assert.deepEqual(Array.from(view.contiguousData()), expected, what);
  }
});

test('copyStrided writes into a window of a larger tensor', () => {
  // a (2,3) source into columns 1..3 of a (2,5) target
  const target = new Float32Array(10);
  const source = Tensor.from([[1, 2, 3], [4, 5, 6]]).transpose(0, 1).transpose(0, 1);
  copyStrided(target, 1, contiguousStrides([2, 5]), source);
  assert.deepEqual(Array.from(target), [0, 1, 2, 3, 0, 0, 4, 5, 6, 0]);
});
