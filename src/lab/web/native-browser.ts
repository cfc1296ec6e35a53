/**
 * src/kernels/native/index.ts in the browser build: there is no Node-API addon in a page, so
 * loading it fails with a reason and the kernel dispatcher falls through to wasm.
 */
const REASON = 'the native addon needs Node (this is a web page)';

export function loadNativeBackend(): never {
  throw new Error(REASON);
}

export function nativeInfo(): never {
  throw new Error(REASON);
}

export function nativeAddonPath(): never {
  throw new Error(REASON);
}

/** Nothing to set: no native pool runs here. */
export function setNativeThreads(_threads: number): void {}

/** Nothing to map in a page: loaders read the bytes instead (the native `mapFile` answers null too when it cannot map). */
export function mapFile(_path: string): ArrayBuffer | null {
  return null;
}

export function selectNativeSimd(_simd: string): boolean {
  return false;
}

export function expNative(_y: Float32Array, _x: Float32Array): never {
  throw new Error(REASON);
}
