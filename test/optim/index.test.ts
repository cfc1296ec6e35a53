import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as optim from '../../src/optim/index.ts';

test('the optim barrel exports the public API', () => {
  const expected = [
    'Optimizer', 'withDefaults', 'SGD', 'SGD_DEFAULTS', 'sgdUpdate', 'Adam', 'AdamW', 'ADAM_DEFAULTS', 'ADAMW_DEFAULTS', 'adamUpdate',
    'RMSProp', 'RMSPROP_DEFAULTS', 'rmspropUpdate', 'LRScheduler', 'constantSchedule', 'warmupCosineSchedule', 'warmupLinearSchedule',
    'clipGradNorm', 'gradNorm', 'GradientAccumulator',
  ];
  assert.deepEqual(Object.keys(optim).sort(), [...expected].sort());
  for (const name of expected) assert.notEqual(optim[name as keyof typeof optim], undefined, name);
});
