import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transformer } from '../../src/models/transformer.ts';
import { TRANSFORMER_PRESETS, type TransformerConfigInput } from '../../src/models/transformer-config.ts';
import { loadSeq2SeqFolder, saveSeq2SeqModel } from '../../src/models/transformer-folder.ts';
import { shiftTokensRight } from '../../src/models/transformer-inputs.ts';
import { POSITION_SCHEMES } from '../../src/nn/positions.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { charTokenizerFromAlphabet } from '../../src/tokenizers/char.ts';

const V = 12;
const tiny = (extra: Partial<TransformerConfigInput> = {}, seed = 1) =>
  new Transformer({ vocab_size: V, ...TRANSFORMER_PRESETS.tiny, dropout: 0, pad_token_id: 0, bos_token_id: 1, eos_token_id: 2, ...extra }, { rng: new Rng(seed) }).eval();

function maxDifference(a: Tensor, b: Tensor): number {
  const x = a.contiguousData();
  const y = b.contiguousData();
  assert.equal(x.length, y.length);
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  return worst;
}

const source = Tensor.from([[5, 6, 7, 8, 2], [9, 10, 2, 0, 0]]);
const decoderInput = Tensor.from([[1, 4, 5, 6], [1, 7, 8, 9]]);

test('shiftTokensRight is HF’s: start token first, labels shifted, −100 → pad', () => {
  assert.deepEqual(shiftTokensRight(Tensor.from([[5, 6, 2, -100]]), 0, 1).toArray(), [1, 5, 6, 2]);
});

for (const position of POSITION_SCHEMES) {
  for (const normalizeBefore of [false, true]) {
    test(`KV-cached decoding equals the full forward (position ${position}, ${normalizeBefore ? 'pre' : 'post'}-LN)`, () => {
      const model = tiny({ position, normalize_before: normalizeBefore, encoder_layers: 2, decoder_layers: 2 });
      noGrad(() => {
        const full = model.forward(source, { decoderInputIds: decoderInput }).logits; // (B, T, V)
        const state = model.startDecoding(source, 1);
        for (let t = 0; t < 4; t++) {
          const tokens = Int32Array.from([decoderInput.get(0, t), decoderInput.get(1, t)]);
          const step = model.decodeStep(state, tokens); // (B, V)
          const error = maxDifference(step, full.narrow(1, t, 1).reshape([2, V]));
          assert.ok(error < 1e-5, `step ${t}: logits differ by ${error}`);
        }
        // Cross-attention keys/values were computed once (on the first step) and kept: S positions, not growing.
        for (const caches of state.caches) assert.equal(caches.cross.keys!.shape[2], 5);
        assert.equal(state.caches[0].self.keys!.shape[2], 4);
      });
    });
  }
}

test('cross-attention sees the encoder: another source changes every decoder position', () => {
  const model = tiny();
  noGrad(() => {
    const a = model.forward(source, { decoderInputIds: decoderInput }).logits;
    const other = Tensor.from([[5, 6, 7, 9, 2], [9, 10, 2, 0, 0]]); // row 0 differs in one source token
    const b = model.forward(other, { decoderInputIds: decoderInput }).logits;
    for (let t = 0; t < 4; t++) assert.ok(maxDifference(a.narrow(0, 0, 1).narrow(1, t, 1), b.narrow(0, 0, 1).narrow(1, t, 1)) > 1e-4, `position ${t} ignores the source`);
    assert.equal(maxDifference(a.narrow(0, 1, 1), b.narrow(0, 1, 1)), 0); // row 1 is unchanged
  });
});

test('masks: source padding is invisible, the decoder is causal, target padding does not leak', () => {
  const model = tiny({ encoder_layers: 2, decoder_layers: 2 });
  noGrad(() => {
    const short = Tensor.from([[9, 10, 2]]);
    const padded = Tensor.from([[9, 10, 2, 0, 0, 0]]);
    const input = Tensor.from([[1, 7, 8]]);
    const error = maxDifference(model.forward(short, { decoderInputIds: input }).logits, model.forward(padded, { decoderInputIds: input }).logits);
    assert.ok(error < 1e-5, `padding the source changed the logits by ${error}`);
    const changedLater = Tensor.from([[1, 7, 3]]);
    const a = model.forward(short, { decoderInputIds: input }).logits.narrow(1, 0, 2);
    const b = model.forward(short, { decoderInputIds: changedLater }).logits.narrow(1, 0, 2);
    assert.equal(maxDifference(a, b), 0, 'a later decoder token changed an earlier position');
    // Labels padded with −100 give the real positions the same logits and the same loss as unpadded ones.
    const labels = Tensor.from([[7, 8, 2]]);
    const paddedLabels = Tensor.from([[7, 8, 2, -100, -100]]);
    const x = model.forward(short, { targets: labels });
    const y = model.forward(short, { targets: paddedLabels });
    assert.ok(maxDifference(x.logits, y.logits.narrow(1, 0, 3)) < 1e-6);
    assert.ok(Math.abs(x.loss!.item() - y.loss!.item()) < 1e-6);
  });
});

test('loss is the label-smoothed cross-entropy of the shifted labels (checked by hand from the logits)', () => {
  const epsilon = 0.1;
  const model = tiny({ label_smoothing: epsilon });
  const labels = Tensor.from([[4, 5, 2], [7, 2, -100]]);
  noGrad(() => {
    const { logits, loss } = model.forward(source, { targets: labels });
    let total = 0;
    let count = 0;
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < 3; t++) {
        const target = labels.get(b, t);
        if (target === -100) continue;
        const row = Array.from({ length: V }, (_, v) => logits.get(b, t, v));
        const max = Math.max(...row);
        const logSum = max + Math.log(row.reduce((s, value) => s + Math.exp(value - max), 0));
        const nll = logSum - row[target];
        const uniform = row.reduce((s, value) => s + (logSum - value), 0) / V;
        total += (1 - epsilon) * nll + epsilon * uniform;
        count++;
      }
    }
    assert.ok(Math.abs(loss!.item() - total / count) < 1e-5, `${loss!.item()} vs ${total / count}`);
  });
});

test('post-LN normalises every encoder output; pre-LN adds final norms; shared, separate and tied tables', () => {
  const post = tiny();
  noGrad(() => {
    const { memory } = post.encode(source);
    const row = Array.from({ length: 32 }, (_, c) => memory.get(0, 1, c));
    const mean = row.reduce((s, v) => s + v, 0) / 32;
    const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / 32;
    assert.ok(Math.abs(mean) < 1e-5 && Math.abs(variance - 1) < 1e-3, `post-LN output mean ${mean}, variance ${variance}`);
  });
  assert.equal(post.model.encoder.layer_norm, null);
  assert.ok(tiny({ normalize_before: true }).model.encoder.layer_norm !== null);
  const shared = tiny();
  const separate = tiny({ share_encoder_decoder_embeddings: false });
  const untied = tiny({ tie_word_embeddings: false });
  assert.equal(shared.model.encoder.embed_tokens, shared.model.decoder.embed_tokens);
  assert.equal(separate.numParameters() - shared.numParameters(), V * 32);
  assert.equal(untied.numParameters() - shared.numParameters(), V * 32);
  assert.throws(() => tiny({ d_model: 31 }), /d_model 31 is not divisible by encoder_attention_heads 2/);
});

test('model folder round trip: config.json with BART field names, tied table saved once, same logits after loading', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-transformer-'));
  try {
    const tokenizer = charTokenizerFromAlphabet([...'abcdefgh'], { specialTokens: ['<pad>', '<s>', '</s>'] });
    const model = tiny({ position: 'relative', normalize_before: true });
    saveSeq2SeqModel(dir, model, tokenizer);
    const loaded = loadSeq2SeqFolder(dir);
    assert.ok(loaded.model instanceof Transformer);
    assert.equal(loaded.model.config.position, 'relative');
    noGrad(() => {
      const error = maxDifference(model.forward(source, { decoderInputIds: decoderInput }).logits, loaded.model.eval().forward(source, { decoderInputIds: decoderInput }).logits);
      assert.equal(error, 0);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
