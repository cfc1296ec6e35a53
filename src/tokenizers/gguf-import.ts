/**
 * A qkv tokenizer from llama.cpp's `tokenizer.ggml.*` metadata, for GGUF files other producers
 * wrote (no embedded `tokenizer.huggingface.json`). Model "gpt2" (byte-level BPE: tokens in id
 * order, merges "a b" in rank order) becomes the tokenizer.json a Hugging Face GPT-2 tokenizer
 * has, read by `tokenizerFromJson`; CONTROL (3) and USER_DEFINED (4) tokens become added
 * tokens. Model "llama" (SentencePiece: tokens with scores and token types) becomes
 * ./sentencepiece.ts's tokenizer, llama.cpp's SPM algorithm on the same arrays: pieces merged by
 * score, `<0xNN>` byte fallback, "▁" for spaces and prepended (tokenizer.ggml.add_space_prefix,
 * default true); CONTROL and USER_DEFINED tokens are added tokens, matched in the raw text first
 * (llama.cpp with parse_special); `encode` adds BOS / EOS as tokenizer.ggml.add_bos_token
 * (default true) / add_eos_token (default false) say, `encodeIds` never does. Other models are
 * refused by name.
 *
 * @example const tokenizer = tokenizerFromGgufMetadata(readGguf('m.gguf').metadata, 'm.gguf');
 */
import type { GgufReadValue } from '../io/gguf-format.ts';
import { QkvFormatError } from '../io/errors.ts';
import { TemplateProcessing, type TemplateItem } from './post-processor.ts';
import { SentencePieceBpeModel, SentencePieceDecoder, SentencePieceNormalizer } from './sentencepiece.ts';
import { tokenizerFromJson } from './tokenizer-json.ts';
import { Tokenizer, type AddedToken } from './tokenizer.ts';

const CONTROL = 3;
const USER_DEFINED = 4;

function stringArray(metadata: Map<string, GgufReadValue>, key: string, file: string): string[] {
  const value = metadata.get(key);
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new QkvFormatError(file, 'missing, or not an array of strings', `metadata "${key}"`);
  return value as string[];
}

/** The tokenizer.json object of a "gpt2" GGUF vocabulary. */
export function gpt2TokenizerJsonFromGguf(metadata: Map<string, GgufReadValue>, file: string): Record<string, unknown> {
  const tokens = stringArray(metadata, 'tokenizer.ggml.tokens', file);
  const merges = stringArray(metadata, 'tokenizer.ggml.merges', file);
  const typesValue = metadata.get('tokenizer.ggml.token_type');
  const types = Array.isArray(typesValue) ? typesValue.map(Number) : [];
  if (types.length !== 0 && types.length !== tokens.length) throw new QkvFormatError(file, `${types.length} types for ${tokens.length} tokens`, 'metadata "tokenizer.ggml.token_type"');
  const vocab: Record<string, number> = {};
  const added: Record<string, unknown>[] = [];
  tokens.forEach((token, id) => {
    if (types[id] === CONTROL || types[id] === USER_DEFINED) {
      added.push({ id, content: token, single_word: false, lstrip: false, rstrip: false, normalized: false, special: types[id] === CONTROL });
    } else vocab[token] ??= id;
  });
  for (const [rank, merge] of merges.entries()) {
    if (merge.split(' ').length !== 2) throw new QkvFormatError(file, `merge ${rank} is ${JSON.stringify(merge)}, not "left right"`, 'metadata "tokenizer.ggml.merges"');
  }
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0', truncation: null, padding: null, added_tokens: added, normalizer: null,
    pre_tokenizer: byteLevel, post_processor: { ...byteLevel, trim_offsets: false }, decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
}

const UNKNOWN = 2;

function numberArray(metadata: Map<string, GgufReadValue>, key: string, file: string, length: number): number[] | null {
  const value = metadata.get(key);
  if (value === undefined) return null;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'number')) throw new QkvFormatError(file, 'not an array of numbers', `metadata "${key}"`);
  if (value.length !== length) throw new QkvFormatError(file, `${value.length} entries for ${length} tokens`, `metadata "${key}"`);
  return value as number[];
}

function optionalId(metadata: Map<string, GgufReadValue>, key: string, file: string, vocabSize: number): number | null {
  const value = metadata.get(key);
  if (value === undefined) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= vocabSize) throw new QkvFormatError(file, `expected a token id below ${vocabSize}, found ${JSON.stringify(String(value))}`, `metadata "${key}"`);
  return value;
}

function optionalFlag(metadata: Map<string, GgufReadValue>, key: string, file: string, fallback: boolean): boolean {
  const value = metadata.get(key);
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new QkvFormatError(file, `expected a boolean, found ${JSON.stringify(String(value))}`, `metadata "${key}"`);
  return value;
}

/** The tokenizer of a "llama" (SentencePiece) GGUF vocabulary, as llama.cpp's SPM tokenizer reads it. */
export function llamaTokenizerFromGguf(metadata: Map<string, GgufReadValue>, file: string): Tokenizer {
  const tokens = stringArray(metadata, 'tokenizer.ggml.tokens', file);
  const scores = numberArray(metadata, 'tokenizer.ggml.scores', file, tokens.length) ?? new Array(tokens.length).fill(0);
  const types = numberArray(metadata, 'tokenizer.ggml.token_type', file, tokens.length) ?? new Array(tokens.length).fill(1);
  // llama.cpp's SPM defaults: <unk> 0, <s> 1, </s> 2 where the file names none
  const id = (key: string, fallback: number | null): number | null => optionalId(metadata, `tokenizer.ggml.${key}`, file, tokens.length) ?? (fallback !== null && fallback < tokens.length ? fallback : null);
  const unkId = id('unknown_token_id', types.indexOf(UNKNOWN) >= 0 ? types.indexOf(UNKNOWN) : 0);
  const bosId = id('bos_token_id', 1);
  const eosId = id('eos_token_id', 2);
  const addSpacePrefix = optionalFlag(metadata, 'tokenizer.ggml.add_space_prefix', file, true);
  const addBos = optionalFlag(metadata, 'tokenizer.ggml.add_bos_token', file, true);
  const addEos = optionalFlag(metadata, 'tokenizer.ggml.add_eos_token', file, false);
  const addedTokens: AddedToken[] = [];
  tokens.forEach((content, tokenId) => {
    if ((types[tokenId] === CONTROL || types[tokenId] === USER_DEFINED) && content.length > 0) addedTokens.push({ id: tokenId, content, special: types[tokenId] === CONTROL });
  });
  const specials = new Map<string, number>();
  const single: TemplateItem[] = [];
  if (addBos && bosId !== null) {
    specials.set(tokens[bosId], bosId);
    single.push({ special: tokens[bosId], typeId: 0 });
  }
  single.push({ sequence: 'A', typeId: 0 });
  if (addEos && eosId !== null) {
    specials.set(tokens[eosId], eosId);
    single.push({ special: tokens[eosId], typeId: 0 });
  }
  const pair: TemplateItem[] = [...single, ...single.map((item) => ({ ...item, typeId: 1 }))].map((item) => ('sequence' in item && item.typeId === 1 ? { sequence: 'B' as const, typeId: 1 } : item));
  return new Tokenizer({
    model: new SentencePieceBpeModel(tokens, scores, { unkId, tokenTypes: types }),
    normalizer: new SentencePieceNormalizer(addSpacePrefix),
    postProcessor: new TemplateProcessing(single, pair, specials),
    decoder: new SentencePieceDecoder(addSpacePrefix),
    addedTokens,
  });
}

/** The tokenizer of a GGUF file's `tokenizer.ggml.*` keys; errors name the file and key. */
export function tokenizerFromGgufMetadata(metadata: Map<string, GgufReadValue>, file: string): Tokenizer {
  const model = metadata.get('tokenizer.ggml.model');
  if (model === 'llama') return llamaTokenizerFromGguf(metadata, file);
  if (model !== 'gpt2') throw new QkvFormatError(file, `tokenizer model ${JSON.stringify(model)} is not imported (only "gpt2", byte-level BPE, and "llama", SentencePiece)`, 'metadata "tokenizer.ggml.model"');
  return tokenizerFromJson(gpt2TokenizerJsonFromGguf(metadata, file) as never, `${file} (tokenizer.ggml.*)`);
}
