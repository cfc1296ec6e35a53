/**
 * Neural-network building blocks: `Module` and its parameters, layers, containers,
 * activations and initialisers. See `module.ts` for how parameters are named.
 */
export { Module, type StateDict, type LoadStateDictResult } from './module.ts';
export { Parameter, Buffer } from './parameter.ts';
export { ModuleList } from './module-list.ts';
export { Sequential, type UnaryModule } from './sequential.ts';
export { Linear, type LinearOptions } from './linear.ts';
export { Embedding, type EmbeddingOptions } from './embedding.ts';
export {
  LayerNorm,
  RMSNorm,
  BatchNorm1d,
  type LayerNormOptions,
  type RMSNormOptions,
  type BatchNorm1dOptions,
} from './norm.ts';
export { Dropout } from './dropout.ts';
export { ReLU, LeakyReLU, GELU, SiLU, Tanh, Sigmoid, Identity } from './activations.ts';
export * as init from './init.ts';
export { scaledDotProductAttention, attentionWeightsFromScores, repeatKeyValueHeads, causalMask, type AttentionOptions, type AttentionResult } from './attention.ts';
export { MultiHeadAttention, attendHeads, type LayerCache, type MultiHeadAttentionOptions, type MultiHeadAttentionForwardOptions, type AttendHeadsOptions } from './multi-head-attention.ts';
export { applyRotaryEmbedding, sinusoidalPositionEncoding, alibiSlopes, ALiBi, relativePositionBucket, RelativePositionBias, POSITION_SCHEMES, type PositionScheme, type AttentionBiasProvider, type RelativePositionBiasOptions } from './positions.ts';
export { AdditiveAttention, type AdditiveAttentionOptions, type AdditiveAttentionForwardOptions, type AdditiveAttentionResult } from './additive-attention.ts';
export { AdaptiveLogSoftmaxWithLoss, type AdaptiveSoftmaxOptions, type AdaptiveSoftmaxOutput } from './adaptive-softmax.ts';
