/**
 * `qkv info`: where the kernels run — the backend (native, wasm or reference), its SIMD level,
 * the thread count — and why, when it is not the native backend.
 *
 *   $ qkv info
 *   backend  native (avx512, 12x32 sgemm tile)
 *   threads  2
 */
import type { Command } from 'commander';
import { getKernelInfo } from '../kernels/index.ts';
import { nativeAddonPath, nativeInfo } from '../kernels/native/index.ts';

export function registerInfoCommand(program: Command): void {
  program
    .command('info')
    .description('the kernel backend (native, wasm or reference), its SIMD level and threads (QKV_KERNELS, QKV_THREADS change them)')
    .option('--json', 'print one JSON object: backend, simd, threads, node, platform, and fallbackReason when there is one')
    .action((flags: { json?: boolean }) => {
      const kernels = getKernelInfo();
      const microTile = kernels.backend === 'native' ? nativeInfo().microTile : undefined;
      const result = {
        backend: kernels.backend,
        ...(kernels.simd === undefined ? {} : { simd: kernels.simd }),
        threads: kernels.threads,
        ...(microTile === undefined ? {} : { microTile }),
        ...(kernels.backend === 'native' ? { nativeAddon: nativeAddonPath() } : {}),
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        ...(kernels.fallbackReason === undefined ? {} : { fallbackReason: kernels.fallbackReason }),
      };
      if (flags.json) {
        console.log(JSON.stringify(result));
        return;
      }
      const detail = [kernels.simd, microTile && `${microTile} sgemm tile`].filter(Boolean).join(', ');
      console.log(`backend  ${kernels.backend}${detail ? ` (${detail})` : ''}`);
      console.log(`threads  ${kernels.threads}`);
      console.log(`node     ${result.node} on ${result.platform}`);
      if (kernels.fallbackReason !== undefined) console.log(`why      ${kernels.fallbackReason}`);
    });
}
