import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QkvFileNotFoundError, QkvFormatError } from '../../src/io/errors.ts';
import { saveModelFolder } from '../../src/io/model-folder.ts';
import { loadTrainingState, saveTrainingState, stepMetadata } from '../../src/io/training-state.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

function withTempDir(body: (dir: string) => void): () => void {
  return () => {
    const dir = mkdtempSync(join(tmpdir(), 'qkv-train-state-'));
    try {
      body(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** Values whose bits a resume must keep: not round in decimal, tiny, negative zero. */
const awkward = Float32Array.from([0.1, 1 / 3, -0, 1e-45, 3.4e38, -7.25]);

function checkpoint(dir: string, step: number): void {
  saveModelFolder(dir, { config: { n_embd: 2 }, stateDict: { w: Tensor.from([step, 0], [2]) }, metadata: stepMetadata(step) });
  saveTrainingState(dir, {
    optimizer: { 'exp_avg.w': new Tensor(awkward, [6]), 'exp_avg_sq.w': Tensor.from([step], [1]) },
    trainerState: { global_step: step, learning_rate: 0.1 + 0.2, rng_state: [0xdeadbeef, 12345, 4294967295], data_position: 98765 },
  });
}

test('optimizer tensors and trainer state come back bit for bit', withTempDir((dir) => {
  checkpoint(dir, 120);
  assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json']);
  const { optimizer, trainerState, step } = loadTrainingState(dir);
  assert.equal(step, 120);
  assert.deepEqual(trainerState, { global_step: 120, learning_rate: 0.1 + 0.2, rng_state: [0xdeadbeef, 12345, 4294967295], data_position: 98765 });
  assert.equal(trainerState.learning_rate, 0.30000000000000004);
  const moments = optimizer.get('exp_avg.w')!;
  assert.equal(moments.dtype, 'F32');
  assert.deepEqual(new Uint32Array(moments.data.buffer as ArrayBuffer), new Uint32Array(awkward.buffer), 'same bits, -0 included');
}));

test('a checkpoint whose files were saved at different steps is refused, naming the stale file', withTempDir((dir) => {
  checkpoint(dir, 100);
  // an interrupted save: new weights written, the training state still from step 100
  saveModelFolder(dir, { config: { n_embd: 2 }, stateDict: { w: Tensor.from([200, 0], [2]) }, metadata: stepMetadata(200) });
  assert.throws(() => loadTrainingState(dir), (error: unknown) =>
    error instanceof QkvFormatError &&
    error.file === join(dir, 'model.safetensors') &&
    /saved at step 200, but .*trainer_state\.json is at step 100: the checkpoint is inconsistent/.test(error.message));

  // weights without a stamp (saved by another tool) are not checked
  saveModelFolder(dir, { config: { n_embd: 2 }, stateDict: { w: Tensor.from([1, 0], [2]) } });
  assert.equal(loadTrainingState(dir).step, 100);
}));

test('missing files and a missing or bad global_step are errors naming the file', withTempDir((dir) => {
  assert.throws(
    () => saveTrainingState(dir, { optimizer: {}, trainerState: { step: 3 } }),
    (error: unknown) => error instanceof QkvFormatError && /trainer_state\.json: field "global_step": missing \(expected an integer ≥ 0\)/.test(error.message),
  );
  assert.deepEqual(readdirSync(dir), [], 'nothing written when the state is invalid');
  checkpoint(dir, 5);
  unlinkSync(join(dir, 'optimizer.safetensors'));
  assert.throws(() => loadTrainingState(dir), (error: unknown) =>
    error instanceof QkvFileNotFoundError && error.file === join(dir, 'optimizer.safetensors') && /cannot resume without optimizer\.safetensors and trainer_state\.json/.test(error.message));
  checkpoint(dir, 5);
  assert.ok(readFileSync(join(dir, 'optimizer.safetensors')).includes('"global_step":"5"'), 'the step is stamped in the header');
}));
