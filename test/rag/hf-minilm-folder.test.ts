/**
 * A Hugging Face sentence-embedder folder in the layout of sentence-transformers/all-MiniLM-L6-v2
 * (the files and names its hub repository lists), built here from a qkv BERT so nothing downloads:
 *
 *   config.json                      BertModel, model_type "bert", plus the fields transformers writes
 *   model.safetensors                BertModel names without a `bert.` prefix, and the int64
 *                                    `embeddings.position_ids` (1, T) buffer older transformers saved
 *   tokenizer.json                   WordPiece, [CLS] … [SEP] template, MiniLM's truncation (128) and
 *                                    fixed padding (128) settings
 *   vocab.txt, tokenizer_config.json, special_tokens_map.json
 *   modules.json                     Transformer → 1_Pooling → 2_Normalize
 *   1_Pooling/config.json            pooling_mode_mean_tokens: true
 *   sentence_bert_config.json, config_sentence_transformers.json
 *
 * It must load through `--embed-model DIR` and embed exactly as the qkv model it was written from.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../cli/run-cli.ts';
import type { SafeTensorInput } from '../../src/io/safetensors-format.ts';
import { serializeSafetensors } from '../../src/io/safetensors-writer.ts';
import { BertModel } from '../../src/models/bert.ts';
import { embedTexts } from '../../src/models/bert-embed.ts';
import { loadBertEmbedder } from '../../src/rag/bert-embedder.ts';
import { tokenizerToJson } from '../../src/tokenizers/tokenizer-json.ts';
import { trainWordPiece } from '../../src/tokenizers/wordpiece-trainer.ts';
import { Rng } from '../../src/tensor/random.ts';

const TEXTS = ['the jury praised the election', 'a ship sailed across the ocean at night', 'bread rises in a warm oven', 'the county voters went to the polls'];

function writeMiniLmFolder(dir: string, model: BertModel, tokenizer: ReturnType<typeof trainWordPiece>): void {
  const c = model.config;
  mkdirSync(join(dir, '1_Pooling'), { recursive: true });
  const json = (path: string, value: unknown): void => writeFileSync(join(dir, path), JSON.stringify(value, null, 2));
  json('config.json', {
    _name_or_path: 'nreimers/MiniLM-L6-H384-uncased', architectures: ['BertModel'], attention_probs_dropout_prob: 0.1, gradient_checkpointing: false,
    hidden_act: 'gelu', hidden_dropout_prob: 0.1, hidden_size: c.hidden_size, initializer_range: 0.02, intermediate_size: c.intermediate_size,
    layer_norm_eps: 1e-12, max_position_embeddings: c.max_position_embeddings, model_type: 'bert', num_attention_heads: c.num_attention_heads,
    num_hidden_layers: c.num_hidden_layers, pad_token_id: 0, position_embedding_type: 'absolute', transformers_version: '4.8.2', type_vocab_size: c.type_vocab_size,
    use_cache: true, vocab_size: c.vocab_size,
  });
  const tensors = new Map<string, SafeTensorInput>();
  for (const [name, tensor] of Object.entries(model.stateDict())) tensors.set(name, tensor);
  tensors.set('embeddings.position_ids', { dtype: 'I64' as const, shape: [1, c.max_position_embeddings], data: Array.from({ length: c.max_position_embeddings }, (_, i) => i) });
  writeFileSync(join(dir, 'model.safetensors'), serializeSafetensors(tensors, { format: 'pt' }));
  json('tokenizer.json', {
    ...tokenizerToJson(tokenizer),
    truncation: { direction: 'Right', max_length: 128, strategy: 'LongestFirst', stride: 0 },
    padding: { strategy: { Fixed: 128 }, direction: 'Right', pad_to_multiple_of: null, pad_id: 0, pad_type_id: 0, pad_token: '[PAD]' },
  });
  writeFileSync(join(dir, 'vocab.txt'), Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.idToToken(id)).join('\n') + '\n');
  json('tokenizer_config.json', { do_lower_case: true, unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]', tokenize_chinese_chars: true, strip_accents: null, model_max_length: 512, tokenizer_class: 'BertTokenizer' });
  json('special_tokens_map.json', { unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]' });
  json('modules.json', [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
    { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
  ]);
  json('1_Pooling/config.json', { word_embedding_dimension: c.hidden_size, pooling_mode_cls_token: false, pooling_mode_mean_tokens: true, pooling_mode_max_tokens: false, pooling_mode_mean_sqrt_len_tokens: false });
  json('sentence_bert_config.json', { max_seq_length: 128, do_lower_case: false });
  json('config_sentence_transformers.json', { __version__: { sentence_transformers: '2.0.0', transformers: '4.6.1', pytorch: '1.8.1' } });
}

test('a MiniLM-layout sentence-transformers folder loads through --embed-model and embeds as the qkv BERT it was written from', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'qkv-minilm-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const tokenizer = trainWordPiece(TEXTS, { vocabSize: 80 });
  const model = new BertModel({ vocab_size: tokenizer.vocabSize, hidden_size: 24, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 48, max_position_embeddings: 64 }, { rng: new Rng(7) });
  // Random (non-zero) position and segment tables: a position_ids buffer taken for weights, or a shifted table, would show.
  const minilm = join(root, 'all-MiniLM-like');
  writeMiniLmFolder(minilm, model, tokenizer);

  const embedder = loadBertEmbedder(minilm);
  assert.equal(embedder.dim, 24);
  const loaded = await embedder.embed(TEXTS);
  const original = embedTexts(model, tokenizer, TEXTS);
  for (let i = 0; i < TEXTS.length; i++) {
    for (let c = 0; c < 24; c++) assert.ok(Math.abs(loaded[i][c] - original[i][c]) < 1e-6, `text ${i} ("${TEXTS[i]}"), component ${c}: folder ${loaded[i][c]}, qkv ${original[i][c]}`);
  }
  // The texts are distinct, so the vectors must be too: equal vectors would pass the check above for any constant embedder.
  assert.ok(Math.abs(loaded[0].reduce((sum, x, c) => sum + x * loaded[1][c], 0)) < 0.999);

  // Through the CLI: index with --embed-model DIR; dense search ranks as cosine over the qkv model's vectors.
  const docs = join(root, 'docs');
  mkdirSync(docs);
  TEXTS.forEach((text, i) => writeFileSync(join(docs, `d${i}.txt`), `${text}.\n`));
  const report = JSON.parse(await runCli(['rag', 'index', docs, '--index', join(root, 'index'), '--embed-model', minilm, '--json']));
  assert.equal(report.totalChunks, TEXTS.length);
  const query = 'voters at the polls in the county';
  const hits = JSON.parse(await runCli(['rag', 'search', '--index', join(root, 'index'), '--mode', 'dense', '--k', String(TEXTS.length), '--json', query]));
  const [queryVector] = embedTexts(model, tokenizer, [query]);
  const expected = TEXTS.map((text, i) => ({ source: `d${i}.txt`, score: embedTexts(model, tokenizer, [`${text}.`])[0].reduce((sum, x, c) => sum + x * queryVector[c], 0) })).sort((a, b) => b.score - a.score);
  assert.deepEqual(hits.map((hit: { source: string }) => hit.source.split('/').pop()), expected.map((e) => e.source));
  hits.forEach((hit: { score: number }, i: number) => assert.ok(Math.abs(hit.score - expected[i].score) < 1e-5, `rank ${i + 1}: CLI score ${hit.score}, qkv cosine ${expected[i].score}`));
});
