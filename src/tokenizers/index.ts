/**
 * Tokenizers: byte-level BPE (GPT-2 exact), WordPiece (BERT), SentencePiece-style BPE with byte
 * fallback (Llama / Mistral `tokenizer.json`) and character-level, trainable, in Hugging Face's
 * pipeline shape, reading and writing `tokenizer.json`.
 *
 * ```ts
 * import { loadGpt2Tokenizer, trainBpe, trainWordPiece, saveTokenizer, loadTokenizer } from 'qkv/tokenizers';
 * loadGpt2Tokenizer().encodeIds('Hello world');                 // [15496, 995]
 * const bpe = trainBpe([corpus], { vocabSize: 4000 });
 * saveTokenizer(bpe, 'out/');                                   // out/tokenizer.json
 * ```
 */
export { BYTE_TO_CHAR, byteLevelAlphabet, decodeWtf8, toByteLevel, wtf8Length } from './byte-level.ts';
export { BpeModel, type BpeOptions } from './bpe.ts';
export { CHAT_SPECIAL_TOKENS, trainBpe, type BpeTrainerOptions } from './bpe-trainer.ts';
export { charTokenizerFromAlphabet, trainCharTokenizer, type CharTokenizerOptions } from './char.ts';
export {
  ByteFallbackDecoder,
  ByteLevelDecoder,
  cleanupTokenizationSpaces,
  FuseDecoder,
  MetaspaceDecoder,
  ReplaceDecoder,
  SequenceDecoder,
  StripDecoder,
  WordPieceDecoder,
  type ChainDecoder,
  type Decoder,
} from './decoder.ts';
export { QkvFormatError } from './errors.ts';
export { buildGpt2Tokenizer, GPT2_EOS, loadGpt2Tokenizer, resolveGpt2Files } from './gpt2.ts';
export type { TokenizerModel } from './model.ts';
export {
  BertNormalizer,
  LowercaseNormalizer,
  PrependNormalizer,
  ReplaceNormalizer,
  SequenceNormalizer,
  StripAccentsNormalizer,
  UnicodeNormalizer,
  cleanText,
  isCjkIdeograph,
  stripAccents,
  type BertNormalizerOptions,
  type Normalizer,
} from './normalizer.ts';
export { ByteLevelPostProcessor, TemplateProcessing, type PostProcessor, type TemplateItem } from './post-processor.ts';
export {
  BertPreTokenizer,
  ByteLevelPreTokenizer,
  GPT2_SPLIT_PATTERN,
  MetaspacePreTokenizer,
  WhitespaceSplitPreTokenizer,
  type MetaspaceOptions,
  type PrependScheme,
  type PreTokenizer,
} from './pretokenize.ts';
export { bytesPerToken, outOfVocabularyRate, unknownWordRate, wordLevelVocabulary } from './stats.ts';
export { Tokenizer, type AddedToken, type Encoding, type PaddingOptions, type TokenizerParts, type TruncationOptions } from './tokenizer.ts';
export { loadTokenizer, saveTokenizer, tokenizerFromJson, tokenizerToJson } from './tokenizer-json.ts';
export { BERT_SPECIAL_TOKENS, trainWordPiece, type WordPieceTrainerOptions } from './wordpiece-trainer.ts';
export { WordPieceModel, type WordPieceOptions } from './wordpiece.ts';
