import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCausalLM } from '../../../src/models/load.ts';
import { loadTrainerState } from '../../../src/train/checkpoint.ts';
import { runCli } from '../../cli/run-cli.ts';

test('qkv train --workers 2 --strategy fsdp writes an ordinary model folder and per-worker memory; --resume continues with ddp', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-cli-fsdp-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'corpus.txt');
  writeFileSync(data, readFileSync(new URL('../../../data/brown.txt', import.meta.url), 'utf8').slice(0, 20_000));
  const out = join(dir, 'run');
  const common = ['train', '--data', data, '--config', 'tiny', '--block-size', '16', '--batch-size', '2', '--eval-interval', '100', '--json', '--out', out];
  const first = JSON.parse(await runCli([...common, '--steps', '2', '--workers', '2', '--strategy', 'fsdp']));
  assert.equal(first.steps, 2);
  assert.equal(first.strategy, 'fsdp');
  assert.equal(first.worker_memory.length, 2);
  assert.ok(first.worker_memory.every((m: { restingHeldBytes: number }) => m.restingHeldBytes > 0));
  assert.ok(Number.isFinite(first.val_loss));
  // Per worker, the median time of each phase of a step.
  assert.deepEqual(first.timing.map((t: { rank: number }) => t.rank), [0, 1]);
  assert.ok(first.timing.every((t: { gather_ms: number; step_ms: number }) => t.gather_ms > 0 && t.step_ms > 0));
  assert.equal(first.prefetch, false);
  loadCausalLM(out); // one ordinary folder
  const second = JSON.parse(await runCli([...common, '--steps', '3', '--workers', '1', '--strategy', 'ddp', '--resume']));
  assert.equal(second.steps, 3);
  assert.equal(loadTrainerState(out).global_step, 3);
  await assert.rejects(runCli([...common, '--steps', '1', '--workers', '2', '--strategy', 'zero']), /--strategy must be one of ddp, fsdp/);
  await assert.rejects(runCli([...common, '--steps', '1', '--workers', '2', '--strategy', 'fsdp', '--overlap']), /--overlap is for --strategy ddp/);
  await assert.rejects(runCli([...common, '--steps', '1', '--workers', '2', '--prefetch']), /--prefetch needs --strategy fsdp/);
  const overlapped = JSON.parse(await runCli([...common, '--steps', '4', '--workers', '2', '--strategy', 'ddp', '--overlap', '--resume']));
  assert.equal(overlapped.overlap, true);
  assert.equal(overlapped.steps, 4);
  assert.ok(overlapped.timing.every((t: { grad_comm_ms: number; gather_ms: number }) => t.grad_comm_ms > 0 && t.gather_ms === 0));
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  assert.equal(metrics.at(-1).timing.length, 2); // every step's record has each worker's breakdown
  const halfPrecision = JSON.parse(await runCli([...common, '--steps', '5', '--precision', 'fp16', '--resume']));
  assert.equal(halfPrecision.precision, 'fp16');
  assert.equal(halfPrecision.skipped_steps, 0);
  assert.equal(halfPrecision.steps, 5);
  await assert.rejects(runCli([...common, '--steps', '1', '--precision', 'fp8']), /--precision must be one of fp32, bf16, fp16/);
});
