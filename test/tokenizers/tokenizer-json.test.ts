import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { QkvError } from '../../src/tensor/errors.ts';
import { trainBpe } from '../../src/tokenizers/bpe-trainer.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';
import { QkvFormatError } from '../../src/tokenizers/errors.ts';
import { loadGpt2Tokenizer } from '../../src/tokenizers/gpt2.ts';
import type { Tokenizer } from '../../src/tokenizers/tokenizer.ts';
import { loadTokenizer, saveTokenizer, tokenizerFromJson, tokenizerToJson } from '../../src/tokenizers/tokenizer-json.ts';
import { trainWordPiece } from '../../src/tokenizers/wordpiece-trainer.ts';
import { tinyBert } from './bert-fixture.ts';
import { heldOutText, MULTILINGUAL, trainingText } from './fixtures.ts';

const train = trainingText(100_000);
const tokenizers: [string, Tokenizer][] = [
  ['trained byte-level BPE', trainBpe([train], { vocabSize: 1000 })],
  ['trained WordPiece', trainWordPiece([train], { vocabSize: 1000 })],
  ['character-level', trainCharTokenizer(train + MULTILINGUAL.slice(0, 200))],
  ['GPT-2', loadGpt2Tokenizer()],
];
const texts = [MULTILINGUAL, heldOutText(5_000), 'a<|endoftext|>b [CLS] x [SEP]', '   ', ''];

function assertSameIds(ours: number[], theirs: number[], what: string): void {
  const first = ours.findIndex((id, i) => id !== theirs[i]);
  assert.ok(first < 0 && ours.length === theirs.length, `${what}: first difference at ${first}: qkv ${ours[first]} vs Hugging Face ${theirs[first]} (lengths ${ours.length}, ${theirs.length})`);
}

test('files qkv writes load in @huggingface/tokenizers with identical ids', () => {
  for (const [name, tokenizer] of tokenizers) {
    const hf = new HfTokenizer(tokenizerToJson(tokenizer), {});
    for (const text of texts) assertSameIds(tokenizer.encode(text).ids, hf.encode(text).ids, `${name} on ${JSON.stringify(text.slice(0, 30))}`);
  }
  // BERT pairs: same ids and token types.
  const [, wordpiece] = tokenizers[1];
  const hf = new HfTokenizer(tokenizerToJson(wordpiece), {});
  const ours = wordpiece.encode('Is it raining?', 'No, it is not.');
  const theirs = hf.encode('Is it raining?', { text_pair: 'No, it is not.', return_token_type_ids: true });
  assert.deepEqual(ours.ids, theirs.ids);
  assert.deepEqual(ours.typeIds, theirs.token_type_ids);
});

test('Hugging Face decodes qkv ids to the same text', () => {
  for (const [name, tokenizer] of tokenizers) {
    const hf = new HfTokenizer(tokenizerToJson(tokenizer), {});
    const ids = tokenizer.encode(MULTILINGUAL).ids;
    assert.equal(hf.decode(ids, { clean_up_tokenization_spaces: false }), tokenizer.decode(ids), name);
  }
});

test('save → load in qkv gives the same file and the same ids', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-tokenizer-json-'));
  for (const [name, tokenizer] of [...tokenizers, ['tiny BERT with truncation and padding', tinyBert().enableTruncation(16).enablePadding({ length: 16 })] as const]) {
    const file = saveTokenizer(tokenizer, join(dir, name.replace(/\W+/g, '-')));
    const loaded = loadTokenizer(file);
    assert.deepEqual(tokenizerToJson(loaded), tokenizerToJson(tokenizer), name);
    for (const text of texts) assert.deepEqual(loaded.encode(text), tokenizer.encode(text), name);
  }
});

// A tokenizer.json the way Hugging Face tokenizers (Python/Rust) writes it: every field,
// merges as pairs (tokenizers ≥ 0.20), RoBERTa-style defaults, BertProcessing instead of a template.
const HF_BPE = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: [{ id: 0, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
  normalizer: { type: 'NFC' },
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: {
    type: 'BPE',
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false,
    byte_fallback: false,
    ignore_merges: false,
    vocab: {} as Record<string, number>,
    merges: [] as string[][],
  },
};
const HF_BERT = {
  version: '1.0',
  truncation: { direction: 'Right', max_length: 512, strategy: 'LongestFirst', stride: 0 },
  padding: null,
  added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
  normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
  pre_tokenizer: { type: 'BertPreTokenizer' },
  post_processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] },
  decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: {} as Record<string, number> },
};

test('a Hugging Face-written tokenizer.json loads in qkv and gives the ids Hugging Face gives', () => {
  const bpeJson = tokenizerToJson(tokenizers[0][1]).model as { vocab: Record<string, number>; merges: string[] };
  const hfBpe = structuredClone(HF_BPE);
  hfBpe.model.vocab = bpeJson.vocab;
  hfBpe.model.merges = bpeJson.merges.map((merge) => merge.split(' '));
  const bertVocab = (tokenizerToJson(tokenizers[1][1]).model as { vocab: Record<string, number> }).vocab;
  const hfBert = structuredClone(HF_BERT);
  hfBert.model.vocab = bertVocab;
  for (const [name, json] of [['BPE', hfBpe], ['BERT', hfBert]] as const) {
    // @huggingface/tokenizers leaves truncation to its caller (transformers.js): compare untruncated.
    const ours = tokenizerFromJson(json, `${name}/tokenizer.json`).noTruncation();
    const theirs = new HfTokenizer(json, {});
    for (const text of texts) assertSameIds(ours.encode(text).ids, theirs.encode(text).ids, `${name} on ${JSON.stringify(text.slice(0, 30))}`);
  }
  assert.equal(tokenizerFromJson(hfBert).truncation?.maxLength, 512);
});

function expectFormatError(json: unknown, field: RegExp | string): void {
  assert.throws(
    () => tokenizerFromJson(json, 'bad/tokenizer.json'),
    (error: Error) => error instanceof QkvFormatError && error.message.startsWith('bad/tokenizer.json: field') && (typeof field === 'string' ? error.where === `field "${field}"` : field.test(error.where ?? '')),
  );
}

test('malformed files name the file and the field', () => {
  const good = tokenizerToJson(tinyBert());
  const broken = (edit: (json: any) => void) => {
    const json = structuredClone(good);
    edit(json);
    return json;
  };
  expectFormatError(null, '(root)');
  expectFormatError(broken((j) => delete j.model), 'model');
  expectFormatError(broken((j) => (j.model.type = 'Unigram')), 'model.type');
  expectFormatError(broken((j) => (j.model.vocab.cat = 'five')), 'model.vocab["cat"]');
  expectFormatError(broken((j) => (j.model.vocab.cat = 5)), 'model.vocab["cat"]'); // duplicate id
  expectFormatError(broken((j) => (j.added_tokens[1].content = 7)), 'added_tokens[1].content');
  expectFormatError(broken((j) => (j.normalizer.lowercase = 'yes')), 'normalizer.lowercase');
  expectFormatError(broken((j) => (j.post_processor.single[0].SpecialToken.id = '[NOPE]')), 'post_processor.single[0].SpecialToken.id');
  expectFormatError(broken((j) => (j.decoder = { type: 'CTC' })), 'decoder.type');
  expectFormatError(broken((j) => (j.decoder = { type: 'Sequence', decoders: [{ type: 'Fuse' }, { type: 'Metaspace', prepend_scheme: 'sometimes' }] })), 'decoder.decoders[1].prepend_scheme');
  expectFormatError(broken((j) => (j.normalizer = { type: 'Replace', pattern: { Regex: '\\s' }, content: '▁' })), 'normalizer.pattern');
  expectFormatError(broken((j) => (j.pre_tokenizer = { type: 'Metaspace', replacement: '▁▁' })), 'pre_tokenizer.replacement');
  const bpe = tokenizerToJson(trainBpe(['ab ab ab'], { vocabSize: 300, specialTokens: [] })) as any;
  bpe.model.merges.push('a zz');
  expectFormatError(bpe, 'model.merges[2]');
  bpe.model.merges[2] = ['a', 5];
  expectFormatError(bpe, 'model.merges[2][1]');
  bpe.model.merges[2] = 'abc';
  expectFormatError(bpe, 'model.merges[2]');
});

test('a truncated file gives a QkvFormatError naming it, not a SyntaxError', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-tokenizer-json-'));
  const text = JSON.stringify(tokenizerToJson(tinyBert()));
  writeFileSync(join(dir, 'tokenizer.json'), text.slice(0, text.length / 2));
  assert.throws(() => loadTokenizer(dir), (e: Error) => e instanceof QkvFormatError && e.message.includes(join(dir, 'tokenizer.json')) && /truncated/.test(e.message));
  assert.throws(() => loadTokenizer(join(dir, 'missing')), QkvFormatError);
});

test('no field of any type crashes with a bare TypeError', () => {
  const good = tokenizerToJson(tinyBert().enablePadding({ length: 8 }).enableTruncation(8));
  const paths: (string | number)[][] = [];
  const walk = (value: unknown, path: (string | number)[]) => {
    if (path.length > 0) paths.push(path);
    if (typeof value === 'object' && value !== null && path.length < 5) {
      for (const [key, child] of Object.entries(value)) if (!(path.at(-1) === 'vocab' && Number(key) > 2)) walk(child, [...path, Array.isArray(value) ? Number(key) : key]);
    }
  };
  walk(good, []);
  let checked = 0;
  for (const path of paths) {
    for (const replacement of [null, 7, -1, 'x', [], {}, true]) {
      const json: any = structuredClone(good);
      let parent = json;
      for (const key of path.slice(0, -1)) parent = parent[key];
      parent[path.at(-1)!] = replacement;
      try {
        tokenizerFromJson(json, 'fuzz.json').encode('the cat, 你好', 'it sat');
      } catch (error) {
        assert.ok(error instanceof QkvError, `${path.join('.')} = ${JSON.stringify(replacement)} threw ${(error as Error).name}: ${(error as Error).message}`);
      }
      checked++;
    }
  }
  assert.ok(checked > 300, `${checked} mutations`);
});
