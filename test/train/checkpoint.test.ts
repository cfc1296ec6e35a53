import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdamW, SGD } from '../../src/optim/index.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { hasTrainerState, loadOptimizerState, loadTrainerState, saveOptimizerState, saveTrainerState } from '../../src/train/checkpoint.ts';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-ckpt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function stepOnce(optimizer: AdamW, params: Tensor[]): void {
  for (const p of params) p.grad = Tensor.full(p.shape, 0.5);
  optimizer.step();
}

test('optimizer state survives a save/load exactly and continues the same updates', (t) => {
  const dir = tempDir(t);
  const make = () => [Tensor.from([1, 2, 3], [3], { requiresGrad: true }), Tensor.from([[1, -1], [0.5, 2]], undefined, { requiresGrad: true })];
  const params = make();
  const optimizer = new AdamW([{ params: [params[0]] }, { params: [params[1]], weightDecay: 0 }], { lr: 0.1 });
  stepOnce(optimizer, params);
  stepOnce(optimizer, params);
  saveOptimizerState(dir, optimizer, 2);

  const copies = params.map((p) => Tensor.from(p.toArray(), p.shape, { requiresGrad: true }));
  const restored = new AdamW([{ params: [copies[0]] }, { params: [copies[1]] }], { lr: 0.5 });
  assert.equal(loadOptimizerState(dir, restored), 2);
  assert.equal(restored.paramGroups[1].weightDecay, 0, 'group hyperparameters restored');
  stepOnce(optimizer, params);
  stepOnce(restored, copies);
  params.forEach((p, i) => assert.deepEqual(copies[i].toArray(), p.toArray()));
});

test('loading into the wrong optimiser or a missing file gives a named error', (t) => {
  const dir = tempDir(t);
  const p = Tensor.from([1], [1], { requiresGrad: true });
  const adam = new AdamW([p], { lr: 0.1 });
  stepOnce(adam, [p]);
  saveOptimizerState(dir, adam, 1);
  assert.throws(() => loadOptimizerState(dir, new SGD([Tensor.from([1], [1], { requiresGrad: true })], { lr: 0.1 }) as never), /written by AdamW, not SGD/);
  assert.throws(() => loadOptimizerState(join(dir, 'nope'), adam), /optimizer\.safetensors/);
});

test('trainer_state.json round trip, and a broken one names the field', (t) => {
  const dir = tempDir(t);
  assert.equal(hasTrainerState(dir), false);
  const state = {
    global_step: 5, max_steps: 10, rng: { data: { words: [1, 2, 3, 4] as [number, number, number, number], spareNormal: null }, dropout: { words: [5, 6, 7, 8] as [number, number, number, number], spareNormal: 0.25 } },
    scheduler: { step: 5 }, train_config: { steps: 10 }, best_val_loss: 1.5, qkv_version: '0.1.0',
  };
  saveTrainerState(dir, state);
  assert.deepEqual(loadTrainerState(dir), state);
  writeFileSync(join(dir, 'trainer_state.json'), JSON.stringify({ ...state, rng: undefined }));
  assert.throws(() => loadTrainerState(dir), /trainer_state\.json: field rng is missing/);
});
