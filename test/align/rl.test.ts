import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCorrectAnswer } from '../../src/align/data.ts';
import { RewardModel } from '../../src/align/reward-model.ts';
import { bestOfN, sampleBatch, trainRl } from '../../src/align/rl.ts';
import { GPT } from '../../src/models/gpt.ts';
import { Rng } from '../../src/tensor/random.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';

const tokenizer = trainCharTokenizer('0123456789+-=!', { specialTokens: ['<|endoftext|>'] });
const config = { vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 16, n_head: 2, n_positions: 16, initializer_range: 0.3 };
const quality = (prompt: string, completion: string) => (isCorrectAnswer(prompt, completion) ? 1 : 0);

test('sampleBatch: the targets are exactly the sampled tokens, the prompt ignored', () => {
  const id = (ch: string) => tokenizer.tokenToId(ch)!;
  const batch = sampleBatch([{ prompt: '1+1=', promptIds: [id('1'), id('+'), id('1'), id('=')], ids: [id('2'), id('!')], completion: '2!' }], 16, 0);
  assert.deepEqual(batch.targets.toArray(), [-100, -100, -100, id('2'), id('!')]);
});

test('REINFORCE against a reward model raises the held-out reward; KL starts at 0 and grows; β_KL holds it closer', async () => {
  const rewardModel = new RewardModel(new GPT(config, { rng: new Rng(9) }), new Rng(10)).requiresGrad_(false) as RewardModel;
  const prompts = ['1+2=', '3+4=', '5+1=', '2+2=', '7+0=', '6+3='];
  const run = async (klCoef: number) => trainRl({
    policy: new GPT(config, { rng: new Rng(2) }), reference: new GPT(config, { rng: new Rng(2) }).requiresGrad_(false) as GPT,
    rewardModel, tokenizer, prompts, heldOutPrompts: prompts, quality,
    config: { steps: 12, promptsPerStep: 3, samplesPerPrompt: 4, maxNewTokens: 3, temperature: 1, learningRate: 3e-2, klCoef, evalInterval: 12, seed: 0 },
  });
  const free = await run(0);
  const first = free[0].eval!;
  const last = free[free.length - 1].eval!;
  assert.equal(first.kl, 0);
  assert.ok(last.reward > first.reward + 0.1, `reward ${first.reward} → ${last.reward}`);
  assert.ok(last.kl > 0.05, `kl ${last.kl}`);
  const held = await run(5);
  assert.ok(held[held.length - 1].eval!.kl < last.kl, `KL with β_KL=5: ${held[held.length - 1].eval!.kl} vs ${last.kl}`);
});

test('best-of-n: KL bound log n − (n−1)/n (0 for n = 1); the best of 8 samples scores above a single sample (seeded)', async () => {
  const reference = new GPT(config, { rng: new Rng(2) });
  const rewardModel = new RewardModel(new GPT(config, { rng: new Rng(9) }), new Rng(10));
  const common = { reference, rewardModel, tokenizer, heldOutPrompts: ['1+2=', '3+4=', '5+1='], quality, maxNewTokens: 3, seed: 1 };
  const one = await bestOfN({ ...common, n: 1 });
  const eight = await bestOfN({ ...common, n: 8 });
  assert.equal(one.klBound, 0);
  assert.ok(Math.abs(eight.klBound - (Math.log(8) - 7 / 8)) < 1e-12);
  assert.ok(eight.reward >= one.reward, `${one.reward} vs ${eight.reward}`);
});
