import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitCurve, learnXor } from '../../src/cli/start.ts';
import { buildProgram } from '../../src/cli/program.ts';

test('the start job trains: held-out loss falls far below the predict-the-mean baseline', () => {
  const result = fitCurve({ steps: 300, batchSize: 64, seed: 0, silent: true, log: () => {} });
  assert.ok(result.finalLoss < result.baselineLoss / 20, `final ${result.finalLoss} vs baseline ${result.baselineLoss}`);
  assert.ok(result.finalLoss < result.initialLoss);
});

test('XOR is learned exactly', () => {
  const result = learnXor({ steps: 400, seed: 0, log: () => {} });
  assert.equal(result.accuracy, 1);
});

test('the CLI has a start command with --help', () => {
  const program = buildProgram();
  const start = program.commands.find((command) => command.name() === 'start');
  assert.ok(start);
  assert.match(start.helpInformation(), /--steps <n>/);
});
