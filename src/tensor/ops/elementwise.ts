/**
 * Elementwise ops with NumPy broadcasting. Each forward is followed by its backward:
 * binary ops reduce the broadcast gradient back to each input's shape (`sumToShape`); unary
 * ops multiply the incoming gradient by the local derivative, written from x and/or y = f(x).
 */
import { attachGrad } from '../autograd.ts';
import { Tensor } from '../tensor.ts';
import { mapBinary, mapUnary, sumToShape } from './broadcast.ts';

function asTensor(value: Tensor | number, like: Tensor): Tensor {
  return typeof value === 'number' ? Tensor.scalar(value, { dtype: like.dtype }) : value;
}

// ---- binary --------------------------------------------------------------------------------

export function add(a: Tensor, bValue: Tensor | number): Tensor {
  const b = asTensor(bValue, a);
  const out = mapBinary('add', a, b, (x, y) => x + y);
  return attachGrad(out, 'add', [a, b], (grad) => [sumToShape(grad, a.shape), sumToShape(grad, b.shape)]);
}

export function sub(a: Tensor, bValue: Tensor | number): Tensor {
  const b = asTensor(bValue, a);
  const out = mapBinary('sub', a, b, (x, y) => x - y);
  return attachGrad(out, 'sub', [a, b], (grad, needs) => [
    sumToShape(grad, a.shape),
    needs[1] ? sumToShape(neg(grad), b.shape) : null,
  ]);
}

export function mul(a: Tensor, bValue: Tensor | number): Tensor {
  const b = asTensor(bValue, a);
  const out = mapBinary('mul', a, b, (x, y) => x * y);
  return attachGrad(out, 'mul', [a, b], (grad, needs) => [
    needs[0] ? sumToShape(mul(grad, b), a.shape) : null, // d(ab)/da = b
    needs[1] ? sumToShape(mul(grad, a), b.shape) : null, // d(ab)/db = a
  ]);
}

export function div(a: Tensor, bValue: Tensor | number): Tensor {
  const b = asTensor(bValue, a);
  const out = mapBinary('div', a, b, (x, y) => x / y);
  return attachGrad(out, 'div', [a, b], (grad, needs) => [
    needs[0] ? sumToShape(div(grad, b), a.shape) : null, // d(a/b)/da = 1/b
    // d(a/b)/db = -a/b² = -out/b
    needs[1] ? sumToShape(neg(div(mul(grad, out), b)), b.shape) : null,
  ]);
}

/** x^p, elementwise; p a number or a broadcastable tensor. */
export function pow(a: Tensor, exponentValue: Tensor | number): Tensor {
  const p = asTensor(exponentValue, a);
  const out = mapBinary('pow', a, p, (x, y) => Math.pow(x, y));
  return attachGrad(out, 'pow', [a, p], (grad, needs) => [
    // d(x^p)/dx = p·x^(p-1)
    needs[0] ? sumToShape(mul(grad, mapBinary('pow', a, p, (x, y) => (y === 0 ? 0 : y * Math.pow(x, y - 1)))), a.shape) : null,
    // d(x^p)/dp = x^p·ln x; taken as 0 at x = 0, where x^p is flat in p for p > 0
    needs[1] ? sumToShape(mul(grad, mapBinary('pow', out, a, (y, x) => (x === 0 ? 0 : y * Math.log(x)))), p.shape) : null,
  ]);
}

// ---- unary ---------------------------------------------------------------------------------

/** y = f(x) with dy/dx = derivative(x, y). */
function unary(name: string, x: Tensor, forward: (x: number) => number, derivative: (x: number, y: number) => number): Tensor {
  const out = mapUnary(x, forward);
  return attachGrad(out, name, [x], (grad) => {
    const local = mapBinary(name, x, out, derivative);
    return [mul(grad, local)];
  });
}

export function neg(x: Tensor): Tensor {
  const out = mapUnary(x, (v) => -v);
  return attachGrad(out, 'neg', [x], (grad) => [neg(grad)]);
}

export function exp(x: Tensor): Tensor {
  return unary('exp', x, Math.exp, (_x, y) => y);
}

export function log(x: Tensor): Tensor {
  return unary('log', x, Math.log, (v) => 1 / v);
}

export function sqrt(x: Tensor): Tensor {
  return unary('sqrt', x, Math.sqrt, (_x, y) => 0.5 / y);
}

/** 1/√x */
export function rsqrt(x: Tensor): Tensor {
  return unary('rsqrt', x, (v) => 1 / Math.sqrt(v), (v, y) => (-0.5 * y) / v);
}

/** |x|; the derivative at 0 is taken as 0 (the subgradient PyTorch uses). */
export function abs(x: Tensor): Tensor {
  return unary('abs', x, Math.abs, (v) => Math.sign(v));
}

export function tanh(x: Tensor): Tensor {
  return unary('tanh', x, Math.tanh, (_x, y) => 1 - y * y);
}

export function sigmoid(x: Tensor): Tensor {
  return unary('sigmoid', x, sigmoidScalar, (_x, y) => y * (1 - y));
}

export function relu(x: Tensor): Tensor {
  return unary('relu', x, (v) => (v > 0 ? v : 0), (v) => (v > 0 ? 1 : 0));
}

export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return unary('leakyRelu', x, (v) => (v > 0 ? v : negativeSlope * v), (v) => (v > 0 ? 1 : negativeSlope));
}

/** x·σ(x) (also called swish). */
export function silu(x: Tensor): Tensor {
  return unary('silu', x, (v) => v * sigmoidScalar(v), (v) => {
    const s = sigmoidScalar(v);
    return s * (1 + v * (1 - s));
  });
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2 = 1 / Math.SQRT2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * GELU. `'none'`: exact x·Φ(x) with Φ the normal CDF (via erf). `'tanh'`: GPT-2's approximation
 * 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), what Hugging Face calls `gelu_new`.
 */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  if (approximate === 'tanh') {
    return unary(
      'gelu',
      x,
      (v) => 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v))),
      (v) => {
        const inner = SQRT_2_OVER_PI * (v + 0.044715 * v * v * v);
        const t = Math.tanh(inner);
        const dInner = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * v * v);
        return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * dInner;
      },
    );
  }
  return unary(
    'gelu',
    x,
    (v) => 0.5 * v * (1 + erf(v * INV_SQRT_2)),
    (v) => 0.5 * (1 + erf(v * INV_SQRT_2)) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v),
  );
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
