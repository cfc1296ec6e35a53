/**
 * The SentencePiece tokenizer's Hugging Face form (what `tokenizerToJson` writes: LlamaConverter's
 * BPE with merges ordered by score, byte_fallback, Prepend + Replace normaliser, ByteFallback
 * decoder) read by Transformers.js, an independent BPE implementation: it must give the ids of
 * the score-driven SPM merge on varied text, and decode them back alike.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { llamaTokenizerFromGguf } from '../../src/tokenizers/gguf-import.ts';
import { tokenizerToJson } from '../../src/tokenizers/tokenizer-json.ts';
import type { GgufReadValue } from '../../src/io/gguf-format.ts';

/** A hand-made SentencePiece vocabulary: merged pieces scored high to low, characters last, bytes. */
function vocabulary(): Map<string, GgufReadValue> {
  const merged = ['▁t', 'he', '▁the', 'in', '▁a', 'er', 'on', '▁w', 'ing', '▁s', 'at', 'll', '▁c', 'or', 'en', '▁wor', '▁world', 'ld', '▁he', '▁hello', 'lo', 'el', 'ell', 'an', '▁an', '▁and'];
  const chars = [...new Set(merged.join('') + 'abcdefghijklmnopqrstuvwxyz.,!?')].filter((c) => c !== '▁');
  const pieces = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`), ...merged, '▁', ...chars];
  const types = [2, 3, 3, ...new Array(256).fill(6), ...new Array(merged.length + 1 + chars.length).fill(1)];
  const scores = [0, 0, 0, ...new Array(256).fill(0), ...merged.map((_, i) => -i), ...[merged.length, ...chars.map((_, i) => merged.length + 1 + i)].map((s) => -s)];
  return new Map<string, GgufReadValue>([
    ['tokenizer.ggml.model', 'llama'], ['tokenizer.ggml.tokens', pieces], ['tokenizer.ggml.scores', scores], ['tokenizer.ggml.token_type', types],
    ['tokenizer.ggml.bos_token_id', 1], ['tokenizer.ggml.eos_token_id', 2], ['tokenizer.ggml.unknown_token_id', 0],
  ]);
}

const TEXTS = ['hello world', 'the world and the wor', '  two  spaces ', 'Hello, World!', 'café 42 日本 🤖', 'helloworld thethe', 'a\nb\tc', 'singing and writing'];

test('Transformers.js on our tokenizer.json gives the SPM ids and decodes them as we do', async (t) => {
  const tokenizer = llamaTokenizerFromGguf(vocabulary(), 'test.gguf');
  const root = mkdtempSync(join(tmpdir(), 'qkv-spm-hf-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'spm'));
  writeFileSync(join(root, 'spm', 'tokenizer.json'), JSON.stringify(tokenizerToJson(tokenizer)));
  writeFileSync(join(root, 'spm', 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'LlamaTokenizer', bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', add_bos_token: true, add_eos_token: false, legacy: true }));
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = root;
  const hf = await AutoTokenizer.from_pretrained('spm');
  for (const text of TEXTS) {
    const ours = tokenizer.encode(text).ids;
    const theirs = [...hf.encode(text)].map(Number);
    assert.deepEqual(ours, theirs, `${JSON.stringify(text)}: qkv ${ours.map((id) => tokenizer.idToToken(id)).join('|')} vs Transformers.js ${theirs.map((id) => tokenizer.idToToken(id)).join('|')}`);
    assert.equal(tokenizer.decode(ours, { skipSpecialTokens: true }), hf.decode(theirs, { skip_special_tokens: true }), `decode ${JSON.stringify(text)}`);
  }
});
