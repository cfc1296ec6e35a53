/**
 * ./platform.ts for a web page's worker (the lab's browser build swaps it in when bundling):
 * the kernel bytes are fetched by the page before the first kernel call and handed over with
 * `provideKernelBytes`, threads are Web Workers started from a Blob, and the default thread
 * count is the browser's `navigator.hardwareConcurrency`.
 *
 * Kernel threads share the wasm memory, so they need SharedArrayBuffer: the page must be
 * cross-origin isolated (COOP same-origin + COEP require-corp), or loading throws.
 */
import type { KernelThread, KernelThreadData } from './thread-source.ts';

export type { KernelThread, KernelThreadData } from './thread-source.ts';

export interface KernelBytes {
  relaxed: Uint8Array | null;
  simd: Uint8Array;
  simdSource: string;
}

/** The little of the Web Worker API used here (lib.dom is not in our tsconfig). */
interface BrowserGlobals {
  Worker: new (url: string) => { postMessage(data: unknown): void; terminate(): void; onerror: ((event: { message?: string }) => void) | null };
  Blob: new (parts: string[], options: { type: string }) => object;
  URL: { createObjectURL(blob: object): string };
  navigator?: { hardwareConcurrency?: number };
}
const browser = globalThis as unknown as BrowserGlobals;

let provided: KernelBytes | undefined;
let threadsOverride: number | undefined;

/** Hand over the two builds (fetched from build/wasm by the page) before the first kernel call. */
export function provideKernelBytes(bytes: { relaxed: Uint8Array | null; simd: Uint8Array; source: string }): void {
  provided = { relaxed: bytes.relaxed, simd: bytes.simd, simdSource: bytes.source };
}

export function readKernelBytes(): KernelBytes {
  if (provided === undefined) throw new Error('qkv kernels: no kernel bytes yet (call provideKernelBytes with the fetched build/wasm files first)');
  return provided;
}

/** A browser either compiles relaxed SIMD or does not; there is no flag to set. */
export function enableRelaxedSimd(): boolean {
  return false;
}

/** The thread count the page asked for, else the browser's core count. */
export function defaultThreadCount(): number {
  return threadsOverride ?? Math.max(1, browser.navigator?.hardwareConcurrency ?? 1);
}

/** The page's choice of default thread count (before the pool starts). */
export function setDefaultThreadCount(threads: number): void {
  threadsOverride = threads;
}

let workerUrl: string | undefined;
let workerMain: string | undefined;

/** A Web Worker running `main` (a function's source text) on `data`, posted as its first message. */
export function startKernelThread(main: string, data: KernelThreadData): KernelThread {
  if (workerUrl === undefined || workerMain !== main) {
    const source = `'use strict';\nconst main = ${main};\nself.onmessage = (event) => { self.onmessage = null; main(event.data); };`;
    workerUrl = browser.URL.createObjectURL(new browser.Blob([source], { type: 'text/javascript' }));
    workerMain = main;
  }
  const worker = new browser.Worker(workerUrl);
  worker.onerror = (event) => console.warn(`qkv kernels: a kernel thread stopped (${event.message ?? 'unknown error'}); continuing with fewer threads`);
  worker.postMessage(data);
  return { terminate: async () => worker.terminate() };
}
