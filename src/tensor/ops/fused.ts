/**
 * Fused ops: one pass over memory where the composition of plain ops would make several, each
 * meaning exactly that composition (the tests hold them to it).
 *
 *   biasGelu(x, bias) = gelu(add(x, bias), 'tanh')   the MLP's first projection after its x·W
 *
 * Float32 runs on the chosen kernel backend (src/kernels/index.ts); float64 on the TypeScript
 * reference (src/kernels/reference/activation.ts).
 *
 * Legend: N = rows (all axes but the last), C = channels (the last axis; the MLP's 4·n_embd).
 */
import { biasGeluBackward, biasGeluForward } from '../../kernels/index.ts';
import { attachGrad } from '../autograd.ts';
import { QkvShapeError, formatShape } from '../errors.ts';
import { allocate, allocateOverwritten, Tensor, type DType, type Storage } from '../tensor.ts';
import { readDense } from './strided.ts';

/**
 * GPT-2's tanh GELU of x + bias, bias (C) broadcast over the rows of x (..., C): what
 * `gelu(add(x, bias), 'tanh')` computes, without materialising x + bias, and with one backward
 * giving both gradients (dx = g·gelu'(x + bias), dbias = Σ_rows dx).
 *
 * @example const h = biasGelu(matmul(x, c_fc.weight), c_fc.bias); // (B,T,C)·(C,4C) → (B,T,4C)
 */
export function biasGelu(x: Tensor, bias: Tensor): Tensor {
  if (x.ndim === 0) throw new QkvShapeError('biasGelu: input must have at least one axis, got shape ()');
  const C = x.shape[x.ndim - 1];
  if (bias.ndim !== 1 || bias.shape[0] !== C) {
    throw new QkvShapeError(`biasGelu: bias must have shape (${C}) for input ${formatShape(x.shape)}, got ${formatShape(bias.shape)}`);
  }
  const N = C === 0 ? 0 : x.size / C;
  // As add's broadcasting would: float64 if either operand is.
  const dtype: DType = x.dtype === 'float64' || bias.dtype === 'float64' ? 'float64' : 'float32';
  const input = readDense(x);
  const biasData = readDense(bias);
  const out = allocateOverwritten(dtype, x.size); // written whole by the kernel
  biasGeluForward(out, input, biasData, N, C);

  return attachGrad(new Tensor(out, x.shape), 'biasGelu', [x, bias], (grad, needs) => {
    const g = readDense(grad);
    const dx = needs[0] ? allocateOverwritten(grad.dtype, x.size) : null; // written, not accumulated
    const dbias = needs[1] ? new Float64Array(C) : null;
    biasGeluBackward(dx, dbias, g, input, biasData, N, C);
    let biasGrad: Tensor | null = null;
    if (dbias !== null) {
      const values = allocate(bias.dtype, C);
      values.set(dbias);
      biasGrad = new Tensor(values, bias.shape);
    }
    return [dx && new Tensor(dx, x.shape), biasGrad];
  });
}
