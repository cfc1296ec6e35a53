import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BertModel } from '../../src/models/bert.ts';
import { BertForMaskedLM, BertForPreTraining, BertForSequenceClassification } from '../../src/models/bert-heads.ts';
import { loadBert, normalizeBertStateDict, saveBert } from '../../src/models/bert-folder.ts';
import { loadCausalLM, loadModel, saveCausalLM } from '../../src/models/load.ts';
import { GPT } from '../../src/models/gpt.ts';
import { saveSafetensors } from '../../src/io/safetensors.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { tinyBert } from '../tokenizers/bert-fixture.ts';

const tiny = { vocab_size: 26, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 };
const maxAbsDiff = (a: Tensor, b: Tensor) => Math.max(...a.toArray().map((x, i) => Math.abs(x - b.toArray()[i])));

test('a BERT folder is HF-shaped and loads back through loadModel with the same outputs', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-bert-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tokenizer = tinyBert();
  const model = new BertForSequenceClassification(tiny, { labels: ['news', 'fiction'], rng: new Rng(1) }).eval();
  saveBert(join(dir, 'cls'), model, tokenizer);
  const config = JSON.parse(readFileSync(join(dir, 'cls', 'config.json'), 'utf8'));
  assert.equal(config.model_type, 'bert');
  assert.deepEqual(config.architectures, ['BertForSequenceClassification']);
  assert.deepEqual(config.id2label, { 0: 'news', 1: 'fiction' });
  assert.deepEqual(config.label2id, { news: 0, fiction: 1 });
  assert.equal(config.hidden_act, 'gelu');
  assert.equal(JSON.parse(readFileSync(join(dir, 'cls', 'tokenizer.json'), 'utf8')).model.type, 'WordPiece');
  const loaded = loadModel(join(dir, 'cls'));
  assert.equal(loaded.kind, 'bert');
  if (loaded.kind !== 'bert') return;
  assert.ok(loaded.model instanceof BertForSequenceClassification);
  assert.deepEqual(loaded.model.labels, ['news', 'fiction']);
  const ids = Tensor.from([[2, 5, 6, 7, 3]]);
  const before = noGrad(() => model.forward(ids).logits);
  const after = noGrad(() => loaded.model.eval().forward(ids) as { logits: Tensor }).logits;
  assert.ok(maxAbsDiff(before, after) < 1e-6);
  assert.equal(loaded.tokenizer.encode('the cat').ids.join(' '), '2 5 6 3');

  // Pre-trained folder → a classifier (new head) and → a bare BertModel (for embeddings).
  const pretrained = new BertForPreTraining(tiny, { rng: new Rng(2) });
  saveBert(join(dir, 'pre'), pretrained, tokenizer);
  const asClassifier = loadBert(join(dir, 'pre'), { as: 'BertForSequenceClassification', labels: ['a', 'b', 'c'] }).model as BertForSequenceClassification;
  assert.deepEqual(asClassifier.bert.encoder.layer[0].attention.self.query.weight.toArray(), pretrained.bert.encoder.layer[0].attention.self.query.weight.toArray());
  assert.equal(asClassifier.labels.length, 3);
  assert.ok(loadBert(join(dir, 'pre'), { as: 'BertModel' }).model instanceof BertModel);

  // A folder of another architecture: clear errors both ways.
  assert.throws(() => loadCausalLM(join(dir, 'cls')), /model_type "bert" is not supported by loadCausalLM/);
  saveCausalLM(join(dir, 'gpt'), new GPT({ vocab_size: 26, n_layer: 1, n_embd: 8, n_head: 2, n_positions: 8 }), tokenizer);
  assert.equal(loadModel(join(dir, 'gpt')).kind, 'causal-lm');
  assert.throws(() => loadBert(join(dir, 'gpt')), /model_type is "gpt2"; a BERT folder has "bert"/);
  writeFileSync(join(dir, 'cls', 'config.json'), JSON.stringify({ ...config, id2label: undefined }));
  assert.throws(() => loadBert(join(dir, 'cls')), /config\.json: id2label is missing/);
});

test('checkpoint name variants of real BERT files load: tied decoder, gamma/beta, no bert. prefix, position_ids', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-bert-names-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const model = new BertForMaskedLM(tiny, { rng: new Rng(3) });
  saveBert(dir, model, tinyBert());
  const renamed = new Map<string, Tensor>();
  for (const [name, tensor] of Object.entries(model.stateDict())) {
    const old = name.replace(/^bert\./, '').replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta');
    renamed.set(old, tensor.contiguousCopy());
  }
  renamed.set('cls.predictions.decoder.weight', model.bert.embeddings.word_embeddings.weight.contiguousCopy());
  renamed.set('cls.predictions.decoder.bias', model.cls.predictions.bias.contiguousCopy());
  const normalized = normalizeBertStateDict(renamed, 'BertForMaskedLM');
  assert.ok(normalized.has('bert.embeddings.LayerNorm.weight') && !normalized.has('cls.predictions.decoder.weight'));
  saveSafetensors(join(dir, 'model.safetensors'), renamed, { format: 'pt' });
  const loaded = loadBert(dir).model as BertForMaskedLM;
  const ids = Tensor.from([[2, 9, 4, 3]]);
  assert.ok(maxAbsDiff(noGrad(() => model.eval().forward(ids).logits), noGrad(() => loaded.eval().forward(ids).logits)) < 1e-6);
});
