import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arithmeticPreferences } from '../../src/align/data.ts';
import { RewardModel, bradleyTerryLoss, loadRewardModel, pairwiseAccuracy, rewardBatch, saveRewardModel, trainRewardModel } from '../../src/align/reward-model.ts';
import { GPT } from '../../src/models/gpt.ts';
import { Llama } from '../../src/models/llama.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';

const tokenizer = trainCharTokenizer('0123456789+-=!', { specialTokens: ['<|endoftext|>'] });
const gpt = () => new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 16, n_head: 2, n_positions: 16, initializer_range: 0.3 }, { rng: new Rng(1) });

test('Bradley–Terry loss equals mean log(1 + exp(−(r_chosen − r_rejected)))', () => {
  const chosen = [1.5, -0.3, 0.2];
  const rejected = [0.5, 0.4, 0.2];
  const expected = chosen.reduce((total, r, i) => total + Math.log1p(Math.exp(-(r - rejected[i]))), 0) / 3;
  const loss = bradleyTerryLoss(Tensor.from(chosen, [3], { dtype: 'float64' }), Tensor.from(rejected, [3], { dtype: 'float64' }));
  assert.ok(Math.abs(loss.item() - expected) < 1e-12);
});

test('rewardBatch: the reward is read at each row’s last real token (right padding)', () => {
  const batch = rewardBatch(tokenizer, [{ prompt: '1+2=', completion: '3' }, { prompt: '10+10=', completion: '20' }], 16);
  assert.deepEqual(batch.lastIndex, [4, 7]);
  assert.deepEqual(batch.ids.shape, [2, 8]);
  assert.equal(batch.ids.get(0, 4), tokenizer.tokenToId('3'));
});

test('the reward is a function of the tokens up to the last real one only (padding and later tokens do not change it)', () => {
  const model = new RewardModel(gpt(), new Rng(2)).eval();
  const one = model.scoreCompletions(tokenizer, [{ prompt: '1+2=', completion: '3' }], 16);
  const padded = model.scoreCompletions(tokenizer, [{ prompt: '1+2=', completion: '3' }, { prompt: '10+10=', completion: '20' }], 16);
  assert.ok(Math.abs(one[0] - padded[0]) < 1e-6);
});

test('training on pairs a rule separates reaches high held-out pairwise accuracy; the folder round-trips with HF names', (t) => {
  const pairs = arithmeticPreferences({ count: 60, seed: 4, maxOperand: 9, suffixRate: 1 }); // chosen always ends in "!"
  const model = new RewardModel(gpt(), new Rng(2));
  const before = pairwiseAccuracy(model, tokenizer, pairs.slice(40), 16);
  const history = trainRewardModel(model, tokenizer, pairs.slice(0, 40), pairs.slice(40), { steps: 25, batchSize: 8, learningRate: 1e-2, blockSize: 16, evalInterval: 25, seed: 0 });
  const after = history[history.length - 1].eval_accuracy!;
  assert.ok(after >= 0.9 && after > before, `accuracy ${before} → ${after}`);
  assert.ok(history[history.length - 1].loss < history[0].loss);

  const dir = mkdtempSync(join(tmpdir(), 'qkv-reward-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  saveRewardModel(dir, model, tokenizer);
  const keys = Object.keys(model.stateDict());
  assert.equal(keys[0], 'transformer.wte.weight');
  assert.equal(keys[keys.length - 1], 'score.weight');
  const loaded = loadRewardModel(dir);
  const sample = [{ prompt: '3+4=', completion: '7' }];
  assert.ok(Math.abs(loaded.model.scoreCompletions(loaded.tokenizer, sample, 16)[0] - model.scoreCompletions(tokenizer, sample, 16)[0]) < 1e-6);
});

test('Llama bodies work too, without the LM head in the reward model; the folder round-trips', (t) => {
  const llama = new Llama({ vocab_size: tokenizer.vocabSize, num_hidden_layers: 1, hidden_size: 8, num_attention_heads: 2, max_position_embeddings: 16 }, { rng: new Rng(1) });
  const model = new RewardModel(llama, new Rng(2));
  assert.ok(!Object.keys(model.stateDict()).some((key) => key.startsWith('lm_head')));
  const batch = rewardBatch(tokenizer, [{ prompt: '1+1=', completion: '2' }], 16);
  const reward = model.forward(batch.ids, batch.lastIndex);
  reward.sum().backward();
  assert.ok(model.score.weight.grad !== null && llama.model.layers[0].mlp.up_proj.weight.grad !== null);
  const dir = mkdtempSync(join(tmpdir(), 'qkv-reward-llama-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  saveRewardModel(dir, model, tokenizer);
  const loaded = loadRewardModel(dir);
  assert.ok(loaded.model.body instanceof Llama);
  const sample = [{ prompt: '1+1=', completion: '2' }];
  assert.ok(Math.abs(loaded.model.scoreCompletions(tokenizer, sample, 16)[0] - model.scoreCompletions(tokenizer, sample, 16)[0]) < 1e-6);
});
