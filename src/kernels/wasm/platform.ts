/**
 * What the wasm backend needs from its host, on Node: the compiled kernel bytes (read from
 * build/wasm, compiled from source on first use in a bare checkout), switching relaxed SIMD on,
 * the default thread count, and starting a kernel thread. The browser build of the lab swaps
 * this file for ./platform-browser.ts (same exports), so nothing else in this folder imports a
 * node: module.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { packageRoot } from '../package-root.ts';
import type { KernelThread, KernelThreadData } from './thread-source.ts';

export type { KernelThread, KernelThreadData } from './thread-source.ts';

export interface KernelBytes {
  /** The relaxed-SIMD build; null when `QKV_SIMD=simd` forces the plain one. */
  relaxed: Uint8Array | null;
  simd: Uint8Array;
  /** Where the plain build came from, for error messages. */
  simdSource: string;
}

/** Both builds' bytes from build/wasm (compiling them first in a checkout that has none). */
export function readKernelBytes(): KernelBytes {
  const root = packageRoot();
  const relaxedPath = join(root, 'build', 'wasm', 'kernels-relaxed.wasm');
  const simdPath = join(root, 'build', 'wasm', 'kernels-simd.wasm');
  if (!existsSync(relaxedPath) || !existsSync(simdPath)) buildFromSource(root);
  return {
    relaxed: process.env.QKV_SIMD === 'simd' ? null : new Uint8Array(readFileSync(relaxedPath)),
    simd: new Uint8Array(readFileSync(simdPath)),
    simdSource: simdPath,
  };
}

/** Node 20 has relaxed SIMD behind a V8 flag; false when the flag cannot be set. */
export function enableRelaxedSimd(): boolean {
  try {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
    return true;
  } catch {
    return false;
  }
}

/** `QKV_THREADS`, else the core count. */
export function defaultThreadCount(): number {
  const raw = process.env.QKV_THREADS;
  if (raw === undefined || raw === '') return availableParallelism();
  const threads = Number(raw);
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`QKV_THREADS must be an integer ≥ 1, got "${raw}"`);
  return threads;
}

/** A worker thread running `main` (a function's source text) on `data`. */
export function startKernelThread(main: string, data: KernelThreadData): KernelThread {
  const worker = new Worker(`'use strict';\nconst main = ${main};\nmain(require('node:worker_threads').workerData);`, {
    eval: true,
    // Not the parent's flags: `--import tsx` would load a TypeScript loader into every worker.
    execArgv: [],
    workerData: data,
  });
  // A worker that dies takes no more chunks and the caller does its share, so this warns
  // instead of letting an unhandled 'error' event end the process.
  worker.on('error', (error) => process.emitWarning(`qkv kernels: a matmul worker thread stopped (${error.message}); continuing with fewer threads`));
  worker.unref();
  return { terminate: async () => { await worker.terminate(); } };
}

/** A source checkout run through tsx without `npm run build`: compile the wasm once, now. */
function buildFromSource(root: string): void {
  const script = join(root, 'scripts', 'build-wasm.mjs');
  if (!existsSync(script)) {
    throw new Error(`qkv kernels: ${join(root, 'build', 'wasm')} has no kernels-*.wasm; run \`npm run build\``);
  }
  execFileSync(process.execPath, [script, '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
}
