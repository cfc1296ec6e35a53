// qkv train --precision bf16|fp16 on the ordinary single-process path (no --workers): the
// Linear products run on 16-bit operands (the losses move off fp32's, but stay close), the JSON
// summary and metrics.jsonl report the loss scale and the skipped steps, and an fp16 loss scale
// too large for fp16's range makes every step overflow: skipped, counted, the scale halved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSafetensors } from '../../src/io/safetensors.ts';
import { runCli } from './run-cli.ts';

function setup(t: { after(fn: () => void): void }): { dir: string; data: string } {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-cli-precision-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'corpus.txt');
  writeFileSync(data, readFileSync(new URL('../../data/brown.txt', import.meta.url), 'utf8').slice(0, 20_000));
  return { dir, data };
}

const QUICK = ['--config', 'tiny', '--steps', '3', '--batch-size', '4', '--block-size', '16', '--eval-interval', '3', '--seed', '5', '--json'];

test('qkv train --precision bf16|fp16 runs in one process, tracks the fp32 run and reports loss scale and skipped steps', async (t) => {
  const { dir, data } = setup(t);
  const run = async (precision: string) => JSON.parse(await runCli(['train', '--data', data, '--out', join(dir, precision), '--precision', precision, ...QUICK]));
  const fp32 = await run('fp32');
  assert.equal(fp32.precision, 'fp32');
  for (const precision of ['bf16', 'fp16']) {
    const summary = await run(precision);
    assert.equal(summary.precision, precision);
    assert.equal(summary.steps, 3);
    assert.equal(summary.skipped_steps, 0);
    assert.equal(summary.loss_scale, precision === 'fp16' ? 65536 : 1);
    assert.equal(summary.worker_memory, undefined, 'the single-process trainer, not the worker pool');
    const delta = Math.abs(summary.loss - fp32.loss);
    assert.ok(delta > 0, `${precision}: the same loss as fp32 to the last bit: the 16-bit products did not run`);
    assert.ok(delta < 0.02, `${precision}: |Δloss| ${delta} vs fp32`);
    const metrics = readFileSync(join(dir, precision, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(metrics.map((m) => m.skipped), [false, false, false]);
    assert.ok(metrics.every((m) => m.loss_scale === summary.loss_scale));
  }
});

test('qkv train --precision fp16 --loss-scale 1e12: every step overflows, is skipped and counted, AdamW never steps', async (t) => {
  const { dir, data } = setup(t);
  const summary = JSON.parse(await runCli(['train', '--data', data, '--out', join(dir, 'overflow'), '--precision', 'fp16', '--loss-scale', '1e12', ...QUICK]));
  assert.equal(summary.skipped_steps, 3);
  assert.equal(summary.loss_scale, 1e12 / 8);
  // No step applied: AdamW never stepped any parameter (an fp32 run records step 3 for each).
  const steps = JSON.parse(loadSafetensors(join(dir, 'overflow', 'optimizer.safetensors')).metadata.param_steps) as (number | null)[];
  assert.ok(steps.length > 0 && steps.every((step) => step === null), `AdamW steps per parameter: ${steps.join(',')}`);
  const state = JSON.parse(readFileSync(join(dir, 'overflow', 'trainer_state.json'), 'utf8'));
  assert.equal(state.loss_scaler.skippedSteps, 3);
  assert.equal(state.loss_scaler.scale, 1e12 / 8);
  await assert.rejects(runCli(['train', '--data', data, '--loss-scale', '1024', ...QUICK]), /--loss-scale needs --precision fp16/);
});
