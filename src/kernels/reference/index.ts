/**
 * The reference backend: every kernel of `KernelBackend` as plain TypeScript over any storage.
 * Float64 always runs here; float32 does when `QKV_KERNELS=reference`.
 */
import type { KernelBackend } from '../backend.ts';
import type { Storage } from '../types.ts';
import { biasGeluBackward, biasGeluForward, geluTanhBackward, geluTanhForward } from './activation.ts';
import { adamUpdate } from './adam.ts';
import { attentionBackward, attentionForward } from './attention.ts';
import { crossEntropyBackward, crossEntropyForward } from './crossentropy.ts';
import { embeddingGather, embeddingScatterAdd } from './embedding.ts';
import { stridedElementwise } from './elementwise.ts';
import { axisMoments, axisSums, columnSums, rowMax, rowSums, sumOfSquares } from './reduce.ts';
import { matmulReference } from './matmul.ts';
import { logSoftmaxBackward, logSoftmaxForward, softmaxBackward, softmaxForward } from './softmax.ts';
import { rotaryEmbedding } from './rope.ts';
import { unaryBackward, unaryForward } from './unary.ts';
import { layerNormBackward, layerNormForward, rmsNormBackward, rmsNormForward } from './norm.ts';

export const referenceBackend: KernelBackend<Storage> = {
  name: 'reference',
  matmul: matmulReference,
  attentionForward,
  attentionBackward,
  rotaryEmbedding,
  geluTanhForward,
  geluTanhBackward,
  biasGeluForward,
  biasGeluBackward,
  layerNormForward,
  layerNormBackward,
  rmsNormForward,
  rmsNormBackward,
  crossEntropyForward,
  crossEntropyBackward,
  adamUpdate,
  embeddingGather,
  embeddingScatterAdd,
  columnSums,
  axisSums,
  axisMoments,
  rowSums,
  rowMax,
  sumOfSquares,
  unaryForward,
  unaryBackward,
  softmaxForward,
  softmaxBackward,
  logSoftmaxForward,
  logSoftmaxBackward,
  elementwise: stridedElementwise,
};
