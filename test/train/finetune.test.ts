import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeJsonl } from '../../src/adapt/jsonl.ts';
import { arithmeticInstructions } from '../../src/align/data.ts';
import { GPT } from '../../src/models/gpt.ts';
import { saveGPT } from '../../src/models/gpt-folder.ts';
import { loadCausalLM } from '../../src/models/load.ts';
import { Rng } from '../../src/tensor/random.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';
import { collateExamples, tokenizeSegments } from '../../src/train/finetune-data.ts';
import { finetune } from '../../src/train/finetune.ts';

function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-finetune-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tokenizer = trainCharTokenizer('0123456789+-=!\n :UserAssistant', { specialTokens: ['<|endoftext|>'] });
  const base = join(dir, 'base');
  saveGPT(base, new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 16, n_head: 2, n_positions: 16, initializer_range: 0.3 }, { rng: new Rng(1) }), tokenizer);
  const data = join(dir, 'sums.jsonl');
  writeJsonl(data, arithmeticInstructions({ count: 60, seed: 3, maxOperand: 9 }));
  return { dir, tokenizer, base, data };
}

test('collate: targets are the next token on completion (and EOS) positions, −100 on the prompt and padding', () => {
  const tokenizer = trainCharTokenizer('0123456789+=', { specialTokens: ['<|endoftext|>'] });
  const eos = tokenizer.tokenToId('<|endoftext|>')!;
  const id = (ch: string) => tokenizer.tokenToId(ch)!;
  const long = tokenizeSegments(tokenizer, [{ text: '1+2=', trainable: false }, { text: '3', trainable: true }], eos);
  const short = tokenizeSegments(tokenizer, [{ text: '0=', trainable: false }, { text: '0', trainable: true }], eos);
  assert.deepEqual(long.ids, [id('1'), id('+'), id('2'), id('='), id('3'), eos]);
  const { ids, targets } = collateExamples([long, short], 8, eos);
  assert.deepEqual(ids.shape, [2, 5]);
  assert.deepEqual(ids.toArray(), [id('1'), id('+'), id('2'), id('='), id('3'), id('0'), id('='), id('0'), eos, eos]);
  assert.deepEqual(targets.toArray(), [-100, -100, -100, id('3'), eos, -100, id('0'), eos, -100, -100]);
});

test('LoRA fine-tune on prompt/completion JSONL: held-out completion loss falls, only the adapter is written, resume continues', async (t) => {
  const { dir, base, data } = setup(t);
  const out = join(dir, 'lora');
  const lora = { r: 4, lora_alpha: 8, lora_dropout: 0, target_modules: ['c_attn', 'c_fc'] };
  const result = await finetune({ modelDir: base, dataFile: data, outDir: out, lora, train: { steps: 30, batchSize: 8, learningRate: 2e-2, evalInterval: 30 } });
  assert.equal(result.dataKind, 'promptCompletion');
  assert.equal(result.trainableParameters, 4 * (16 + 48) + 4 * (16 + 64)); // r·(in+out) for c_attn and c_fc
  assert.ok(result.heldOutLoss < result.baseHeldOutLoss - 0.3, `${result.baseHeldOutLoss} → ${result.heldOutLoss}`);
  assert.deepEqual(readdirSync(out).sort(), ['adapter_config.json', 'adapter_model.safetensors', 'metrics.jsonl', 'optimizer.safetensors', 'trainer_state.json']);
  const resumed = await finetune({ modelDir: base, dataFile: data, outDir: out, lora, resume: true, train: { steps: 40 } });
  assert.equal(resumed.summary.steps, 40);
  assert.equal(resumed.summary.history[0].step, 31);
});

test('full fine-tune writes a plain model folder that loads; a malformed JSONL line stops it before anything is written', async (t) => {
  const { dir, base, data } = setup(t);
  const out = join(dir, 'full');
  const result = await finetune({ modelDir: base, dataFile: data, outDir: out, train: { steps: 10, batchSize: 4, learningRate: 3e-3 } });
  assert.equal(result.trainableParameters, result.totalParameters);
  assert.ok(loadCausalLM(out).model.numParameters() === result.totalParameters);
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, '{"prompt":"1+1=","completion":"2"}\n{"prompt":"1+2="}\n');
  const never = join(dir, 'never');
  await assert.rejects(finetune({ modelDir: base, dataFile: bad, outDir: never }), /bad\.jsonl: 1 bad line: line 2: field "completion"/);
  assert.equal(existsSync(never), false);
});

test('chat JSONL is rendered with the folder’s chat_template.jinja; the loss covers the assistant turns; the template is kept', async (t) => {
  const { dir, base } = setup(t);
  // short turn markers: the model's context is 16 tokens
  writeFileSync(join(base, 'chat_template.jinja'), "{% for m in messages %}{% if m['role'] == 'user' %}U:{% else %}A:{% endif %}{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}A:{% endif %}");
  const data = join(dir, 'chat.jsonl');
  writeJsonl(data, arithmeticInstructions({ count: 30, seed: 5, maxOperand: 9 }).map((r) => ({ messages: [{ role: 'user', content: r.prompt }, { role: 'assistant', content: r.completion }] })));
  const out = join(dir, 'chat-full');
  const result = await finetune({ modelDir: base, dataFile: data, outDir: out, train: { steps: 15, batchSize: 4, learningRate: 1e-2 } });
  assert.equal(result.dataKind, 'chat');
  assert.ok(result.heldOutLoss < result.baseHeldOutLoss, `${result.baseHeldOutLoss} → ${result.heldOutLoss}`);
  assert.equal(readFileSync(join(out, 'chat_template.jinja'), 'utf8'), readFileSync(join(base, 'chat_template.jinja'), 'utf8'));
});
