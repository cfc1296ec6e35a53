#!/usr/bin/env node
/**
 * Compiles the AssemblyScript kernels (src/kernels/assembly) to WebAssembly, twice:
 *   build/wasm/<name>-relaxed.wasm  SIMD + relaxed SIMD (f32x4.relaxed_madd lowers to one FMA)
 *   build/wasm/<name>-simd.wasm     plain SIMD, used wherever relaxed SIMD is missing
 * Both import a shared memory (`env.memory`) so worker threads run the same module on the same
 * data. Runs from `npm run build` (and so from `npm ci` via `prepare`); the kernel loader also
 * runs it once, synchronously, when the files are missing and this script is present.
 *
 * Plain .mjs rather than .ts so it runs under bare `node` during `npm ci`, before anything is built.
 */
import { mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sourceDir = join(root, 'src', 'kernels', 'assembly');
const outDir = join(root, 'build', 'wasm');

/** 65536 pages = 4 GiB, the wasm32 limit; shared memories must declare a maximum. */
const MAX_MEMORY_PAGES = 65536;
const kernels = ['kernels'];
const variants = [
  { suffix: 'relaxed', features: 'simd,relaxed-simd,threads' },
  { suffix: 'simd', features: 'simd,threads' },
];

mkdirSync(outDir, { recursive: true });
for (const kernel of kernels) {
  for (const variant of variants) {
    const outFile = join(outDir, `${kernel}-${variant.suffix}.wasm`);
    // Write beside, then rename: parallel test processes may build at the same moment.
    const tmpFile = `${outFile}.${process.pid}.tmp`;
    const { error, stderr } = await asc.main([
      join(sourceDir, `${kernel}.ts`),
      '--outFile', tmpFile,
      '--runtime', 'stub',
      '-O3',
      '--noAssert',
      '--enable', variant.features,
      '--importMemory',
      '--sharedMemory',
      '--initialMemory', '1',
      '--maximumMemory', String(MAX_MEMORY_PAGES),
    ]);
    if (error) {
      throw new Error(`asc failed on ${kernel}.ts (${variant.suffix}): ${error.message}\n${stderr.toString()}`);
    }
    renameSync(tmpFile, outFile);
    if (!process.argv.includes('--quiet')) console.log(`built ${outFile}`);
  }
}
