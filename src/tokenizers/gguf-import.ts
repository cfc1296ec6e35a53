/**
 * A qkv tokenizer from llama.cpp's `tokenizer.ggml.*` metadata, for GGUF files other producers
 * wrote (no embedded `tokenizer.huggingface.json`). Model "gpt2" (byte-level BPE: tokens in id
 * order, merges "a b" in rank order) becomes the tokenizer.json a Hugging Face GPT-2 tokenizer
 * has, read by `tokenizerFromJson`; CONTROL (3) and USER_DEFINED (4) tokens become added
 * tokens. Other models (llama.cpp's "llama" SentencePiece vocabulary) are refused by name.
 *
 * @example const tokenizer = tokenizerFromGgufMetadata(readGguf('m.gguf').metadata, 'm.gguf');
 */
import type { GgufReadValue } from '../io/gguf-format.ts';
import { QkvFormatError } from '../io/errors.ts';
import { tokenizerFromJson } from './tokenizer-json.ts';
import type { Tokenizer } from './tokenizer.ts';

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

/** The tokenizer of a GGUF file's `tokenizer.ggml.*` keys; errors name the file and key. */
export function tokenizerFromGgufMetadata(metadata: Map<string, GgufReadValue>, file: string): Tokenizer {
  const model = metadata.get('tokenizer.ggml.model');
  if (model !== 'gpt2') throw new QkvFormatError(file, `tokenizer model ${JSON.stringify(model)} is not imported (only "gpt2", byte-level BPE)`, 'metadata "tokenizer.ggml.model"');
  return tokenizerFromJson(gpt2TokenizerJsonFromGguf(metadata, file) as never, `${file} (tokenizer.ggml.*)`);
}
