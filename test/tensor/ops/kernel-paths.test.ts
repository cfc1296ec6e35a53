// The tensor ops whose loops moved onto the kernel interface (unary ops, last-axis softmax and
// log-softmax, last-axis sum / mean / max, gradient clipping's norm), at float32 sizes large
// enough to leave the TypeScript loop (≥ 2048 elements), against the same ops in float64 (which
// always run on the reference loops): forward values and gradients within float32 rounding.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clipGradNorm, gradNorm } from '../../../src/optim/clip.ts';
import { Tensor } from '../../../src/tensor/tensor.ts';
import { randomArray } from '../../kernels/fixtures.ts';

const ROWS = 40, C = 129; // 5160 elements, rows off every vector width

function pair(seed: number, scale: number): { x32: Tensor; x64: Tensor } {
  const values = randomArray(ROWS * C, seed, scale);
  return {
    x32: Tensor.from(values, [ROWS, C], { requiresGrad: true }),
    x64: Tensor.from(values, [ROWS, C], { dtype: 'float64', requiresGrad: true }),
  };
}

function expectClose(what: string, actual: Tensor, expected: Tensor, tolerance: number): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.contiguousData(), e = expected.contiguousData();
  for (let i = 0; i < e.length; i++) {
    const error = Math.abs(a[i] - e[i]);
    if (!(error <= tolerance * Math.max(1, Math.abs(e[i])))) assert.fail(`${what}: index ${i}: ${a[i]}, float64 ${e[i]}, |error| ${error.toExponential(2)}`);
  }
}

describe('float32 ops on the kernels equal the float64 reference path', () => {
  const cases: [string, (x: Tensor) => Tensor, number][] = [
    ['exp', (x) => x.exp(), 1e-6],
    ['tanh', (x) => x.tanh(), 1e-6],
    ['sigmoid', (x) => x.sigmoid(), 1e-6],
    ['relu', (x) => x.relu(), 1e-6],
    ['silu', (x) => x.silu(), 1e-6],
    ['gelu (exact)', (x) => x.gelu(), 1e-6],
    ['log of exp', (x) => x.exp().log(), 1e-6],
    ['softmax(-1)', (x) => x.softmax(-1), 1e-6],
    ['logSoftmax(-1)', (x) => x.logSoftmax(-1), 1e-5],
    ['sum(-1)', (x) => x.sum(-1), 1e-6],
    ['mean(-1, keepdim)', (x) => x.mean(-1, true), 1e-6],
    ['max(-1).values', (x) => x.max(-1).values, 0],
  ];
  let seed = 10;
  for (const [name, op, tolerance] of cases) {
    it(`${name}: values and gradients`, () => {
      const { x32, x64 } = pair(seed++, 4);
      const y32 = op(x32), y64 = op(x64);
      expectClose(`${name} forward`, y32, y64, tolerance);
      // A fixed random upstream gradient, so every output element weighs differently.
      const g = randomArray(y32.size, seed++, 1);
      y32.mul(Tensor.from(g, y32.shape)).sum().backward();
      y64.mul(Tensor.from(g, y64.shape, { dtype: 'float64' })).sum().backward();
      expectClose(`${name} gradient`, x32.grad!, x64.grad!, Math.max(tolerance, 1e-6) * 10);
    });
  }

  it('max(-1) indices: the first on ties', () => {
    const values = randomArray(ROWS * C, 77, 3).map(Math.round); // many ties
    const got = Tensor.from(values, [ROWS, C]).max(-1).indices.contiguousData();
    for (let r = 0; r < ROWS; r++) {
      const row = Array.from(values.subarray(r * C, (r + 1) * C));
      assert.equal(got[r], row.indexOf(Math.max(...row)), `row ${r}`);
    }
  });

  it('clipGradNorm: the float32 norm of large gradients is the float64 one, and clipping scales to maxNorm', () => {
    const grads = [randomArray(70_001, 5, 1), randomArray(300, 6, 1)];
    const params = grads.map((g) => {
      const p = Tensor.zeros([g.length], { requiresGrad: true });
      p.grad = Tensor.from(g, [g.length]);
      return p;
    });
    let squares = 0;
    for (const g of grads) for (const v of g) squares += v * v;
    const expected = Math.sqrt(squares);
    assert.ok(Math.abs(gradNorm(params) - expected) <= 1e-12 * expected, `gradNorm ${gradNorm(params)} vs ${expected}`);
    assert.ok(Math.abs(clipGradNorm(params, 1) - expected) <= 1e-12 * expected);
    assert.ok(Math.abs(gradNorm(params) - 1) < 1e-5, `after clipping: ${gradNorm(params)}`);
  });
});
