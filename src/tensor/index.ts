/**
 * The tensor engine: `Tensor` with reverse-mode autograd, the ops as functions (each also a
 * Tensor method where it reads naturally), the seeded RNG, typed errors and gradient checking.
 */
export { Tensor, allocate, dtypeOf, type DType, type Storage, type TensorOptions, type IndexLike, type NestedArray } from './tensor.ts';
export { noGrad, enableGrad, isGradEnabled, type BackwardOptions, type GradFn } from './autograd.ts';
export { Rng, defaultRng, manualSeed, type RngState } from './random.ts';
export { QkvError, QkvShapeError, QkvValueError, QkvStateDictError, formatShape } from './errors.ts';
export { gradcheck, type GradcheckOptions, type GradcheckResult } from './gradcheck.ts';
export * from './ops/elementwise.ts';
export { sum, mean, variance, max } from './ops/reduce.ts';
export { reshape, view, permute, transpose, expand, narrow, slice, squeeze, unsqueeze, flatten, split, concat, stack } from './ops/shape.ts';
export { indexSelect, embedding, where, maskedFill } from './ops/indexing.ts';
export { matmul } from './ops/matmul.ts';
export { softmax, logSoftmax } from './ops/softmax.ts';
export { crossEntropy, mseLoss, binaryCrossEntropyWithLogits, type CrossEntropyOptions, type Reduction } from './ops/loss.ts';
export { layerNorm, rmsNorm, batchNorm } from './ops/norm.ts';
export { dropout } from './ops/dropout.ts';
export { inferenceScope } from './buffer-pool.ts';
