import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dtypeSizeBytes, isSafeDType, swapBytes, MAX_HEADER_BYTES } from '../../src/io/safetensors-format.ts';

// The writer's byte-level tests (hand-built files from the spec) live in safetensors.test.ts beside the reader's.
test('dtype names and sizes are those of the safetensors spec', () => {
  assert.deepEqual((['F64', 'F32', 'F16', 'BF16', 'I64', 'I8', 'U8', 'BOOL'] as const).map((d) => dtypeSizeBytes(d)), [8, 4, 2, 2, 8, 1, 1, 1]);
  assert.equal(isSafeDType('F32'), true);
  assert.equal(isSafeDType('f32'), false);
  assert.equal(isSafeDType('__proto__'), false);
  assert.equal(MAX_HEADER_BYTES, 100_000_000);
});

test('swapBytes reverses each element', () => {
  assert.deepEqual([...swapBytes(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), 4)], [4, 3, 2, 1, 8, 7, 6, 5]);
});
