/**
 * Rotary position embedding (RoPE) as one differentiable op on the fused kernel
 * (src/kernels: native rope.cc, `src/kernels/reference/rope.ts` the oracle), Hugging Face
 * Llama's rotate_half convention:
 *
 *   out[..., i]        = x[..., i] · cos − x[..., i + hs/2] · sin
 *   out[..., i + hs/2] = x[..., i + hs/2] · cos + x[..., i] · sin
 *
 * Legend: B = batch, NH = heads, T = time, hs = head size. x (B, NH, T, hs) in any layout whose
 * last axis is dense is read in place (q and k are heads split out of (B, T, NH, hs), a
 * transposed view); out is contiguous. The backward is the same rotation by −angle: a rotation's
 * transpose is its inverse. The tables are constants (no gradient).
 */
import { rotaryEmbedding as rotaryKernel } from '../../kernels/index.ts';
import { attachGrad } from '../autograd.ts';
import { QkvShapeError, formatShape } from '../errors.ts';
import { allocateOverwritten, Tensor } from '../tensor.ts';

/** x's B, NH, T strides and offset when its last axis is dense; else those of a contiguous copy. */
function denseLastAxis(x: Tensor): { data: Tensor['data']; offset: number; strideB: number; strideH: number; strideT: number } {
  const view = x.shape[3] <= 1 || x.strides[3] === 1 ? x : x.contiguous();
  return { data: view.data, offset: view.offset, strideB: view.strides[0], strideH: view.strides[1], strideT: view.strides[2] };
}

/**
 * RoPE of x (B, NH, T, hs) by the rows position … position + T − 1 of the constant tables
 * cos, sin (rows, hs/2), contiguous and of x's dtype.
 *
 * @example const qRotated = rotaryEmbedding(q, cos, sin, cache.length); // (B, NH, T, hs)
 */
export function rotaryEmbedding(x: Tensor, cos: Tensor, sin: Tensor, position: number): Tensor {
  if (x.ndim !== 4 || x.shape[3] % 2 !== 0) throw new QkvShapeError(`rotaryEmbedding: expected x (B,NH,T,hs) with an even hs, got ${formatShape(x.shape)}`);
  const [B, NH, T, hs] = x.shape;
  const half = hs / 2;
  for (const [name, table] of [['cos', cos], ['sin', sin]] as const) {
    if (table.ndim !== 2 || table.shape[1] !== half || table.shape[0] < position + T || !table.isContiguous() || table.offset !== 0 || table.dtype !== x.dtype) {
      throw new QkvShapeError(`rotaryEmbedding: ${name} must be a contiguous ${x.dtype} (≥ ${position + T}, ${half}) table, got ${table.dtype} ${formatShape(table.shape)}`);
    }
  }
  const rotate = (input: Tensor, inverse: boolean): Tensor => {
    const out = allocateOverwritten(input.dtype, B * NH * T * hs);
    const { data, ...layout } = denseLastAxis(input);
    rotaryKernel(out, data, cos.data, sin.data, { B, NH, T, hs, ...layout, position, inverse });
    return new Tensor(out, [B, NH, T, hs]);
  };
  return attachGrad(rotate(x, false), 'rotaryEmbedding', [x], (grad) => [rotate(grad, true)]);
}
