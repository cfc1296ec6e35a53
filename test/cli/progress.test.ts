import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgress } from '../../src/cli/progress.ts';

test('a silent progress bar (--json, or no terminal) accepts updates and prints nothing', () => {
  const writes: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => {
    writes.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const bar = createProgress({ total: 10, fields: ['loss'], silent: true });
    bar.update(5, { loss: '1.0' });
    bar.stop();
  } finally {
    process.stderr.write = original;
  }
  assert.deepEqual(writes, []);
});
