import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT } from '../../src/models/gpt.ts';
import { Llama } from '../../src/models/llama.ts';
import { loadCausalLM } from '../../src/models/load.ts';
import { llamaPreset } from '../../src/models/presets.ts';
import { trainOnText, type TrainOnTextOptions } from '../../src/train/run.ts';

const TEXT = 'the quick brown fox jumps over the lazy dog. '.repeat(40);
const quick = { steps: 3, batchSize: 2, blockSize: 16, evalInterval: 3, evalBatches: 1, warmupSteps: 0 };

function setup(t: { after(fn: () => void): void }): { dir: string; data: string } {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-run-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'corpus.txt');
  writeFileSync(data, TEXT);
  return { dir, data };
}

function options(data: string, outDir: string | null, extra: Partial<TrainOnTextOptions> = {}): TrainOnTextOptions {
  return { dataFiles: [data], preset: 'tiny', train: quick, outDir, ...extra };
}

test('the tiny preset as a Llama has the GPT sizes under Llama names', () => {
  assert.deepEqual(llamaPreset('tiny'), { num_hidden_layers: 2, hidden_size: 64, num_attention_heads: 4, max_position_embeddings: 64 });
  assert.throws(() => llamaPreset('huge'), /unknown model config "huge"/);
});

test('arch defaults to gpt; arch llama trains a Llama and saves a folder loadCausalLM reads as one', async (t) => {
  const { dir, data } = setup(t);
  const gpt = await trainOnText(options(data, null));
  assert.equal(gpt.arch, 'gpt');
  assert.ok(gpt.model instanceof GPT);

  const out = join(dir, 'llama');
  const result = await trainOnText(options(data, out, { arch: 'llama', llamaOverrides: { num_key_value_heads: 2 } }));
  assert.equal(result.arch, 'llama');
  assert.ok(result.model instanceof Llama);
  assert.equal(result.model.config.num_key_value_heads, 2);
  assert.equal(result.model.config.hidden_size, 64);
  assert.equal(result.summary.steps, 3);
  assert.ok(Number.isFinite(result.summary.finalValLoss));
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).model_type, 'llama');
  assert.ok(loadCausalLM(out).model instanceof Llama);
});

test('resume continues a Llama run from its folder and refuses a different --arch', async (t) => {
  const { dir, data } = setup(t);
  const out = join(dir, 'run');
  await trainOnText(options(data, out, { arch: 'llama' }));
  await assert.rejects(trainOnText(options(data, out, { arch: 'gpt', resume: true })), /holds a llama model, not gpt/);
  const resumed = await trainOnText(options(data, out, { resume: true, train: { ...quick, steps: 5 } }));
  assert.ok(resumed.model instanceof Llama);
  assert.equal(resumed.summary.steps, 5);
});

test('an unknown architecture is a named error', async (t) => {
  const { data } = setup(t);
  await assert.rejects(trainOnText(options(data, null, { arch: 'rwkv' as never })), /unknown architecture "rwkv"; choose gpt or llama/);
});
