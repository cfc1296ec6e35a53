/**
 * The wasm backend: the AssemblyScript kernels (src/kernels/assembly, compiled to
 * build/wasm/*.wasm) behind `KernelBackend`, float32 only. Operands are copied into the shared
 * wasm memory and back (see ./runtime.ts); large matmuls and attention run on the worker pool.
 */
import type { KernelBackend } from '../backend.ts';
import { geluTanhBackwardWasm, geluTanhForwardWasm } from './activation.ts';
import { adamUpdateWasm } from './adam.ts';
import { attentionBackwardWasm, attentionForwardWasm } from './attention.ts';
import { biasGeluBackwardWasm, biasGeluForwardWasm } from './bias-gelu.ts';
import { crossEntropyBackwardWasm, crossEntropyForwardWasm } from './crossentropy.ts';
import { embeddingGatherWasm, embeddingScatterAddWasm } from './embedding.ts';
import { matmulWasm } from './matmul.ts';
import { layerNormBackwardWasm, layerNormForwardWasm } from './norm.ts';
import { rmsNormBackwardWasm, rmsNormForwardWasm } from './rmsnorm.ts';
import { stridedElementwise } from '../reference/elementwise.ts';
import { axisMoments, axisSums, columnSums, rowMax, rowSums, sumOfSquares } from '../reference/reduce.ts';
import { logSoftmaxBackward, logSoftmaxForward, softmaxBackward, softmaxForward } from '../reference/softmax.ts';
import { rotaryEmbedding } from '../reference/rope.ts';
import { unaryBackward, unaryForward } from '../reference/unary.ts';

export const wasmBackend: KernelBackend = {
  name: 'wasm',
  matmul: matmulWasm,
  attentionForward: attentionForwardWasm,
  attentionBackward: attentionBackwardWasm,
  geluTanhForward: (y, x, n) => geluTanhForwardWasm(y, x, null, n),
  geluTanhBackward: geluTanhBackwardWasm,
  biasGeluForward: biasGeluForwardWasm,
  biasGeluBackward: biasGeluBackwardWasm,
  layerNormForward: layerNormForwardWasm,
  layerNormBackward: layerNormBackwardWasm,
  rmsNormForward: rmsNormForwardWasm,
  rmsNormBackward: rmsNormBackwardWasm,
  crossEntropyForward: crossEntropyForwardWasm,
  crossEntropyBackward: crossEntropyBackwardWasm,
  adamUpdate: adamUpdateWasm,
  embeddingGather: embeddingGatherWasm,
  embeddingScatterAdd: embeddingScatterAddWasm,
  // No wasm kernels: a copy into wasm memory and back would cost what the loop does.
  rotaryEmbedding,
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
