import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT } from '../../src/models/gpt.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';
import { Rng } from '../../src/tensor/random.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { evaluatePerplexity } from '../../src/eval/perplexity.ts';

test('perplexity is e^loss, and the loss equals a per-token log-softmax sum done by hand', () => {
  const text = 'the cat sat on the mat and the dog sat on the log';
  const tokenizer = trainCharTokenizer(text);
  const model = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 8, n_head: 2, n_positions: 8 }, { rng: new Rng(1) });
  const result = evaluatePerplexity(model, tokenizer, text, { batchSize: 3 });
  const ids = tokenizer.encodeIds(text);
  assert.equal(result.tokens, ids.length - 1);
  assert.ok(Math.abs(result.perplexity - Math.exp(result.loss)) < 1e-9);
  // Independent: windows of 9 tokens, sum of −log p(target) from the logits.
  let total = 0;
  noGrad(() => {
    for (let start = 0; start < ids.length - 1; start += 8) {
      const window = ids.slice(start, start + 9);
      const { logits } = model.forward(Tensor.from(window.slice(0, -1), [1, window.length - 1]));
      for (let t = 0; t < window.length - 1; t++) {
        const row = Array.from({ length: tokenizer.vocabSize }, (_, v) => logits.get(0, t, v));
        const max = Math.max(...row);
        const logSumExp = max + Math.log(row.reduce((acc, x) => acc + Math.exp(x - max), 0));
        total += logSumExp - row[window[t + 1]];
      }
    }
  });
  assert.ok(Math.abs(result.loss - total / (ids.length - 1)) < 1e-5, `${result.loss} vs ${total / (ids.length - 1)}`);
});
