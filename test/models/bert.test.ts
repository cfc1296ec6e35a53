import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BertLayer, BertModel, meanPool, resolveBertConfig } from '../../src/models/bert.ts';
import { BertForPreTraining, BertForSequenceClassification } from '../../src/models/bert-heads.ts';
import { gradcheck } from '../../src/tensor/gradcheck.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

const tiny = { vocab_size: 20, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 12 };

test('BertForPreTraining has exactly the names and shapes of HF modeling_bert.BertForPreTraining', () => {
  const model = new BertForPreTraining(tiny, { rng: new Rng(1) });
  const [V, C, I, P] = [20, 8, 16, 12];
  const layer = (i: number): [string, number[]][] => [
    [`bert.encoder.layer.${i}.attention.self.query.weight`, [C, C]], [`bert.encoder.layer.${i}.attention.self.query.bias`, [C]],
    [`bert.encoder.layer.${i}.attention.self.key.weight`, [C, C]], [`bert.encoder.layer.${i}.attention.self.key.bias`, [C]],
    [`bert.encoder.layer.${i}.attention.self.value.weight`, [C, C]], [`bert.encoder.layer.${i}.attention.self.value.bias`, [C]],
    [`bert.encoder.layer.${i}.attention.output.dense.weight`, [C, C]], [`bert.encoder.layer.${i}.attention.output.dense.bias`, [C]],
    [`bert.encoder.layer.${i}.attention.output.LayerNorm.weight`, [C]], [`bert.encoder.layer.${i}.attention.output.LayerNorm.bias`, [C]],
    [`bert.encoder.layer.${i}.intermediate.dense.weight`, [I, C]], [`bert.encoder.layer.${i}.intermediate.dense.bias`, [I]],
    [`bert.encoder.layer.${i}.output.dense.weight`, [C, I]], [`bert.encoder.layer.${i}.output.dense.bias`, [C]],
    [`bert.encoder.layer.${i}.output.LayerNorm.weight`, [C]], [`bert.encoder.layer.${i}.output.LayerNorm.bias`, [C]],
  ];
  // PyTorch state_dict order: a module's own parameters before its children's (cls.predictions.bias first).
  const expected: [string, number[]][] = [
    ['bert.embeddings.word_embeddings.weight', [V, C]], ['bert.embeddings.position_embeddings.weight', [P, C]],
    ['bert.embeddings.token_type_embeddings.weight', [2, C]], ['bert.embeddings.LayerNorm.weight', [C]], ['bert.embeddings.LayerNorm.bias', [C]],
    ...layer(0), ...layer(1),
    ['bert.pooler.dense.weight', [C, C]], ['bert.pooler.dense.bias', [C]],
    ['cls.predictions.bias', [V]],
    ['cls.predictions.transform.dense.weight', [C, C]], ['cls.predictions.transform.dense.bias', [C]],
    ['cls.predictions.transform.LayerNorm.weight', [C]], ['cls.predictions.transform.LayerNorm.bias', [C]],
    ['cls.seq_relationship.weight', [2, C]], ['cls.seq_relationship.bias', [2]],
  ];
  assert.deepEqual(Object.entries(model.stateDict()).map(([name, t]) => [name, t.shape]), expected);
  const classifier = new BertForSequenceClassification(tiny, { labels: ['a', 'b', 'c'] });
  const names = Object.keys(classifier.stateDict());
  assert.deepEqual(names.slice(-4), ['bert.pooler.dense.weight', 'bert.pooler.dense.bias', 'classifier.weight', 'classifier.bias']);
  assert.deepEqual(classifier.classifier.weight.shape, [3, C]);
  // The MLM decoder is the word-embedding table itself (tied), not a copy.
  const ids = Tensor.from([[2, 5, 6, 3]]);
  const { logits } = noGrad(() => model.eval().forward(ids));
  const h = model.cls.predictions.transform.forward(model.bert.forward(ids).lastHiddenState);
  const manual = h.matmul(model.bert.embeddings.word_embeddings.weight.transpose(0, 1)).add(model.cls.predictions.bias);
  assert.ok(logits.sub(manual).abs().max(2).values.max(1).values.item() < 1e-6);
});

test('embeddings: word + position + token type summed, then LayerNorm (by hand); token types change the output', () => {
  const bert = new BertModel(tiny, { rng: new Rng(2) }).eval();
  const emb = bert.embeddings;
  const ids = [2, 7, 9, 3, 11, 3];
  const types = [0, 0, 0, 0, 1, 1];
  const out = noGrad(() => emb.forward(Tensor.from([ids]), Int32Array.from(types)));
  const C = 8;
  for (let t = 0; t < ids.length; t++) {
    const sum = Array.from({ length: C }, (_, c) => emb.word_embeddings.weight.get(ids[t], c) + emb.position_embeddings.weight.get(t, c) + emb.token_type_embeddings.weight.get(types[t], c));
    const mean = sum.reduce((a, b) => a + b, 0) / C;
    const variance = sum.reduce((a, b) => a + (b - mean) ** 2, 0) / C;
    for (let c = 0; c < C; c++) {
      const expected = ((sum[c] - mean) / Math.sqrt(variance + 1e-12)) * emb.LayerNorm.weight!.get(c) + emb.LayerNorm.bias!.get(c);
      assert.ok(Math.abs(out.get(0, t, c) - expected) < 1e-4, `position ${t}, channel ${c}: ${out.get(0, t, c)} vs ${expected}`);
    }
  }
  const a = noGrad(() => bert.forward(Tensor.from([ids]), { tokenTypeIds: Int32Array.from(types) }).lastHiddenState);
  const b = noGrad(() => bert.forward(Tensor.from([ids]), { tokenTypeIds: new Int32Array(6) }).lastHiddenState);
  assert.ok(a.sub(b).abs().max(2).values.max(1).values.item() > 1e-3);
});

test('encoder layer is post-LN: Norm(x + Attn(x)) then Norm(a + FFN(a)), rows come out normalised', () => {
  const config = resolveBertConfig(tiny);
  const layer = new BertLayer(config).eval();
  const x = Tensor.randn([2, 5, 8], { rng: new Rng(3) });
  const out = noGrad(() => layer.forward(x, null));
  const manual = noGrad(() => {
    const attn = layer.attention;
    const a = attn.output.LayerNorm.forward(x.add(attn.output.dense.forward(attn.self.forward(x, null))));
    const ffn = layer.output.dense.forward(layer.intermediate.dense.forward(a).gelu('none'));
    return layer.output.LayerNorm.forward(a.add(ffn));
  });
  assert.ok(out.sub(manual).abs().max(2).values.max(1).values.max(0).values.item() < 1e-6);
  // With the LayerNorm gains at 1 and biases 0, every output row has mean 0 and variance 1 (a pre-LN layer's would not).
  const rowMean = out.mean(2).abs().max(1).values.max(0).values.item();
  const rowVar = out.var(2).sub(1).abs().max(1).values.max(0).values.item();
  assert.ok(rowMean < 1e-5 && rowVar < 1e-3, `mean ${rowMean}, var−1 ${rowVar}`);
});

test('padding: padded tokens do not change real positions; meanPool ignores them', () => {
  const bert = new BertModel(tiny, { rng: new Rng(4) }).eval();
  const mask = Tensor.from([[1, 1, 1, 0, 0]]);
  const a = noGrad(() => bert.forward(Tensor.from([[2, 5, 3, 0, 0]]), { attentionMask: mask }).lastHiddenState);
  const b = noGrad(() => bert.forward(Tensor.from([[2, 5, 3, 17, 9]]), { attentionMask: mask }).lastHiddenState);
  const alone = noGrad(() => bert.forward(Tensor.from([[2, 5, 3]])).lastHiddenState);
  for (let t = 0; t < 3; t++) for (let c = 0; c < 8; c++) {
    assert.ok(Math.abs(a.get(0, t, c) - b.get(0, t, c)) < 1e-6);
    assert.ok(Math.abs(a.get(0, t, c) - alone.get(0, t, c)) < 1e-5);
  }
  // meanPool by hand: [[1,2],[3,4],[100,100]] with mask [1,1,0] → [2,3]; an all-padding row → zeros.
  const hidden = Tensor.from([[[1, 2], [3, 4], [100, 100]], [[5, 5], [6, 6], [7, 7]]]);
  assert.deepEqual(meanPool(hidden, Tensor.from([[1, 1, 0], [0, 0, 0]])).toArray(), [2, 3, 0, 0]);
});

test('gradients: a BERT layer with padding, meanPool, and the classification loss match finite differences', () => {
  const config = resolveBertConfig({ ...tiny, hidden_size: 4, intermediate_size: 6 });
  const layer = new BertLayer(config).to('float64').eval();
  const x = Tensor.randn([1, 3, 4], { rng: new Rng(5), dtype: 'float64', requiresGrad: true });
  const keep = Tensor.from([[1, 1, 0]], undefined, { dtype: 'float64' });
  gradcheck('BertLayer (padded)', () => layer.forward(x, keep), [x, ...layer.parameters()]);
  const hidden = Tensor.randn([2, 3, 4], { rng: new Rng(6), dtype: 'float64', requiresGrad: true });
  gradcheck('meanPool', (h) => meanPool(h, Tensor.from([[1, 1, 0], [1, 0, 0]])), [hidden]);
  const classifier = new BertForSequenceClassification({ ...tiny, hidden_size: 4, intermediate_size: 6, num_hidden_layers: 1 }, { labels: ['x', 'y'], rng: new Rng(7) }).to('float64').eval();
  const params = [classifier.classifier.weight, classifier.bert.pooler!.dense.weight, classifier.bert.embeddings.token_type_embeddings.weight];
  gradcheck('BertForSequenceClassification loss', () => classifier.forward(Tensor.from([[2, 5, 3], [2, 9, 3]]), { targets: [1, 0] }).loss!, params);
});

test('bad inputs name the field or shape', () => {
  assert.throws(() => new BertModel({ ...tiny, num_attention_heads: 3 }), /hidden_size 8 is not divisible by num_attention_heads 3/);
  const bert = new BertModel(tiny);
  assert.throws(() => bert.forward(Tensor.from([[1, 2, 3]]), { attentionMask: Tensor.from([[1, 1]]) }), /attention_mask must be \(B,T\) = \(1,3\)/);
  assert.throws(() => bert.forward(Tensor.from([Array(13).fill(1)])), /exceeds max_position_embeddings 12/);
  assert.throws(() => new BertForSequenceClassification(tiny, { labels: ['only'] }), /at least 2 labels/);
});
