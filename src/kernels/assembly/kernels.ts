// @ts-nocheck — AssemblyScript, compiled by `asc` (scripts/build-wasm.mjs), not by tsc.
// The entry of the one wasm module: every kernel, so workers instantiate a single module.
export * from './sgemm';
export * from './attention';
export { vexp } from './vmath';
export * from './activation';
export * from './norm';
export * from './adam';
export * from './crossentropy';
export * from './rmsnorm';
export * from './embedding';
export * from './bias-gelu';
export * from './quant';
