import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BertForMaskedLM } from '../../src/models/bert-heads.ts';
import { IGNORE_INDEX, maskTokens, PretrainingDataset, splitDocuments, type MaskingVocabulary } from '../../src/train/mlm.ts';
import { trainWordPiece } from '../../src/tokenizers/wordpiece-trainer.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

// Ids 0–4 special ([PAD] [UNK] [CLS] [SEP] [MASK]); 5–104 ordinary; odd ids ≥ 50 are `##` continuations.
const vocabulary: MaskingVocabulary = {
  maskId: 4,
  specialIds: new Set([0, 1, 2, 3, 4]),
  randomIds: Array.from({ length: 100 }, (_, i) => i + 5),
  isContinuation: (id) => id >= 50 && id % 2 === 1,
};

test('masking over 100k tokens: 15% chosen, of those 80% [MASK] / 10% random / 10% kept; specials never; labels -100 elsewhere', () => {
  const rng = new Rng(1);
  const ids = [2, ...Array.from({ length: 100_000 }, () => 5 + rng.randint(100)), 3];
  const { inputIds, labels } = maskTokens(ids, vocabulary, new Rng(2));
  let chosen = 0, masked = 0, replaced = 0, kept = 0;
  for (let i = 0; i < ids.length; i++) {
    if (labels[i] === IGNORE_INDEX) {
      assert.equal(inputIds[i], ids[i], `unchosen position ${i} must be unchanged`);
      continue;
    }
    assert.equal(labels[i], ids[i]);
    chosen++;
    if (inputIds[i] === 4) masked++;
    else if (inputIds[i] === ids[i]) kept++;
    else replaced++;
  }
  assert.equal(labels[0], IGNORE_INDEX);
  assert.equal(labels[ids.length - 1], IGNORE_INDEX);
  // Binomial standard errors: 0.0011 for the 15%, ~0.003 for 80%, ~0.002 for 10%: bounds at ≥ 4σ.
  const rate = chosen / 100_000;
  assert.ok(Math.abs(rate - 0.15) < 0.005, `chosen ${rate}`);
  assert.ok(Math.abs(masked / chosen - 0.8) < 0.012, `masked ${masked / chosen}`);
  // A random draw equal to the original counts as kept (1 in 100): 10% − 0.1% and 10% + 0.1%.
  assert.ok(Math.abs(replaced / chosen - 0.099) < 0.01, `random ${replaced / chosen}`);
  assert.ok(Math.abs(kept / chosen - 0.101) < 0.01, `kept ${kept / chosen}`);
});

test('whole-word masking chooses a word with all its ## pieces, at the same 15% of words', () => {
  const rng = new Rng(3);
  const ids: number[] = [];
  for (let word = 0; word < 20_000; word++) {
    ids.push(6 + 2 * rng.randint(20)); // a word start (even id)
    for (let piece = rng.randint(3); piece > 0; piece--) ids.push(51 + 2 * rng.randint(25)); // continuations (odd ≥ 51)
  }
  const { labels } = maskTokens(ids, vocabulary, new Rng(4), { wholeWordMasking: true });
  let words = 0, chosenWords = 0;
  for (let i = 0; i < ids.length; i++) {
    if (vocabulary.isContinuation(ids[i])) {
      assert.equal(labels[i] === IGNORE_INDEX, labels[i - 1] === IGNORE_INDEX, `piece ${i} must follow its word`);
      continue;
    }
    words++;
    if (labels[i] !== IGNORE_INDEX) chosenWords++;
  }
  assert.ok(Math.abs(chosenWords / words - 0.15) < 0.011, `words chosen ${chosenWords / words}`);
});

test('the MLM loss is the mean cross-entropy over chosen positions only', () => {
  const model = new BertForMaskedLM({ vocab_size: 30, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 8 }, { rng: new Rng(5) }).eval();
  const ids = Tensor.from([[2, 4, 9, 4, 3], [2, 11, 4, 3, 0]]);
  const labels = [[-100, 17, -100, 21, -100], [-100, -100, 8, -100, -100]];
  const { logits, loss } = noGrad(() => model.forward(ids, { targets: Tensor.from(labels), attentionMask: Tensor.from([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]]) }));
  let total = 0;
  const chosen = [[0, 1, 17], [0, 3, 21], [1, 2, 8]];
  for (const [b, t, target] of chosen) {
    const row = Array.from({ length: 30 }, (_, v) => logits.get(b, t, v));
    const max = Math.max(...row);
    const logSumExp = max + Math.log(row.reduce((sum, x) => sum + Math.exp(x - max), 0));
    total += logSumExp - row[target];
  }
  assert.ok(Math.abs(loss!.item() - total / chosen.length) < 1e-5, `${loss!.item()} vs ${total / chosen.length}`);
  // Gathering the chosen positions first (Google's masked_lm_positions) gives the same loss and gradients.
  const options = { targets: Tensor.from(labels), attentionMask: Tensor.from([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]]) };
  const full = model.forward(ids, options).loss!;
  full.backward();
  const fullGrad = model.cls.predictions.transform.dense.weight.grad!.toArray();
  model.zeroGrad();
  const gathered = model.forward(ids, { ...options, gatherTargets: true });
  assert.deepEqual(gathered.logits.shape, [3, 30]);
  assert.ok(Math.abs(gathered.loss!.item() - full.item()) < 1e-6);
  gathered.loss!.backward();
  model.cls.predictions.transform.dense.weight.grad!.toArray().forEach((g, i) => assert.ok(Math.abs(g - fullGrad[i]) < 1e-6, `grad ${i}`));
});

function corpus(): string {
  // Document d, sentence s reads "dd sss ." with d and s spelled out, so a pair can be decoded and checked.
  const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];
  return names.map((doc) => names.slice(0, 6).map((sentence) => `${doc} ${sentence} .`).join(' ')).join('\n\n');
}

test('NSP pairs: 50/50 IsNext/NotNext; IsNext B continues A in the same document, NotNext B comes from another', () => {
  const text = corpus();
  const tokenizer = trainWordPiece([text], { vocabSize: 200, minFrequency: 1 });
  const documents = splitDocuments(text);
  assert.equal(documents.length, 12);
  assert.equal(documents[0].length, 6);
  const dataset = new PretrainingDataset(tokenizer, documents, { validationFraction: 0.2 });
  assert.equal(dataset.train.length, 10);
  const rng = new Rng(6);
  const order = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];
  let notNext = 0;
  const samples = 4000;
  for (let i = 0; i < samples; i++) {
    const { ids, typeIds, nextSentenceLabel } = dataset.samplePair(dataset.train, 24, rng);
    assert.ok(ids.length <= 24);
    const sepA = ids.indexOf(3);
    const words = (part: number[]) => tokenizer.decode(part).split(/\s*\.\s*/).filter(Boolean).map((s) => s.trim().split(' '));
    const a = words(ids.slice(1, sepA));
    const b = words(ids.slice(sepA + 1, -1));
    assert.ok(typeIds.slice(0, sepA + 1).every((x) => x === 0) && typeIds.slice(sepA + 1).every((x) => x === 1));
    const lastA = a[a.length - 1];
    const firstB = b[0];
    if (nextSentenceLabel === 1) {
      notNext++;
      assert.notEqual(firstB[0], lastA[0], 'NotNext: B from another document');
    } else {
      assert.equal(firstB[0], lastA[0], 'IsNext: same document');
      assert.equal(order.indexOf(firstB[1]), order.indexOf(lastA[1]) + 1, `IsNext: B follows A (${lastA} → ${firstB})`);
    }
  }
  assert.ok(Math.abs(notNext / samples - 0.5) < 0.032, `NotNext share ${notNext / samples}`); // 4σ = 0.032
  const batch = dataset.sampleBatch('validation', 4, 24, rng);
  assert.deepEqual(batch.ids.shape, [4, 24]);
  assert.deepEqual(batch.forwardOptions.nextSentenceLabels!.shape, [4]);
});
