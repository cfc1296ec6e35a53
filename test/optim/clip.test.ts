import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clipGradNorm, gradNorm } from '../../src/optim/clip.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';

/** Two parameters with gradients [3, −4] and [[12]], and one without a gradient. */
function params(): Tensor[] {
  const a = Tensor.zeros([2], { requiresGrad: true });
  const b = Tensor.zeros([1, 1], { requiresGrad: true });
  const frozen = Tensor.zeros([3], { requiresGrad: true });
  a.grad = Tensor.from([3, -4]);
  b.grad = Tensor.from([[12]]);
  return [a, b, frozen];
}

function grads(list: Tensor[]): number[] {
  return list.flatMap((param) => (param.grad === null ? [] : param.grad.toArray()));
}

function assertClose(actual: number[], expected: number[], label: string): void {
  actual.forEach((value, i) => assert.ok(Math.abs(value - expected[i]) < 1e-5, `${label}[${i}]: got ${value}, expected ${expected[i]}`));
}

test('gradNorm of all gradients together', () => {
  assert.equal(gradNorm(params()), 13); // √(3² + 4² + 12²) = √169
  assert.equal(gradNorm(params(), 1), 19); // 3 + 4 + 12
  assert.equal(gradNorm(params(), Infinity), 12); // max |g|
  assert.ok(Math.abs(gradNorm(params(), 3) - Math.cbrt(27 + 64 + 1728)) < 1e-12); // (Σ|g|³)^(1/3)
  assert.equal(gradNorm([]), 0);
});

test('clipGradNorm scales every gradient by maxNorm/norm and returns the norm before clipping', () => {
  const list = params();
  const norm = clipGradNorm(list, 6.5);
  assert.equal(norm, 13);
  // 6.5/13 = ½ (up to PyTorch's 1e-6 in the denominator)
  assertClose(grads(list), [1.5, -2, 6], 'clipped');
  assert.ok(Math.abs(gradNorm(list) - 6.5) < 1e-5);
  assert.equal(list[2].grad, null);
});

test('clipGradNorm leaves gradients under the limit untouched', () => {
  const list = params();
  assert.equal(clipGradNorm(list, 13.5), 13);
  assert.deepEqual(grads(list), [3, -4, 12]);
});

test('clipGradNorm with the infinity norm', () => {
  const list = params();
  assert.equal(clipGradNorm(list, 6, Infinity), 12);
  assertClose(grads(list), [1.5, -2, 6], 'clipped'); // 6/12 = ½
});

test('a non-finite norm is returned and nothing is scaled, so the caller can skip the step', () => {
  const overflow = params();
  overflow[0].grad!.data[0] = Infinity;
  assert.equal(clipGradNorm(overflow, 1), Infinity);
  assert.deepEqual(grads(overflow), [Infinity, -4, 12]);

  const nan = params();
  nan[1].grad!.data[0] = NaN;
  assert.ok(Number.isNaN(clipGradNorm(nan, 1)));
  assert.ok(Number.isNaN(clipGradNorm(nan, 1, Infinity)));
  assert.deepEqual(grads(nan).slice(0, 2), [3, -4]);
});

test('clipGradNorm rejects a bad maxNorm or normType', () => {
  assert.throws(() => clipGradNorm(params(), -1), (error: Error) => error instanceof QkvValueError && /maxNorm must be a finite number ≥ 0, got -1/.test(error.message));
  assert.throws(() => clipGradNorm(params(), 1, 0), /normType must be > 0 or Infinity, got 0/);
});

test('clipGradNorm scales a large float32 gradient on the kernels, on 1 and 2 threads, as float32 grad·fround(coefficient)', async () => {
  const { setKernelThreads, waitForKernelThreads, getKernelInfo } = await import('../../src/kernels/index.ts');
  const before = getKernelInfo().threads;
  try {
    for (const threads of [1, 2]) {
      setKernelThreads(threads);
      waitForKernelThreads();
      const n = 100_003; // above the native split threshold, off any vector width
      const values = new Float32Array(n);
      for (let i = 0; i < n; i++) values[i] = Math.sin(i * 0.37) * (1 + (i % 7));
      const small = Float64Array.from([0.5, -2, 3]); // a float64 gradient stays on the reference
      const big = Tensor.zeros([n], { requiresGrad: true });
      const other = Tensor.zeros([3], { dtype: 'float64', requiresGrad: true });
      big.grad = new Tensor(values.slice(), [n]);
      other.grad = new Tensor(small.slice(), [3]);
      let squares = 0;
      for (const v of values) squares += v * v;
      for (const v of small) squares += v * v;
      const norm = Math.sqrt(squares);
      const returned = clipGradNorm([big, other], 1);
      assert.ok(Math.abs(returned - norm) <= 1e-9 * norm, `norm ${returned} vs ${norm}`);
      // From the returned norm: the kernels sum the squares in another order (last bits differ).
      const coefficient = 1 / (returned + 1e-6);
      const scaled = big.grad.data;
      const c32 = Math.fround(coefficient);
      for (let i = 0; i < n; i++) {
        const expected = Math.fround(values[i] * c32);
        if (scaled[i] !== expected) assert.fail(`${threads} threads: grad[${i}] = ${scaled[i]}, expected ${expected} (value ${values[i]} · ${c32})`);
      }
      assert.deepEqual(Array.from(other.grad.data), Array.from(small, (v) => v * coefficient));
      assert.ok(Math.abs(gradNorm([big, other]) - 1) < 1e-5, 'norm after clipping is maxNorm');
    }
  } finally {
    setKernelThreads(before);
    waitForKernelThreads();
  }
});
