/**
 * Elementwise ops with NumPy broadcasting. Each forward is followed by its backward:
 * binary ops reduce the broadcast gradient back to each input's shape (`reduceToShape`); unary
 * ops multiply the incoming gradient by the local derivative, written from x and/or y = f(x).
 *
 * add/sub/mul/div run through `arithmetic` (./broadcast.ts), unary ops through `unaryKernels`
 * below: one loop per op over dense storage, so the backward computes grad·f'(x) in a single
 * pass, with no derivative tensor and no call per element.
 */
import { geluTanhBackward, geluTanhForward } from '../../kernels/index.ts';
import { geluTanhExp, geluTanhSlope } from '../../kernels/reference/activation.ts';
import { attachGrad, isGradEnabled } from '../autograd.ts';
import { allocate, Tensor, type Storage } from '../tensor.ts';
import { arithmetic, mapBinary, resultDtype } from './broadcast.ts';
import { reduceToShape } from './reduce.ts';
import { readDense } from './strided.ts';

function asTensor(value: Tensor | number, like: Tensor): Tensor {
  return typeof value === 'number' ? Tensor.scalar(value, { dtype: like.dtype }) : value;
}

// ---- binary --------------------------------------------------------------------------------

export function add(a: Tensor, bValue: Tensor | number): Tensor {
  const b = asTensor(bValue, a);
  const out = arithmetic('add', a, b);
  return attachGrad(out, 'add', [a, b], (grad, needs) => [
    needs[0] ? reduceToShape(grad, a.shape) : null,
    needs[1] ? reduceToShape(grad, b.shape) : null,
  ]);
}

export function sub(a: Tensor, bValue: Tensor | number): Tensor {
  const b = asTensor(bValue, a);
  const out = arithmetic('sub', a, b);
  return attachGrad(out, 'sub', [a, b], (grad, needs) => [
    needs[0] ? reduceToShape(grad, a.shape) : null,
    // Negating after the sum is exact (rounding is symmetric) and touches fewer elements.
    needs[1] ? neg(reduceToShape(grad, b.shape)) : null,
  ]);
}

export function mul(a: Tensor, bValue: Tensor | number): Tensor {
  const b = asTensor(bValue, a);
  const out = arithmetic('mul', a, b);
  return attachGrad(out, 'mul', [a, b], (grad, needs) => [
    needs[0] ? reduceToShape(mul(grad, b), a.shape) : null, // d(ab)/da = b
    needs[1] ? reduceToShape(mul(grad, a), b.shape) : null, // d(ab)/db = a
  ]);
}

export function div(a: Tensor, bValue: Tensor | number): Tensor {
  const b = asTensor(bValue, a);
  const out = arithmetic('div', a, b);
  return attachGrad(out, 'div', [a, b], (grad, needs) => [
    needs[0] ? reduceToShape(div(grad, b), a.shape) : null, // d(a/b)/da = 1/b
    // d(a/b)/db = -a/b² = -out/b
    needs[1] ? neg(reduceToShape(div(mul(grad, out), b), b.shape)) : null,
  ]);
}

/** x^p, elementwise; p a number or a broadcastable tensor. */
export function pow(a: Tensor, exponentValue: Tensor | number): Tensor {
  const p = asTensor(exponentValue, a);
  const out = mapBinary('pow', a, p, (x, y) => Math.pow(x, y));
  return attachGrad(out, 'pow', [a, p], (grad, needs) => [
    // d(x^p)/dx = p·x^(p-1)
    needs[0] ? reduceToShape(mul(grad, mapBinary('pow', a, p, (x, y) => (y === 0 ? 0 : y * Math.pow(x, y - 1)))), a.shape) : null,
    // d(x^p)/dp = x^p·ln x; taken as 0 at x = 0, where x^p is flat in p for p > 0
    needs[1] ? reduceToShape(mul(grad, mapBinary('pow', out, a, (y, x) => (x === 0 ? 0 : y * Math.log(x)))), p.shape) : null,
  ]);
}

// ---- unary ---------------------------------------------------------------------------------

/**
 * One unary op as two loops over dense storage: forward y[i] = f(x[i]), and backward
 * dx[i] = g[i]·f'(x[i]), the derivative written from x and/or the forward's y. Each loop is its
 * own small function, so V8 optimises it alone and inlines the scalar maths into it; `slope` is
 * leakyRelu's negative slope.
 */
interface UnaryKernel {
  /**
   * Whether the forward keeps one intermediate value per element in `saved` for the backward,
   * trading that memory for a second exp. `saved` is given only when a backward will run; a
   * backward handed null recomputes the value.
   */
  readonly saves?: boolean;
  forward(y: Storage, x: Storage, n: number, slope: number, saved: Storage | null): void;
  backward(dx: Storage, g: Storage, x: Storage, y: Storage, n: number, slope: number, saved: Storage | null): void;
}

const unaryKernels = {
  neg: {
    forward: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = -x[i]; },
    backward: (dx, g, _x, _y, n) => { for (let i = 0; i < n; i++) dx[i] = -g[i]; },
  },
  exp: {
    forward: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = Math.exp(x[i]); },
    backward: (dx, g, _x, y, n) => { for (let i = 0; i < n; i++) dx[i] = g[i] * y[i]; },
  },
  log: {
    forward: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = Math.log(x[i]); },
    backward: (dx, g, x, _y, n) => { for (let i = 0; i < n; i++) dx[i] = g[i] * (1 / x[i]); },
  },
  sqrt: {
    forward: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = Math.sqrt(x[i]); },
    backward: (dx, g, _x, y, n) => { for (let i = 0; i < n; i++) dx[i] = g[i] * (0.5 / y[i]); },
  },
  rsqrt: {
    forward: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = 1 / Math.sqrt(x[i]); },
    backward: (dx, g, x, y, n) => { for (let i = 0; i < n; i++) dx[i] = g[i] * ((-0.5 * y[i]) / x[i]); },
  },
  abs: {
    forward: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = Math.abs(x[i]); },
    // the derivative at 0 is taken as 0 (the subgradient PyTorch uses)
    backward: (dx, g, x, _y, n) => { for (let i = 0; i < n; i++) dx[i] = g[i] * Math.sign(x[i]); },
  },
  tanh: {
    forward: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]); },
    backward: (dx, g, _x, y, n) => { for (let i = 0; i < n; i++) dx[i] = g[i] * (1 - y[i] * y[i]); },
  },
  sigmoid: {
    forward: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = sigmoidScalar(x[i]); },
    backward: (dx, g, _x, y, n) => { for (let i = 0; i < n; i++) dx[i] = g[i] * (y[i] * (1 - y[i])); },
  },
  relu: {
    forward: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0; },
    backward: (dx, g, x, _y, n) => { for (let i = 0; i < n; i++) dx[i] = g[i] * (x[i] > 0 ? 1 : 0); },
  },
  leakyRelu: {
    forward: (y, x, n, slope) => { for (let i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : slope * x[i]; },
    backward: (dx, g, x, _y, n, slope) => { for (let i = 0; i < n; i++) dx[i] = g[i] * (x[i] > 0 ? 1 : slope); },
  },
  silu: {
    forward: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = x[i] * sigmoidScalar(x[i]); },
    backward: (dx, g, x, _y, n) => { for (let i = 0; i < n; i++) dx[i] = g[i] * siluSlope(x[i]); },
  },
  gelu: {
    forward: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = geluExact(x[i]); },
    backward: (dx, g, x, _y, n) => { for (let i = 0; i < n; i++) dx[i] = g[i] * geluExactSlope(x[i]); },
  },
  geluTanh: {
    // The chosen kernel backend for float32 (src/kernels), the reference for float64.
    forward: (y, x, n) => geluTanhForward(y, x, n),
    backward: (dx, g, x, _y, n) => geluTanhBackward(dx, g, x, n),
  },
} satisfies Record<string, UnaryKernel>;

type UnaryOp = keyof typeof unaryKernels;

/**
 * y = op(x), with a backward giving grad·dy/dx in one pass. A strided x is read into row-major
 * order once, and that copy (or x's own storage, when dense) is what backward reads.
 */
function unary(name: string, op: UnaryOp, x: Tensor, slope = 0): Tensor {
  const kernel: UnaryKernel = unaryKernels[op];
  const input = readDense(x);
  const n = input.length;
  const output = allocate(x.dtype, n);
  const backwardWillRun = isGradEnabled() && x.requiresGrad; // as attachGrad decides
  const saved = kernel.saves && backwardWillRun ? allocate(x.dtype, n) : null;
  kernel.forward(output, input, n, slope, saved);
  return attachGrad(new Tensor(output, x.shape), name, [x], (grad) => {
    const gradX = allocate(resultDtype(grad, x), n);
    kernel.backward(gradX, readDense(grad), input, output, n, slope, saved);
    return [new Tensor(gradX, x.shape)];
  });
}

export function neg(x: Tensor): Tensor {
  return unary('neg', 'neg', x);
}

export function exp(x: Tensor): Tensor {
  return unary('exp', 'exp', x);
}

export function log(x: Tensor): Tensor {
  return unary('log', 'log', x);
}

export function sqrt(x: Tensor): Tensor {
  return unary('sqrt', 'sqrt', x);
}

/** 1/√x */
export function rsqrt(x: Tensor): Tensor {
  return unary('rsqrt', 'rsqrt', x);
}

/** |x|; the derivative at 0 is taken as 0 (the subgradient PyTorch uses). */
export function abs(x: Tensor): Tensor {
  return unary('abs', 'abs', x);
}

export function tanh(x: Tensor): Tensor {
  return unary('tanh', 'tanh', x);
}

export function sigmoid(x: Tensor): Tensor {
  return unary('sigmoid', 'sigmoid', x);
}

export function relu(x: Tensor): Tensor {
  return unary('relu', 'relu', x);
}

export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return unary('leakyRelu', 'leakyRelu', x, negativeSlope);
}

/** x·σ(x) (also called swish). */
export function silu(x: Tensor): Tensor {
  return unary('silu', 'silu', x);
}

/**
 * GELU. `'none'`: exact x·Φ(x) with Φ the normal CDF (via erf). `'tanh'`: GPT-2's approximation
 * 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), what Hugging Face calls `gelu_new`.
 */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  return unary('gelu', approximate === 'tanh' ? 'geluTanh' : 'gelu', x);
}

// ---- scalar definitions the loops above inline ---------------------------------------------

const INV_SQRT_2 = 1 / Math.SQRT2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

function geluExact(v: number): number {
  return 0.5 * v * (1 + erf(v * INV_SQRT_2));
}

/** d/dx x·Φ(x) = Φ(x) + x·φ(x) */
function geluExactSlope(v: number): number {
  return 0.5 * (1 + erf(v * INV_SQRT_2)) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v);
}

// GPT-2's tanh GELU (through e = exp(2u)) lives with its kernels in src/kernels/reference/activation.ts.
export { geluTanhExp, geluTanhSlope };

/** d/dx x·σ(x) = σ(x)·(1 + x·(1 − σ(x))) */
function siluSlope(v: number): number {
  const s = sigmoidScalar(v);
  return s * (1 + v * (1 - s));
}

function sigmoidScalar(v: number): number {
  // Two branches so exp never overflows: for v ≪ 0, exp(-v) would be +∞.
  if (v >= 0) return 1 / (1 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1 + e);
}

/**
 * The error function to ~1e-14 (float64), needed by exact GELU. Maclaurin series for |x| < 2.5
 * (terms alternate, ~3 digits are lost to cancellation at the edge) and a continued fraction
 * for erfc beyond, where the series would lose too much.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 100; n++) {
      term *= -x2 / n;
      const contribution = term / (2 * n + 1);
      sum += contribution;
      if (Math.abs(contribution) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (ax > 6) return Math.sign(x);
  // erfc(x) = exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))))
  let fraction = ax;
  for (let k = 60; k >= 1; k--) fraction = ax + k / 2 / fraction;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / fraction;
  return Math.sign(x) * (1 - erfc);
}
