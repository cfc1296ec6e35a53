/** Text generation: sampling settings, logits processors, the sampler, stop rules and the streaming loop. */
export {
  DEFAULT_NEW_TOKENS,
  isGreedy,
  newTokenLimit,
  resolveGenerationConfig,
  type GenerationConfig,
  type ResolvedGenerationConfig,
} from './config.ts';
export {
  applyRepetitionPenalty,
  applyTemperature,
  applyTopK,
  applyTopP,
  logSoftmax,
  processLogits,
  softmax,
  suppressEosUntilMinTokens,
} from './logits-processors.ts';
export { argmax, sampleNextToken, tokenLogProb } from './sampler.ts';
export { StopMatcher, stopTokenPredicate, type StopMatch } from './stop.ts';
export { IncrementalDecoder } from './incremental-decoder.ts';
export {
  generate,
  generateStream,
  type FinishReason,
  type GenerateOptions,
  type GeneratedPiece,
  type GenerationResult,
} from './stream.ts';
