/**
 * Elementwise ops with NumPy broadcasting. Each forward is followed by its backward:
 * binary ops reduce the broadcast gradient back to each input's shape (`reduceToShape`); unary
 * ops multiply the incoming gradient by the local derivative, written from x and/or y = f(x).
 *
 * add/sub/mul/div run through `arithmetic` (./broadcast.ts), unary ops through `unaryKernels`
 * below: one kernel per op over dense storage (src/kernels), so the backward computes grad·f'(x)
 * in a single pass, with no derivative tensor and no call per element.
 */
import { geluTanhBackward, geluTanhForward, unaryBackward, unaryForward } from '../../kernels/index.ts';
import { geluTanhExp, geluTanhSlope } from '../../kernels/reference/activation.ts';
import { erf, UNARY_OPS, type UnaryOp as KernelUnaryOp } from '../../kernels/reference/unary.ts';
import { attachGrad } from '../autograd.ts';
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
 * One unary op as two kernels over dense storage (src/kernels: native for float32, the loops of
 * `src/kernels/reference/unary.ts` the oracle): forward y[i] = f(x[i]), and backward
 * dx[i] = g[i]·f'(x[i]), the derivative written from x and/or the forward's y. `slope` is
 * leakyRelu's negative slope.
 */
interface UnaryKernel {
  forward(y: Storage, x: Storage, n: number, slope: number): void;
  backward(dx: Storage, g: Storage, x: Storage, y: Storage, n: number, slope: number): void;
}

function kernelOf(op: KernelUnaryOp): UnaryKernel {
  return {
    forward: (y, x, n, slope) => unaryForward(op, y, x, n, slope),
    backward: (dx, g, x, y, n, slope) => unaryBackward(op, dx, g, x, y, n, slope),
  };
}

const unaryKernels = {
  ...Object.fromEntries(UNARY_OPS.map((op) => [op, kernelOf(op)])) as Record<KernelUnaryOp, UnaryKernel>,
  geluTanh: {
    // GPT-2's tanh GELU has its own kernels (float32 on the chosen backend, float64 the reference).
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
  kernel.forward(output, input, n, slope);
  return attachGrad(new Tensor(output, x.shape), name, [x], (grad) => {
    const gradX = allocate(resultDtype(grad, x), n);
    kernel.backward(gradX, readDense(grad), input, output, n, slope);
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

// GPT-2's tanh GELU (through e = exp(2u)) and the exact GELU's erf live with their kernels in
// src/kernels/reference (activation.ts, unary.ts).
export { erf, geluTanhExp, geluTanhSlope };
