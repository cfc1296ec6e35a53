import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  attentionColor,
  attentionColorHex,
  checkDrawable,
  collectAttentionMaps,
  isAttentionModel,
  tokenLabel,
  visibleText,
  type AttentionModel,
} from '../../src/lab/attention-maps.ts';
import { GPT } from '../../src/models/gpt.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { loadGpt2Tokenizer } from '../../src/tokenizers/gpt2.ts';
import { SAMPLE_TEXT, tinyModel } from './fixtures.ts';

test('collects every layer and head, equal to the model\'s own attentionWeights()', () => {
  const { model, tokenizer } = tinyModel();
  const maps = collectAttentionMaps(model, tokenizer, SAMPLE_TEXT);
  const ids = tokenizer.encode(SAMPLE_TEXT).ids;
  const T = ids.length;
  assert.deepEqual(maps.ids, ids);
  assert.equal(maps.labels.length, T);
  assert.equal(maps.numLayers, 2);
  assert.equal(maps.numHeads, 2);
  assert.deepEqual(maps.maps.map((m) => [m.layer, m.head]), [[0, 0], [0, 1], [1, 0], [1, 1]]);

  // an independent forward: the maps must hold exactly these numbers
  model.forward(Tensor.from(ids, [1, T]), { returnAttention: true });
  const reference = model.attentionWeights();
  for (const map of maps.maps) {
    const weights = reference[map.layer]!;
    for (let i = 0; i < T; i++) {
      let rowSum = 0;
      for (let j = 0; j < T; j++) {
        const expected = weights.get(0, map.head, i, j);
        assert.equal(map.weights[i][j], expected, `layer ${map.layer} head ${map.head} [${i}][${j}]: ${map.weights[i][j]} vs model ${expected}`);
        if (j > i) assert.equal(map.weights[i][j], 0, `causal: layer ${map.layer} head ${map.head} query ${i} attends to future key ${j}`);
        rowSum += map.weights[i][j];
      }
      assert.ok(Math.abs(rowSum - 1) < 1e-5, `layer ${map.layer} head ${map.head} row ${i} sums to ${rowSum}`);
    }
  }
});

test('a model in training mode is looked at in eval mode (no attention dropout), then left training', () => {
  const { tokenizer } = tinyModel();
  const model = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 16, n_head: 2, n_positions: 32, attn_pdrop: 0.5, initializer_range: 0.35 }, { rng: new Rng(4) });
  assert.equal(model.training, true);
  const maps = collectAttentionMaps(model, tokenizer, SAMPLE_TEXT);
  assert.equal(model.training, true, 'training mode restored');
  model.eval();
  const ids = tokenizer.encode(SAMPLE_TEXT).ids;
  model.forward(Tensor.from(ids, [1, ids.length]), { returnAttention: true });
  const reference = model.attentionWeights()[0]!;
  for (const map of maps.maps) {
    map.weights.forEach((row, i) => {
      const rowSum = row.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(rowSum - 1) < 1e-5, `head ${map.head} row ${i} sums to ${rowSum}: dropout was on`);
      row.forEach((weight, j) => assert.equal(weight, reference.get(0, map.head, i, j)));
    });
  }
});

test('one layer, one head, or one head of every layer', () => {
  const { model, tokenizer } = tinyModel();
  assert.deepEqual(collectAttentionMaps(model, tokenizer, 'jury', { layer: 1 }).maps.map((m) => [m.layer, m.head]), [[1, 0], [1, 1]]);
  assert.deepEqual(collectAttentionMaps(model, tokenizer, 'jury', { layer: 1, head: 0 }).maps.map((m) => [m.layer, m.head]), [[1, 0]]);
  assert.deepEqual(collectAttentionMaps(model, tokenizer, 'jury', { head: 1 }).maps.map((m) => [m.layer, m.head]), [[0, 1], [1, 1]]);
});

test('errors name what is out of range', () => {
  const { model, tokenizer } = tinyModel();
  assert.throws(() => collectAttentionMaps(model, tokenizer, 'jury', { layer: 2 }), /layer 2 is out of range: the model has 2 layers \(0–1\)/);
  assert.throws(() => collectAttentionMaps(model, tokenizer, 'jury', { head: 5 }), /head 5 is out of range: the model has 2 heads per layer/);
  assert.throws(() => collectAttentionMaps(model, tokenizer, ''), /no tokens/);
  assert.throws(() => collectAttentionMaps(model, tokenizer, 'a'.repeat(33)), /33 tokens, longer than the model's context of 32/);
});

test('any model with forward + attentionWeights works (not only GPT), e.g. a bidirectional one', () => {
  // a fake encoder whose every head attends uniformly to all keys: no causal mask
  let seen: Tensor | null = null;
  const fake: AttentionModel = {
    forward(ids) {
      const T = ids.shape[1];
      seen = Tensor.full([1, 3, T, T], 1 / T);
      return {};
    },
    attentionWeights: () => [seen],
  };
  assert.ok(isAttentionModel(fake));
  assert.ok(!isAttentionModel({ forward() {} }));
  assert.ok(!isAttentionModel(null));
  const { tokenizer } = tinyModel();
  const maps = collectAttentionMaps(fake, tokenizer, 'said');
  assert.equal(maps.numHeads, 3);
  assert.equal(maps.maps.length, 3);
  assert.equal(maps.maps[2].weights[0][3], 0.25);

  const broken: AttentionModel = { forward: () => ({}), attentionWeights: () => [null] };
  assert.throws(() => collectAttentionMaps(broken, tokenizer, 'said'), /layer 0 kept no attention weights/);
});

test('labels make whitespace and control characters visible', () => {
  const { model, tokenizer } = tinyModel();
  assert.deepEqual(collectAttentionMaps(model, tokenizer, 'a b\n').labels, ['a', '␣', 'b', '↵']);
  assert.equal(visibleText('x\ty\u0001\u007f'), 'x⇥y\\x01\\x7f');
  assert.equal(visibleText('é ü'), 'é␣ü');
});

test('byte-level BPE labels read as text: Ġ becomes a visible space, a split character keeps its bytes', () => {
  const gpt2 = loadGpt2Tokenizer();
  const encoding = gpt2.encode('The jury naïve 😀\n');
  const labels = encoding.ids.map((id, i) => tokenLabel(gpt2, id, encoding.tokens[i]));
  assert.deepEqual(labels, ['The', '␣jury', '␣naïve', 'ĠðŁĺ', 'Ģ', '↵']);
});

test('a drawing too large to open is refused with a hint', () => {
  const T = 1000;
  const maps = { text: '', ids: [], tokens: [], labels: new Array<string>(T).fill('x'), numLayers: 1, numHeads: 3, maps: [0, 1, 2].map((head) => ({ layer: 0, head, weights: [] })) };
  assert.throws(() => checkDrawable(maps, 'renderAttentionSvg'), /renderAttentionSvg: 3 panels of 1000×1000 tokens are 3000000 cells.*pick one --layer\/--head/);
  checkDrawable({ ...maps, maps: maps.maps.slice(0, 1) }, 'renderAttentionSvg');
});

test('colour scale: 0 is white, 1 is dark blue, darker as the weight grows, NaN stands out', () => {
  assert.deepEqual(attentionColor(0), [255, 255, 255]);
  assert.deepEqual(attentionColor(1), [8, 48, 107]);
  assert.equal(attentionColorHex(1), '#08306b');
  assert.equal(attentionColorHex(0.5), '#6baed6');
  assert.deepEqual(attentionColor(-1), attentionColor(0));
  assert.deepEqual(attentionColor(2), attentionColor(1));
  assert.deepEqual(attentionColor(Number.NaN), [220, 0, 0]);
  let previous = Infinity;
  for (let k = 0; k <= 100; k++) {
    const brightness = attentionColor(k / 100).reduce((a, b) => a + b, 0);
    assert.ok(brightness <= previous, `brightness at ${k / 100} (${brightness}) above the previous (${previous})`);
    previous = brightness;
  }
});
