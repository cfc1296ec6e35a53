import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateText } from '../../src/generate/lm.ts';
import { GPT, type GPTConfig } from '../../src/models/gpt.ts';
import { loadGPT, saveGPT } from '../../src/models/gpt-folder.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { QkvError, QkvValueError } from '../../src/tensor/errors.ts';
import { gradcheck } from '../../src/tensor/gradcheck.ts';
import { crossEntropy } from '../../src/tensor/ops/loss.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { charTokenizerFromAlphabet } from '../../src/tokenizers/char.ts';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz .,'.split('');
const tokenizer = charTokenizerFromAlphabet(ALPHABET, { specialTokens: ['<|endoftext|>'] }); // V = 31 with <unk>
const V = tokenizer.vocabSize;

function tinyAdaptive(extra: Partial<GPTConfig> = {}, seed = 1): GPT {
  return new GPT(
    { vocab_size: V, n_layer: 2, n_embd: 16, n_head: 2, n_positions: 16, output: 'adaptive', adaptive_cutoffs: [6, 15], adaptive_div_value: 2, ...extra },
    { rng: new Rng(seed) },
  );
}

function randomIds(rng: Rng, B: number, T: number): Tensor {
  return Tensor.from(Array.from({ length: B * T }, () => rng.randint(V)), [B, T]);
}

test('adaptive GPT: log-probs of the last position sum to 1 and agree with every-position logits', () => {
  const model = tinyAdaptive();
  const ids = randomIds(new Rng(2), 3, 7);
  noGrad(() => {
    const last = model.nextTokenLogProbs(ids); // (3, V)
    assert.deepEqual(last.shape, [3, V]);
    const { logits } = model.forward(ids); // (3, 7, V): exact log-probs
    const all = logits.tolist() as number[][][];
    (last.tolist() as number[][]).forEach((row, b) => {
      const total = row.reduce((sum, v) => sum + Math.exp(v), 0);
      assert.ok(Math.abs(total - 1) < 1e-5, `row ${b}: Σ p = ${total}`);
      row.forEach((v, id) => assert.ok(Math.abs(v - all[b][6][id]) < 1e-5, `row ${b} token ${id}`));
    });
  });
});

test('adaptive GPT loss: the mean NLL of the targets under its own log-probs, -100 targets ignored as in the full path', () => {
  const model = tinyAdaptive();
  const rng = new Rng(3);
  const ids = randomIds(rng, 2, 8);
  const targets = Array.from(randomIds(rng, 2, 8).contiguousData());
  targets[3] = -100;
  targets[10] = -100;
  noGrad(() => {
    const { loss, logits } = model.forward(ids, { targets });
    // Independent route: the full log-prob table, then cross-entropy over it (its logsumexp is 0).
    const reference = crossEntropy(model.forward(ids).logits, targets).item();
    assert.ok(Math.abs(loss!.item() - reference) < 1e-5, `${loss!.item()} vs ${reference}`);
    assert.deepEqual(logits.shape, [2, 8, V]); // computed on demand
  });
  const allIgnored = model.forward(ids, { targets: new Array(16).fill(-100) }).loss!;
  assert.equal(allIgnored.item(), 0);
});

test('finite-difference gradient check of the loss through the adaptive head and the body of a tiny GPT', () => {
  const model = new GPT(
    { vocab_size: 12, n_layer: 1, n_embd: 8, n_head: 2, n_positions: 8, output: 'adaptive', adaptive_cutoffs: [3, 7], adaptive_div_value: 2 },
    { rng: new Rng(4) },
  ).to('float64');
  const ids = Tensor.from([0, 5, 11, 2, 7, 3, 9, 1], [2, 4]);
  const targets = [5, 11, 2, 0, 3, 9, 1, 7]; // head, both clusters
  const head = model.adaptive_head!;
  const checked = [...head.parameters(), model.transformer.ln_f.weight!, model.transformer.h[0].mlp.c_proj.weight];
  gradcheck('adaptive GPT loss', () => model.forward(ids, { targets }).loss!, checked);
});

test('save → load: the folder records the head; same log-probs, same loss, same greedy text', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-gpt-adaptive-'));
  try {
    const model = tinyAdaptive({}, 5);
    saveGPT(dir, model, tokenizer);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.equal(config.output, 'adaptive');
    assert.deepEqual(config.adaptive_cutoffs, [6, 15]);
    assert.equal(config.adaptive_div_value, 2);
    const { model: loaded } = loadGPT(dir);
    assert.deepEqual(loaded.config, model.config);
    const ids = randomIds(new Rng(6), 2, 9);
    noGrad(() => {
      assert.deepEqual(loaded.forward(ids).logits.toArray(), model.forward(ids).logits.toArray());
      assert.equal(loaded.forward(ids, { targets: ids }).loss!.item(), model.forward(ids, { targets: ids }).loss!.item());
    });
    const generate = (m: GPT) => generateText({ model: m, tokenizer, prompt: 'the cat', config: { max_new_tokens: 6, do_sample: false } });
    const [before, after] = [await generate(model), await generate(loaded)];
    assert.deepEqual(after.ids, before.ids);
    // Greedy decoding through the KV cache picks the argmax of the uncached last-position log-probs.
    let sequence = [...before.promptIds];
    for (const id of before.ids) {
      const row = Array.from(noGrad(() => model.nextTokenLogProbs(Tensor.from(sequence, [1, sequence.length]))).contiguousData());
      assert.equal(id, row.indexOf(Math.max(...row)));
      sequence = [...sequence, id];
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the full-softmax GPT is unchanged: output 'full' is the plain GPT, no adaptive fields or parameters", () => {
  const plain = new GPT({ vocab_size: V, n_layer: 1, n_embd: 16, n_head: 2, n_positions: 16 }, { rng: new Rng(7) });
  const explicit = new GPT({ vocab_size: V, n_layer: 1, n_embd: 16, n_head: 2, n_positions: 16, output: 'full' }, { rng: new Rng(7) });
  assert.equal(plain.adaptive_head, null);
  assert.equal('output' in plain.config, false);
  assert.ok(Object.keys(plain.stateDict()).every((name) => name.startsWith('transformer.')));
  const ids = randomIds(new Rng(8), 1, 5);
  noGrad(() => {
    assert.deepEqual(explicit.forward(ids).logits.toArray(), plain.forward(ids).logits.toArray());
    // nextTokenLogProbs of the full head = logSoftmax of forward's last logits.
    const logits = Array.from(plain.forward(ids).logits.contiguousData()).slice(4 * V);
    const max = Math.max(...logits);
    const logSum = Math.log(logits.reduce((s, v) => s + Math.exp(v - max), 0)) + max;
    Array.from(plain.nextTokenLogProbs(ids).contiguousData()).forEach((v, id) => assert.ok(Math.abs(v - (logits[id] - logSum)) < 1e-5));
  });
});

test('bad adaptive configs give errors that name the field (and the file)', () => {
  assert.throws(() => tinyAdaptive({ adaptive_cutoffs: [15, 6] }), (e: Error) => e instanceof QkvValueError && /adaptive_cutoffs must be strictly increasing, got 6 after 15/.test(e.message));
  assert.throws(() => tinyAdaptive({ adaptive_cutoffs: [6, V] }), new RegExp(`adaptive_cutoffs\\[1\\] = ${V} must be below vocab_size ${V}`));
  assert.throws(() => tinyAdaptive({ adaptive_cutoffs: [] }), /output 'adaptive' needs adaptive_cutoffs/);
  assert.throws(() => tinyAdaptive({ adaptive_cutoffs: [2.5] }), /adaptive_cutoffs\[0\] must be a positive integer, got 2.5/);
  assert.throws(() => tinyAdaptive({ adaptive_div_value: 0.5 }), /adaptive_div_value must be ≥ 1/);
  assert.throws(() => new GPT({ vocab_size: V, adaptive_cutoffs: [4] }), /need output 'adaptive'/);
  assert.throws(() => new GPT({ vocab_size: V, output: 'hierarchical' as never }), /output must be one of full, adaptive/);
  const dir = mkdtempSync(join(tmpdir(), 'qkv-gpt-adaptive-bad-'));
  try {
    saveGPT(dir, tinyAdaptive(), tokenizer);
    const path = join(dir, 'config.json');
    const config = JSON.parse(readFileSync(path, 'utf8'));
    writeFileSync(path, JSON.stringify({ ...config, adaptive_cutoffs: [6, 400] }));
    assert.throws(() => loadGPT(dir), (e: Error) => e instanceof QkvError && e.message.startsWith(path) && /adaptive_cutoffs\[1\] = 400 must be below vocab_size/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
