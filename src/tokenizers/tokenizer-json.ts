/**
 * Hugging Face `tokenizer.json`: read and write, for BPE and WordPiece tokenizers.
 * Field names are Hugging Face's (`added_tokens`, `normalizer`, `pre_tokenizer`, `model`,
 * `post_processor`, `decoder`, `truncation`, `padding`), so files interchange with
 * `tokenizers` (Rust/Python) and `@huggingface/tokenizers` (JS). Every field is checked;
 * a malformed file gives a `QkvFormatError` naming the file and the field.
 * Supported parts: normalizers BertNormalizer, NFC/NFD/NFKC/NFKD, Lowercase, StripAccents,
 * Prepend, Replace (string patterns), Sequence; pre-tokenizers ByteLevel, BertPreTokenizer,
 * WhitespaceSplit, Metaspace; models BPE (no affixes; byte_fallback and fuse_unk as in Llama's
 * files) and WordPiece; post-processors TemplateProcessing, BertProcessing, ByteLevel; decoders
 * ByteLevel, WordPiece, Fuse, Replace, ByteFallback, Strip, Metaspace, Sequence. So the
 * SentencePiece-style files of Llama / Mistral / TinyLlama load in both their forms: the legacy
 * one (normalizer Prepend("▁") + Replace(" ", "▁"), no pre-tokenizer) and the newer one
 * (pre-tokenizer Metaspace, decoder Metaspace). Anything else is named in
 * the error. Added tokens are matched in the raw text; their `lstrip`, `rstrip`,
 * `single_word` and `normalized` flags are read as false.
 *
 * ```ts
 * saveTokenizer(tokenizer, 'out/');          // writes out/tokenizer.json
 * const again = loadTokenizer('out/');       // same ids
 * ```
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BpeModel } from './bpe.ts';
import {
  ByteFallbackDecoder,
  ByteLevelDecoder,
  type Decoder,
  FuseDecoder,
  MetaspaceDecoder,
  ReplaceDecoder,
  SequenceDecoder,
  StripDecoder,
  WordPieceDecoder,
} from './decoder.ts';
import { formatError } from './errors.ts';
import { type JsonObject, JsonReader } from './json-reader.ts';
import type { TokenizerModel } from './model.ts';
import {
  BertNormalizer,
  LowercaseNormalizer,
  type Normalizer,
  PrependNormalizer,
  ReplaceNormalizer,
  SequenceNormalizer,
  StripAccentsNormalizer,
  UnicodeNormalizer,
} from './normalizer.ts';
import { ByteLevelPostProcessor, type PostProcessor, type TemplateItem, TemplateProcessing } from './post-processor.ts';
import { BertPreTokenizer, ByteLevelPreTokenizer, MetaspacePreTokenizer, type PrependScheme, type PreTokenizer, WhitespaceSplitPreTokenizer } from './pretokenize.ts';
import { type AddedToken, Tokenizer } from './tokenizer.ts';
import { WordPieceModel } from './wordpiece.ts';

/** The tokenizer as a `tokenizer.json` object. */
export function tokenizerToJson(tokenizer: Tokenizer): JsonObject {
  const truncation = tokenizer.truncation;
  const padding = tokenizer.padding;
  return {
    version: '1.0',
    truncation:
      truncation === null
        ? null
        : {
            direction: truncation.direction === 'right' ? 'Right' : 'Left',
            max_length: truncation.maxLength,
            strategy: { longest_first: 'LongestFirst', only_first: 'OnlyFirst', only_second: 'OnlySecond' }[truncation.strategy],
            stride: 0,
          },
    padding:
      padding === null
        ? null
        : {
            strategy: padding.length === undefined ? 'BatchLongest' : { Fixed: padding.length },
            direction: padding.direction === 'right' ? 'Right' : 'Left',
            pad_to_multiple_of: padding.padToMultipleOf ?? null,
            pad_id: padding.padId,
            pad_type_id: padding.padTypeId,
            pad_token: padding.padToken,
          },
    added_tokens: tokenizer.addedTokens.map((t) => ({
      id: t.id,
      content: t.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: t.special,
    })),
    normalizer: tokenizer.normalizer?.toJSON() ?? null,
    pre_tokenizer: tokenizer.preTokenizer?.toJSON() ?? null,
    post_processor: tokenizer.postProcessor?.toJSON() ?? null,
    decoder: tokenizer.decoder?.toJSON() ?? null,
    model: tokenizer.model.toJSON(),
  };
}

/** A tokenizer from a parsed `tokenizer.json`; file names the source in error messages. */
export function tokenizerFromJson(json: unknown, file = 'tokenizer.json'): Tokenizer {
  const r = new JsonReader(file);
  const root = r.object(json, '(root)');
  for (const key of ['model', 'added_tokens']) if (!(key in root)) r.fail(key, 'a field (every tokenizer.json has one)', undefined);
  const model = readModel(r, r.object(root.model, 'model'));
  const addedTokens = r.array(root.added_tokens, 'added_tokens').map((value, i): AddedToken => {
    const field = `added_tokens[${i}]`;
    const token = r.object(value, field);
    return { id: r.index(token.id, `${field}.id`), content: r.string(token.content, `${field}.content`), special: r.boolean(token.special, `${field}.special`, false) };
  });
  const idOf = (token: string, field: string): number =>
    addedTokens.find((t) => t.content === token)?.id ?? model.tokenToId(token) ?? r.fail(field, 'a token in the vocabulary or added_tokens', token);
  const tokenizer = new Tokenizer({
    model,
    normalizer: readNormalizer(r, root.normalizer, 'normalizer'),
    preTokenizer: readPreTokenizer(r, root.pre_tokenizer, 'pre_tokenizer'),
    postProcessor: readPostProcessor(r, root.post_processor, 'post_processor', idOf),
    decoder: readDecoder(r, root.decoder, 'decoder'),
    addedTokens,
  });
  const truncation = r.objectOrNull(root.truncation, 'truncation');
  if (truncation !== null) {
    const strategy = r.oneOf(truncation.strategy ?? 'LongestFirst', 'truncation.strategy', ['LongestFirst', 'OnlyFirst', 'OnlySecond']);
    const direction = r.oneOf(truncation.direction ?? 'Right', 'truncation.direction', ['Right', 'Left']);
    tokenizer.enableTruncation(r.index(truncation.max_length, 'truncation.max_length'), {
      strategy: ({ LongestFirst: 'longest_first', OnlyFirst: 'only_first', OnlySecond: 'only_second' } as const)[strategy],
      direction: direction === 'Right' ? 'right' : 'left',
    });
  }
  const padding = r.objectOrNull(root.padding, 'padding');
  if (padding !== null) {
    let length: number | undefined;
    if (padding.strategy !== 'BatchLongest') length = r.index(r.object(padding.strategy, 'padding.strategy').Fixed, 'padding.strategy.Fixed');
    tokenizer.enablePadding({
      length,
      padId: r.index(padding.pad_id, 'padding.pad_id', 0),
      padTypeId: r.index(padding.pad_type_id, 'padding.pad_type_id', 0),
      padToken: padding.pad_token === undefined ? undefined : r.string(padding.pad_token, 'padding.pad_token'),
      padToMultipleOf: padding.pad_to_multiple_of === null || padding.pad_to_multiple_of === undefined ? undefined : r.index(padding.pad_to_multiple_of, 'padding.pad_to_multiple_of'),
      direction: r.oneOf(padding.direction ?? 'Right', 'padding.direction', ['Right', 'Left']) === 'Right' ? 'right' : 'left',
    });
  }
  return tokenizer;
}

/** `path` is a `tokenizer.json` file or a folder holding one. */
export function loadTokenizer(path: string): Tokenizer {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'tokenizer.json') : path;
  if (!existsSync(file)) throw formatError(file, '(file)', 'a tokenizer.json file', 'no such file');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw formatError(file, '(root)', 'valid JSON', `unparsable text (truncated?): ${(error as Error).message}`);
  }
  return tokenizerFromJson(json, file);
}

/** Writes `tokenizer.json` (into `path` if it is a folder or ends with `/`); returns the file path. */
export function saveTokenizer(tokenizer: Tokenizer, path: string): string {
  const isDirectory = path.endsWith('/') || !path.endsWith('.json') || (existsSync(path) && statSync(path).isDirectory());
  if (isDirectory) mkdirSync(path, { recursive: true });
  const file = isDirectory ? join(path, 'tokenizer.json') : path;
  writeFileSync(file, JSON.stringify(tokenizerToJson(tokenizer), null, 2) + '\n');
  return file;
}

/** model.vocab as token → id and its inverse, id → token; each id must be used once. */
function readVocab(r: JsonReader, value: unknown, field: string): { vocab: Map<string, number>; tokens: string[] } {
  const vocab = new Map<string, number>();
  // id → token, doubling as the "id used once" check (a 50k vocabulary: no second Map to build)
  const tokens: string[] = [];
  const object = r.object(value, field);
  for (const token of Object.keys(object)) {
    const id = object[token];
    const index = typeof id === 'number' && Number.isInteger(id) && id >= 0 ? id : r.index(id, `${field}[${JSON.stringify(token)}]`);
    const other = tokens[index];
    if (other !== undefined) r.fail(`${field}[${JSON.stringify(token)}]`, `an id used once`, `!id ${index}, also the id of ${JSON.stringify(other)}`);
    tokens[index] = token;
    vocab.set(token, index);
  }
  return { vocab, tokens };
}

function readModel(r: JsonReader, model: JsonObject): TokenizerModel {
  // Like Hugging Face, an untyped model with merges is BPE.
  const type = model.type ?? ('merges' in model ? 'BPE' : 'WordPiece');
  const kind = r.oneOf(type, 'model.type', ['BPE', 'WordPiece']);
  const { vocab, tokens } = readVocab(r, model.vocab, 'model.vocab');
  if (kind === 'WordPiece') {
    const unkToken = r.string(model.unk_token ?? '[UNK]', 'model.unk_token');
    if (!vocab.has(unkToken)) r.fail('model.unk_token', 'a token in model.vocab', unkToken);
    return new WordPieceModel({
      vocab,
      unkToken,
      continuingSubwordPrefix: r.string(model.continuing_subword_prefix ?? '##', 'model.continuing_subword_prefix'),
      maxInputCharsPerWord: r.index(model.max_input_chars_per_word, 'model.max_input_chars_per_word', 100),
    });
  }
  for (const unsupported of ['continuing_subword_prefix', 'end_of_word_suffix']) {
    const value = r.stringOrNull(model[unsupported], `model.${unsupported}`);
    if (value !== null && value !== '') r.fail(`model.${unsupported}`, 'null (qkv supports BPE without affixes)', value);
  }
  const byteFallback = r.booleanOrNull(model.byte_fallback, 'model.byte_fallback') ?? false;
  const fuseUnk = r.booleanOrNull(model.fuse_unk, 'model.fuse_unk') ?? false;
  const unkToken = r.stringOrNull(model.unk_token, 'model.unk_token');
  if (unkToken !== null && !vocab.has(unkToken)) r.fail('model.unk_token', 'a token in model.vocab', unkToken);
  const merges = r.array(model.merges, 'model.merges');
  // Resolved to ids in one pass (no [left, right] arrays, each token looked up once): the
  // 50k merges of GPT-2 are most of what loading its tokenizer costs.
  const mergeIds = new Int32Array(3 * merges.length);
  for (let i = 0; i < merges.length; i++) {
    const entry = merges[i];
    let left: string;
    let right: string;
    if (typeof entry === 'string') {
      const space = entry.indexOf(' ');
      if (space < 0 || entry.indexOf(' ', space + 1) >= 0) r.fail(`model.merges[${i}]`, 'two tokens separated by one space', entry);
      left = entry.slice(0, space);
      right = entry.slice(space + 1);
    } else {
      const field = `model.merges[${i}]`;
      const pair = r.array(entry, field).map((part, k) => r.string(part, `${field}[${k}]`));
      if (pair.length !== 2) r.fail(field, 'a pair of tokens', entry);
      [left, right] = pair;
    }
    const leftId = vocab.get(left);
    const rightId = vocab.get(right);
    const mergedId = vocab.get(left + right);
    if (leftId === undefined || rightId === undefined || mergedId === undefined) {
      const unknown = leftId === undefined ? left : rightId === undefined ? right : left + right;
      r.fail(`model.merges[${i}]`, 'tokens (and their concatenation) in model.vocab', `!unknown token ${JSON.stringify(unknown)}`);
    }
    mergeIds[3 * i] = leftId;
    mergeIds[3 * i + 1] = rightId;
    mergeIds[3 * i + 2] = mergedId;
  }
  return new BpeModel({ vocab, tokens, mergeIds, unkToken, byteFallback, fuseUnk });
}

function readNormalizer(r: JsonReader, value: unknown, field: string): Normalizer | null {
  const config = r.objectOrNull(value, field);
  if (config === null) return null;
  const type = r.oneOf(config.type, `${field}.type`, ['BertNormalizer', 'Sequence', 'NFC', 'NFD', 'NFKC', 'NFKD', 'Lowercase', 'StripAccents', 'Prepend', 'Replace']);
  switch (type) {
    case 'BertNormalizer':
      return new BertNormalizer({
        cleanText: r.boolean(config.clean_text, `${field}.clean_text`, true),
        handleChineseChars: r.boolean(config.handle_chinese_chars, `${field}.handle_chinese_chars`, true),
        stripAccents: r.booleanOrNull(config.strip_accents, `${field}.strip_accents`),
        lowercase: r.boolean(config.lowercase, `${field}.lowercase`, true),
      });
    case 'Sequence':
      return new SequenceNormalizer(r.array(config.normalizers, `${field}.normalizers`).map((n, i) => readNormalizer(r, n, `${field}.normalizers[${i}]`)!));
    case 'Lowercase':
      return new LowercaseNormalizer();
    case 'StripAccents':
      return new StripAccentsNormalizer();
    case 'Prepend':
      return new PrependNormalizer(r.string(config.prepend, `${field}.prepend`));
    case 'Replace':
      return new ReplaceNormalizer(readStringPattern(r, config.pattern, `${field}.pattern`), r.string(config.content, `${field}.content`));
    default:
      return new UnicodeNormalizer(type);
  }
}

function readPreTokenizer(r: JsonReader, value: unknown, field: string): PreTokenizer | null {
  const config = r.objectOrNull(value, field);
  if (config === null) return null;
  const type = r.oneOf(config.type, `${field}.type`, ['ByteLevel', 'BertPreTokenizer', 'WhitespaceSplit', 'Metaspace']);
  if (type === 'Metaspace') return new MetaspacePreTokenizer(readMetaspace(r, config, field));
  if (type === 'BertPreTokenizer') return new BertPreTokenizer();
  if (type === 'WhitespaceSplit') return new WhitespaceSplitPreTokenizer();
  return new ByteLevelPreTokenizer({
    addPrefixSpace: r.boolean(config.add_prefix_space, `${field}.add_prefix_space`, false),
    useRegex: r.boolean(config.use_regex, `${field}.use_regex`, true),
    trimOffsets: r.boolean(config.trim_offsets, `${field}.trim_offsets`, true),
  });
}

function readPostProcessor(r: JsonReader, value: unknown, field: string, idOf: (token: string, field: string) => number): PostProcessor | null {
  const config = r.objectOrNull(value, field);
  if (config === null) return null;
  const type = r.oneOf(config.type, `${field}.type`, ['TemplateProcessing', 'BertProcessing', 'ByteLevel']);
  if (type === 'ByteLevel') return new ByteLevelPostProcessor();
  if (type === 'BertProcessing') {
    const part = (name: 'cls' | 'sep') => {
      const pair = r.array(config[name], `${field}.${name}`);
      return [r.string(pair[0], `${field}.${name}[0]`), r.index(pair[1], `${field}.${name}[1]`)] as const;
    };
    const [cls, clsId] = part('cls');
    const [sep, sepId] = part('sep');
    return TemplateProcessing.bert(clsId, sepId, cls, sep);
  }
  const specialTokens = new Map<string, number>();
  const specials = r.object(config.special_tokens ?? {}, `${field}.special_tokens`);
  for (const [name, spec] of Object.entries(specials)) {
    const ids = r.array(r.object(spec, `${field}.special_tokens.${name}`).ids, `${field}.special_tokens.${name}.ids`);
    if (ids.length !== 1) r.fail(`${field}.special_tokens.${name}.ids`, 'exactly one id (qkv supports single-token specials)', ids);
    specialTokens.set(name, r.index(ids[0], `${field}.special_tokens.${name}.ids[0]`));
  }
  const template = (key: 'single' | 'pair'): TemplateItem[] =>
    r.array(config[key], `${field}.${key}`).map((item, i) => {
      const itemField = `${field}.${key}[${i}]`;
      const entry = r.object(item, itemField);
      if ('SpecialToken' in entry) {
        const special = r.object(entry.SpecialToken, `${itemField}.SpecialToken`);
        const id = r.string(special.id, `${itemField}.SpecialToken.id`);
        if (!specialTokens.has(id)) specialTokens.set(id, idOf(id, `${itemField}.SpecialToken.id`));
        return { special: id, typeId: r.index(special.type_id, `${itemField}.SpecialToken.type_id`, 0) };
      }
      const sequence = r.object(entry.Sequence, `${itemField}.Sequence`);
      return { sequence: r.oneOf(sequence.id, `${itemField}.Sequence.id`, ['A', 'B']), typeId: r.index(sequence.type_id, `${itemField}.Sequence.type_id`, 0) };
    });
  return new TemplateProcessing(template('single'), template('pair'), specialTokens);
}

function readDecoder(r: JsonReader, value: unknown, field: string): Decoder | null {
  const config = r.objectOrNull(value, field);
  if (config === null) return null;
  const type = r.oneOf(config.type, `${field}.type`, ['ByteLevel', 'WordPiece', 'Fuse', 'Replace', 'ByteFallback', 'Strip', 'Metaspace', 'Sequence']);
  if (type === 'ByteLevel') return new ByteLevelDecoder();
  if (type === 'Fuse') return new FuseDecoder();
  if (type === 'ByteFallback') return new ByteFallbackDecoder();
  if (type === 'Replace') return new ReplaceDecoder(readStringPattern(r, config.pattern, `${field}.pattern`), r.string(config.content, `${field}.content`));
  if (type === 'Strip') {
    const content = r.string(config.content, `${field}.content`);
    if (Array.from(content).length !== 1) r.fail(`${field}.content`, 'one character', content);
    return new StripDecoder(content, r.index(config.start, `${field}.start`, 0), r.index(config.stop, `${field}.stop`, 0));
  }
  if (type === 'Metaspace') {
    const { replacement, prependScheme, split } = readMetaspace(r, config, field);
    return new MetaspaceDecoder(replacement, prependScheme, split);
  }
  if (type === 'Sequence') return new SequenceDecoder(r.array(config.decoders, `${field}.decoders`).map((d, i) => readDecoder(r, d, `${field}.decoders[${i}]`)!));
  return new WordPieceDecoder(r.string(config.prefix ?? '##', `${field}.prefix`), r.boolean(config.cleanup, `${field}.cleanup`, true));
}

/** A Replace pattern: `{ "String": " " }` (a `{ "Regex": … }` pattern is refused by name). */
function readStringPattern(r: JsonReader, value: unknown, field: string): string {
  const pattern = r.object(value, field);
  if (!('String' in pattern)) r.fail(field, '{ "String": … } (qkv supports string patterns, not Regex)', value);
  const text = r.string(pattern.String, `${field}.String`);
  if (text.length === 0) r.fail(`${field}.String`, 'a non-empty string', text);
  return text;
}

/**
 * Metaspace's fields, in both forms Hugging Face has written: `prepend_scheme` ("always", "first",
 * "never") and `split` (tokenizers ≥ 0.14), or the older `add_prefix_space` (true → "always").
 */
function readMetaspace(r: JsonReader, config: JsonObject, field: string): { replacement: string; prependScheme: PrependScheme; split: boolean } {
  const replacement = r.string(config.replacement ?? '\u2581', `${field}.replacement`);
  if (Array.from(replacement).length !== 1) r.fail(`${field}.replacement`, 'one character', replacement);
  let prependScheme: PrependScheme;
  if (config.prepend_scheme !== undefined) prependScheme = r.oneOf(config.prepend_scheme, `${field}.prepend_scheme`, ['always', 'first', 'never']);
  else prependScheme = r.boolean(config.add_prefix_space, `${field}.add_prefix_space`, true) ? 'always' : 'never';
  return { replacement, prependScheme, split: r.boolean(config.split, `${field}.split`, true) };
}
