import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RnnSeq2Seq } from '../../src/models/rnn-seq2seq.ts';
import { loadSeq2SeqFolder, saveSeq2SeqModel } from '../../src/models/transformer-folder.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { charTokenizerFromAlphabet } from '../../src/tokenizers/char.ts';

const V = 12;
const build = (attention: 'none' | 'additive', seed = 2) =>
  new RnnSeq2Seq({ vocab_size: V, embedding_size: 8, hidden_size: 16, attention, pad_token_id: 0, bos_token_id: 1, eos_token_id: 2 }, { rng: new Rng(seed) }).eval();

function maxDifference(a: Tensor, b: Tensor): number {
  const x = a.contiguousData();
  const y = b.contiguousData();
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  return worst;
}

const source = Tensor.from([[5, 6, 7, 8, 2], [9, 10, 2, 0, 0]]);
const decoderInput = Tensor.from([[1, 4, 5, 6], [1, 7, 8, 9]]);

for (const attention of ['none', 'additive'] as const) {
  test(`GRU seq2seq (attention ${attention}): step-by-step decoding equals teacher forcing; source padding is invisible`, () => {
    const model = build(attention);
    noGrad(() => {
      const full = model.forward(source, { decoderInputIds: decoderInput }).logits;
      const state = model.startDecoding(source, 1);
      for (let t = 0; t < 4; t++) {
        const step = model.decodeStep(state, Int32Array.from([decoderInput.get(0, t), decoderInput.get(1, t)]));
        assert.ok(maxDifference(step, full.narrow(1, t, 1).reshape([2, V])) < 1e-6, `step ${t}`);
      }
      const padded = Tensor.from([[9, 10, 2, 0, 0, 0, 0]]);
      const short = Tensor.from([[9, 10, 2]]);
      const input = decoderInput.narrow(0, 1, 1);
      assert.ok(maxDifference(model.forward(short, { decoderInputIds: input }).logits, model.forward(padded, { decoderInputIds: input }).logits) < 1e-6);
    });
  });
}

test('the fixed-vector model sees the source only through the final encoder state; attention adds W_q, W_k, v', () => {
  const plain = build('none');
  const attended = build('additive');
  assert.equal(plain.attention, null);
  assert.equal(attended.numParameters() - plain.numParameters(), 2 * 16 * 16 + 16); // W_q, W_k (H×H) and v (1×H)
  noGrad(() => {
    const a = plain.forward(source, { decoderInputIds: decoderInput }).logits;
    const other = Tensor.from([[3, 6, 7, 8, 2], [9, 10, 2, 0, 0]]);
    const b = plain.forward(other, { decoderInputIds: decoderInput }).logits;
    assert.ok(maxDifference(a.narrow(0, 0, 1), b.narrow(0, 0, 1)) > 1e-5, 'changing the source changes the output');
  });
});

test('GRU seq2seq folder round trip (model_type rnn-seq2seq) gives the same logits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-gru-'));
  try {
    const tokenizer = charTokenizerFromAlphabet([...'abcdefgh'], { specialTokens: ['<pad>', '<s>', '</s>'] });
    const model = build('additive');
    saveSeq2SeqModel(dir, model, tokenizer);
    const loaded = loadSeq2SeqFolder(dir);
    assert.ok(loaded.model instanceof RnnSeq2Seq);
    assert.equal(loaded.model.config.attention, 'additive');
    noGrad(() => assert.equal(maxDifference(model.forward(source, { decoderInputIds: decoderInput }).logits, loaded.model.eval().forward(source, { decoderInputIds: decoderInput }).logits), 0));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
