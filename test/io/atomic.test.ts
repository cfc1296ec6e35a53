import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  formatJson,
  writeFileAtomic,
  writeFileAtomicAsync,
  writeJsonAtomic,
  writeJsonAtomicAsync,
} from '../../src/io/atomic.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';

function withTempDir(body: (dir: string) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qkv-atomic-'));
    try {
      await body(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** Yields one chunk, then fails: a save interrupted half way through. */
function* failingAfterOneChunk(): Iterable<Uint8Array> {
  yield Buffer.from('new contents, first half');
  throw new Error('disk on fire');
}

async function* failingAfterOneChunkAsync(): AsyncIterable<Uint8Array> {
  yield Buffer.from('new contents, first half');
  throw new Error('disk on fire');
}

test('writes text, bytes and chunk streams; overwrites an existing file', withTempDir((dir) => {
  const path = join(dir, 'out.txt');
  writeFileAtomic(path, 'héllo\n');
  assert.equal(readFileSync(path, 'utf8'), 'héllo\n');
  writeFileAtomic(path, new Uint8Array([1, 2, 3]));
  assert.deepEqual([...readFileSync(path)], [1, 2, 3]);
  writeFileAtomic(path, [new Uint8Array([4]), new Uint8Array(0), new Uint8Array([5, 6])]);
  assert.deepEqual([...readFileSync(path)], [4, 5, 6]);
  assert.deepEqual(readdirSync(dir), ['out.txt']);
}));

test('a data source that throws mid-write leaves the previous file intact and no temp file', withTempDir((dir) => {
  const path = join(dir, 'model.safetensors');
  writeFileSync(path, 'old contents');
  assert.throws(() => writeFileAtomic(path, failingAfterOneChunk()), /disk on fire/);
  assert.equal(readFileSync(path, 'utf8'), 'old contents');
  assert.deepEqual(readdirSync(dir), ['model.safetensors']);
}));

test('a failed first write leaves no file at all', withTempDir((dir) => {
  assert.throws(() => writeFileAtomic(join(dir, 'new.bin'), failingAfterOneChunk()), /disk on fire/);
  assert.deepEqual(readdirSync(dir), []);
}));

test('a missing directory is an error naming the path, and leaves nothing behind', withTempDir((dir) => {
  assert.throws(() => writeFileAtomic(join(dir, 'no-such-dir', 'x.json'), 'x'), /no-such-dir/);
  assert.deepEqual(readdirSync(dir), []);
}));

test('async variant: writes, streams async chunks, and cleans up on failure', withTempDir(async (dir) => {
  const path = join(dir, 'out.bin');
  await writeFileAtomicAsync(path, 'first');
  assert.equal(readFileSync(path, 'utf8'), 'first');
  async function* chunks(): AsyncIterable<Uint8Array> {
    yield Buffer.from('sec');
    yield Buffer.from('ond');
  }
  await writeFileAtomicAsync(path, chunks());
  assert.equal(readFileSync(path, 'utf8'), 'second');
  await assert.rejects(writeFileAtomicAsync(path, failingAfterOneChunkAsync()), /disk on fire/);
  await assert.rejects(writeFileAtomicAsync(path, failingAfterOneChunk()), /disk on fire/);
  assert.equal(readFileSync(path, 'utf8'), 'second');
  assert.deepEqual(readdirSync(dir), ['out.bin']);
}));

test('JSON: Hugging Face layout (2-space indent, final newline); values JSON cannot hold are refused', withTempDir(async (dir) => {
  const path = join(dir, 'config.json');
  writeJsonAtomic(path, { n_embd: 128, architectures: ['GPT2LMHeadModel'] });
  assert.equal(readFileSync(path, 'utf8'), '{\n  "n_embd": 128,\n  "architectures": [\n    "GPT2LMHeadModel"\n  ]\n}\n');
  await writeJsonAtomicAsync(path, { step: 3 });
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { step: 3 });

  assert.throws(() => writeJsonAtomic(path, { loss: Number.NaN }), (error: unknown) =>
    error instanceof QkvValueError && /config\.json: field "loss" is NaN/.test(error.message));
  assert.throws(() => formatJson({ seed: 5n }, 'state.json'), /state\.json: field "seed" is a bigint/);
  assert.throws(() => formatJson(undefined, 'x.json'), /x\.json: a undefined cannot be written/);
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { step: 3 });
  assert.deepEqual(readdirSync(dir), ['config.json']);
}));
