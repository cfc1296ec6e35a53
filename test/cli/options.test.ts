import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import { collect, integerOption, numberOption } from '../../src/cli/options.ts';

test('option parsers accept good values and name the option on bad ones', () => {
  assert.equal(integerOption('--steps', 1)('12'), 12);
  assert.throws(() => integerOption('--steps', 1)('0'), (e: Error) => e instanceof InvalidArgumentError && /--steps must be an integer ≥ 1, got "0"/.test(e.message));
  assert.throws(() => integerOption('--steps')('1.5'), InvalidArgumentError);
  assert.equal(numberOption('--top-p', 0, 1)('0.9'), 0.9);
  assert.throws(() => numberOption('--top-p', 0, 1)('1.5'), /--top-p must be a number in \[0, 1\], got "1.5"/);
  assert.throws(() => numberOption('--lr', 0)('abc'), InvalidArgumentError);
  assert.deepEqual(collect('b', collect('a')), ['a', 'b']);
});
