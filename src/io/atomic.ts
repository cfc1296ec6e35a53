/**
 * Atomic file writes: every file qkv writes goes through here, so a crash, a full disk or a
 * Ctrl-C in the middle of a save leaves either the old file or the new one, never half of each.
 *
 * The recipe (as in `write-file-atomic` and git's lock files): write to a temporary name in the
 * same directory (so the rename stays on one filesystem, where POSIX makes it atomic), fsync the
 * data, rename over the target, then fsync the directory so the rename itself survives a power
 * cut. On any failure the temporary file is removed and the error is re-thrown.
 *
 * @example
 *   writeFileAtomic('out/model.safetensors', bytes);
 *   writeJsonAtomic('out/config.json', { n_embd: 128 });
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { QkvValueError } from '../tensor/errors.ts';

/**
 * What can be written: text (UTF-8), bytes, or chunks of bytes produced lazily (so a large
 * safetensors file is streamed tensor by tensor instead of first copied into one buffer).
 */
export type AtomicData = string | Uint8Array | Iterable<Uint8Array>;
/** As {@link AtomicData}, plus chunks produced asynchronously. */
export type AtomicDataAsync = AtomicData | AsyncIterable<Uint8Array>;

/** `dir/.name.<pid>.<random>.tmp`: hidden, beside the target, and unique per writer. */
function temporaryPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

function* chunksOf(data: AtomicData): Iterable<Uint8Array> {
  if (typeof data === 'string') yield Buffer.from(data, 'utf8');
  else if (data instanceof Uint8Array) yield data;
  else yield* data;
}

function writeAllSync(fd: number, chunk: Uint8Array): void {
  let written = 0;
  while (written < chunk.byteLength) written += writeSync(fd, chunk, written, chunk.byteLength - written);
}

/** fsync of the directory makes the rename durable; some platforms (Windows) refuse it, which is harmless. */
function syncDirectorySync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // best effort: the rename has happened either way
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function removeQuietlySync(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone, or never created
  }
}

/**
 * Writes `data` to `path` atomically: readers see the old contents or the new, never a mix.
 * The directory must exist. Throws whatever the failing write or data source threw, after
 * removing the temporary file.
 *
 * @example writeFileAtomic('out/notes.txt', 'hello\n');
 */
export function writeFileAtomic(path: string, data: AtomicData): void {
  const temporaryPath = temporaryPathFor(path);
  let fd: number | undefined;
  try {
    fd = openSync(temporaryPath, 'wx');
    for (const chunk of chunksOf(data)) writeAllSync(fd, chunk);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temporaryPath, path);
  } catch (error) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // the original error is the one worth reporting
      }
    }
    removeQuietlySync(temporaryPath);
    throw error;
  }
  syncDirectorySync(dirname(path));
}

/**
 * Async {@link writeFileAtomic}; `data` may also be an async iterable of chunks.
 *
 * @example await writeFileAtomicAsync('out/log.txt', chunksFromSomewhere());
 */
export async function writeFileAtomicAsync(path: string, data: AtomicDataAsync): Promise<void> {
  const temporaryPath = temporaryPathFor(path);
  const handle = await open(temporaryPath, 'wx');
  let closed = false;
  try {
    const chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array> =
      typeof data === 'string' || data instanceof Uint8Array ? chunksOf(data) : data;
    for await (const chunk of chunks) {
      let written = 0;
      while (written < chunk.byteLength) {
        written += (await handle.write(chunk, written, chunk.byteLength - written)).bytesWritten;
      }
    }
    await handle.sync();
    closed = true;
    await handle.close();
    await rename(temporaryPath, path);
  } catch (error) {
    if (!closed) await handle.close().catch(() => undefined);
    await unlink(temporaryPath).catch(() => undefined);
    throw error;
  }
  syncDirectorySync(dirname(path));
}

/**
 * JSON as Hugging Face writes its configs: 2-space indent and a final newline. Throws (and
 * writes nothing) for a value JSON cannot hold: `NaN`, `Infinity`, a `bigint`, `undefined`.
 */
export function formatJson(value: unknown, fileForErrors = '<json>'): string {
  const text = JSON.stringify(
    value,
    (key, item: unknown) => {
      if (typeof item === 'number' && !Number.isFinite(item)) {
        throw new QkvValueError(`${fileForErrors}: field "${key}" is ${item}, which JSON cannot hold`);
      }
      if (typeof item === 'bigint') {
        throw new QkvValueError(`${fileForErrors}: field "${key}" is a bigint (${item}n), which JSON cannot hold`);
      }
      return item;
    },
    2,
  ) as string | undefined;
  if (text === undefined) throw new QkvValueError(`${fileForErrors}: a ${typeof value} cannot be written as JSON`);
  return `${text}\n`;
}

/**
 * Writes `value` as pretty JSON (see {@link formatJson}), atomically.
 *
 * @example writeJsonAtomic('out/config.json', { n_layer: 4, n_embd: 128 });
 */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, formatJson(value, path));
}

/** Async {@link writeJsonAtomic}. */
export async function writeJsonAtomicAsync(path: string, value: unknown): Promise<void> {
  await writeFileAtomicAsync(path, formatJson(value, path));
}
