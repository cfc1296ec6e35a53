import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BertModel } from '../../src/models/bert.ts';
import { saveBert } from '../../src/models/bert-folder.ts';
import { embedTexts } from '../../src/models/bert-embed.ts';
import { loadBertEmbedder } from '../../src/rag/bert-embedder.ts';
import { trainWordPiece } from '../../src/tokenizers/wordpiece-trainer.ts';
import { Rng } from '../../src/tensor/random.ts';

test('BERT embedder: a saved folder loads as an Embedder giving embedTexts\' unit vectors; its name follows the weights', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-bert-embedder-'));
  try {
    const texts = ['the cat sat on the mat', 'a ship on the ocean', 'bread in the oven'];
    const tokenizer = trainWordPiece(texts, { vocabSize: 60 });
    const model = new BertModel({ vocab_size: tokenizer.vocabSize, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 32 }, { rng: new Rng(1) });
    saveBert(join(dir, 'a'), model, tokenizer);
    const embedder = loadBertEmbedder(join(dir, 'a'));
    assert.equal(embedder.dim, 16);
    assert.match(embedder.name, /^bert:[0-9a-f]{12}$/);
    const vectors = await embedder.embed(texts);
    const direct = embedTexts(model, tokenizer, texts);
    for (let i = 0; i < texts.length; i++) {
      assert.ok(Math.abs(Math.hypot(...vectors[i]) - 1) < 1e-5);
      for (let c = 0; c < 16; c++) assert.ok(Math.abs(vectors[i][c] - direct[i][c]) < 1e-5, `text ${i}, component ${c}`);
    }
    assert.equal(loadBertEmbedder(join(dir, 'a')).name, embedder.name, 'the same weights, the same name');
    saveBert(join(dir, 'b'), new BertModel(model.config, { rng: new Rng(2) }), tokenizer);
    assert.notEqual(loadBertEmbedder(join(dir, 'b')).name, embedder.name, 'other weights, another name');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
