import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyLora } from '../../src/adapt/lora.ts';
import { arithmeticPreferences } from '../../src/align/data.ts';
import { dpoLoss, evaluateDpo, trainDpo } from '../../src/align/dpo.ts';
import { GPT } from '../../src/models/gpt.ts';
import { gradcheck } from '../../src/tensor/gradcheck.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';

const softplus = (x: number) => Math.log1p(Math.exp(x)); // −log σ(z) = softplus(−z)
const t64 = (values: number[], requiresGrad = false) => Tensor.from(values, [values.length], { dtype: 'float64' }).requiresGrad_(requiresGrad);

test('DPO loss and TRL metrics equal a hand-computed example (β = 0.1)', () => {
  // pair 1: log ratios +0.5 (chosen), −0.5 (rejected) → z = 0.1·1.0 = 0.1
  // pair 2: log ratios −0.2 (chosen), +0.6 (rejected) → z = 0.1·(−0.8) = −0.08
  const { loss, metrics } = dpoLoss(t64([-2, -1.2]), t64([-3, -0.9]), t64([-2.5, -1.0]), t64([-2.5, -1.5]), 0.1);
  const expectedLoss = (softplus(-0.1) + softplus(0.08)) / 2;
  assert.ok(Math.abs(loss.item() - expectedLoss) < 1e-12, `${loss.item()} vs ${expectedLoss}`);
  const expected = {
    'rewards/chosen': (0.05 + -0.02) / 2,
    'rewards/rejected': (-0.05 + 0.06) / 2,
    'rewards/accuracies': 0.5,
    'rewards/margins': (0.1 + -0.08) / 2,
    'logps/chosen': (-2 + -1.2) / 2,
    'logps/rejected': (-3 + -0.9) / 2,
  };
  for (const [name, value] of Object.entries(expected)) assert.ok(Math.abs(metrics[name as keyof typeof metrics] - value) < 1e-12, `${name}: ${metrics[name as keyof typeof metrics]} vs ${value}`);
  // gradients through the policy's log-probs only, checked by finite differences
  const chosen = t64([-2, -1.2], true);
  const rejected = t64([-3, -0.9], true);
  gradcheck('dpoLoss', (c, r) => dpoLoss(c, r, t64([-2.5, -1.0]), t64([-2.5, -1.5]), 0.1).loss, [chosen, rejected]);
});

function setup() {
  const tokenizer = trainCharTokenizer('0123456789+-=!', { specialTokens: ['<|endoftext|>'] });
  const config = { vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 16, n_head: 2, n_positions: 16, initializer_range: 0.3 };
  const pairs = arithmeticPreferences({ count: 40, seed: 1, maxOperand: 9, suffixRate: 1 });
  return { tokenizer, config, pairs };
}

test('policy equal to the reference: loss ln 2, zero rewards and margins, accuracy 0 (frozen copy and LoRA-disabled reference alike)', () => {
  const { tokenizer, config, pairs } = setup();
  const policy = new GPT(config, { rng: new Rng(2) });
  const copy = new GPT(config, { rng: new Rng(2) });
  const viaCopy = evaluateDpo(policy, { kind: 'copy', model: copy }, tokenizer, pairs, { blockSize: 16 });
  const lora = applyLora(policy, { r: 2, lora_alpha: 4, lora_dropout: 0, target_modules: ['c_attn'] });
  const viaAdapters = evaluateDpo(policy, { kind: 'adapters-disabled', lora }, tokenizer, pairs, { blockSize: 16 });
  for (const metrics of [viaCopy, viaAdapters]) {
    assert.ok(Math.abs(metrics.loss - Math.LN2) < 1e-7, `loss ${metrics.loss}`);
    assert.equal(metrics['rewards/margins'], 0);
    assert.equal(metrics['rewards/chosen'], 0);
    assert.equal(metrics['rewards/accuracies'], 0);
    assert.ok(Math.abs(metrics.kl) < 1e-9, `kl ${metrics.kl}`);
    assert.ok(metrics['logps/chosen'] < 0);
  }
});

test('a few DPO steps with a LoRA policy raise margins and accuracy; KL to the reference grows from 0', () => {
  const { tokenizer, config, pairs } = setup();
  const policy = new GPT(config, { rng: new Rng(2) });
  const lora = applyLora(policy, { r: 4, lora_alpha: 8, lora_dropout: 0, target_modules: ['c_attn', 'c_fc'] }, { rng: new Rng(3) });
  const { before, after, history } = trainDpo({
    policy, reference: { kind: 'adapters-disabled', lora }, tokenizer, train: pairs.slice(0, 30), heldOut: pairs.slice(30),
    config: { steps: 15, batchSize: 8, learningRate: 2e-2, beta: 0.1, blockSize: 16, evalInterval: 15, gradClip: 1, seed: 0 },
  });
  assert.equal(history.length, 15);
  assert.ok(after['rewards/margins'] > before['rewards/margins'] + 0.05, `margins ${before['rewards/margins']} → ${after['rewards/margins']}`);
  assert.ok(after['rewards/accuracies'] >= 0.8, `accuracy ${after['rewards/accuracies']}`);
  assert.ok(after.loss < Math.LN2);
  assert.ok(after.kl > 0.01);
});
