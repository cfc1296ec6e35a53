/**
 * Unary ops, forward beside backward: y = f(x) and dx = g·f'(x), the derivative written from x
 * and/or the forward's y. The oracle of the native loops (src/kernels/native/kernels.inc,
 * `unaryForward` / `unaryBackward`); any storage, any mix. Each op's loop is its own small
 * function, so V8 optimises it alone and inlines the scalar maths into it.
 *
 * reference: torch.exp, log, sqrt, rsqrt, abs, tanh, sigmoid, relu, leaky_relu, silu and
 * gelu(approximate='none') (exact x·Φ(x), Φ through erf). `slope` is leakyRelu's negative slope
 * (ignored by the others).
 */
import type { Storage } from '../types.ts';

/** The ops, in the order of their codes in the native addon. */
export const UNARY_OPS = ['neg', 'exp', 'log', 'sqrt', 'rsqrt', 'abs', 'tanh', 'sigmoid', 'relu', 'leakyRelu', 'silu', 'gelu'] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

type Forward = (y: Storage, x: Storage, n: number, slope: number) => void;
type Backward = (dx: Storage, g: Storage, x: Storage, y: Storage, n: number, slope: number) => void;

const forwards: Record<UnaryOp, Forward> = {
  neg: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = -x[i]; },
  exp: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = Math.exp(x[i]); },
  log: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = Math.log(x[i]); },
  sqrt: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = Math.sqrt(x[i]); },
  rsqrt: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = 1 / Math.sqrt(x[i]); },
  abs: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = Math.abs(x[i]); },
  tanh: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]); },
  sigmoid: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = sigmoidScalar(x[i]); },
  relu: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0; },
  leakyRelu: (y, x, n, slope) => { for (let i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : slope * x[i]; },
  silu: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = x[i] * sigmoidScalar(x[i]); },
  gelu: (y, x, n) => { for (let i = 0; i < n; i++) y[i] = geluExact(x[i]); },
};

const backwards: Record<UnaryOp, Backward> = {
  neg: (dx, g, _x, _y, n) => { for (let i = 0; i < n; i++) dx[i] = -g[i]; },
  exp: (dx, g, _x, y, n) => { for (let i = 0; i < n; i++) dx[i] = g[i] * y[i]; },
  log: (dx, g, x, _y, n) => { for (let i = 0; i < n; i++) dx[i] = g[i] * (1 / x[i]); },
  sqrt: (dx, g, _x, y, n) => { for (let i = 0; i < n; i++) dx[i] = g[i] * (0.5 / y[i]); },
  rsqrt: (dx, g, x, y, n) => { for (let i = 0; i < n; i++) dx[i] = g[i] * ((-0.5 * y[i]) / x[i]); },
  // the derivative at 0 is taken as 0 (the subgradient PyTorch uses)
  abs: (dx, g, x, _y, n) => { for (let i = 0; i < n; i++) dx[i] = g[i] * Math.sign(x[i]); },
  tanh: (dx, g, _x, y, n) => { for (let i = 0; i < n; i++) dx[i] = g[i] * (1 - y[i] * y[i]); },
  sigmoid: (dx, g, _x, y, n) => { for (let i = 0; i < n; i++) dx[i] = g[i] * (y[i] * (1 - y[i])); },
  relu: (dx, g, x, _y, n) => { for (let i = 0; i < n; i++) dx[i] = g[i] * (x[i] > 0 ? 1 : 0); },
  leakyRelu: (dx, g, x, _y, n, slope) => { for (let i = 0; i < n; i++) dx[i] = g[i] * (x[i] > 0 ? 1 : slope); },
  silu: (dx, g, x, _y, n) => { for (let i = 0; i < n; i++) dx[i] = g[i] * siluSlope(x[i]); },
  gelu: (dx, g, x, _y, n) => { for (let i = 0; i < n; i++) dx[i] = g[i] * geluExactSlope(x[i]); },
};

/** y = op(x) over the first n values. */
export function unaryForward(op: UnaryOp, y: Storage, x: Storage, n: number, slope: number): void {
  forwards[op](y, x, n, slope);
}

/** dx = g·op'(x) over the first n values (written); y is the forward's output. */
export function unaryBackward(op: UnaryOp, dx: Storage, g: Storage, x: Storage, y: Storage, n: number, slope: number): void {
  backwards[op](dx, g, x, y, n, slope);
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
