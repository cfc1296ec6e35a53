import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MODEL_PRESETS, modelPreset } from '../../src/models/presets.ts';
import { GPT } from '../../src/models/gpt.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';

test('the small preset is the benchmark configuration, and every preset builds a valid GPT', () => {
  assert.deepEqual(modelPreset('small'), { n_layer: 4, n_embd: 128, n_head: 4, n_positions: 128 });
  for (const name of Object.keys(MODEL_PRESETS)) assert.ok(new GPT({ ...modelPreset(name), vocab_size: 10 }).numParameters() > 0, name);
  assert.throws(() => modelPreset('huge'), (e: Error) => e instanceof QkvValueError && /unknown model config "huge"; choose one of tiny, small, medium/.test(e.message));
});
