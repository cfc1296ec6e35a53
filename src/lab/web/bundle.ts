/**
 * Bundles the browser lab (page + compute worker) with esbuild, from the same sources the CLI
 * runs. The library's few host-bound modules are swapped for browser ones at bundle time, so
 * Node keeps its own code untouched:
 *   kernels/wasm/platform.ts        → kernels/wasm/platform-browser.ts (fetched bytes, Web Workers)
 *   kernels/native/index.ts         → ./native-browser.ts (no addon: the dispatcher falls to wasm)
 *   lab/experiments/brown-text.ts   → ./brown-text-browser.ts (corpus fetched by the worker)
 * and any other `node:` import becomes a module whose functions throw when called (experiments
 * that write files are marked terminal-only in the page, see ./worker-main.ts).
 *
 * esbuild comes with tsx (a dev dependency); an install without it serves a prebuilt site
 * (`qkv lab serve --out DIR` writes one).
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));
const SRC = resolve(HERE, '..', '..');

/** Library file → its browser stand-in. */
export const BROWSER_SWAPS: ReadonlyMap<string, string> = new Map([
  [join(SRC, 'kernels', 'wasm', 'platform.ts'), join(SRC, 'kernels', 'wasm', 'platform-browser.ts')],
  [join(SRC, 'kernels', 'native', 'index.ts'), join(HERE, 'native-browser.ts')],
  [join(SRC, 'lab', 'experiments', 'brown-text.ts'), join(HERE, 'brown-text-browser.ts')],
]);

/**
 * `process` for the worker: the dispatcher reads QKV_KERNELS at load (wasm, the browser's
 * engine), warnings go to the console.
 */
const PROCESS_SHIM = `var process = { env: { QKV_KERNELS: 'wasm' }, stderr: { write: (s) => console.warn(s) }, stdout: { write: (s) => console.log(s) },
  emitWarning: (m) => console.warn(m), cwd: () => '/', once() {}, on() {}, removeListener() {}, memoryUsage: () => ({ rss: 0, heapUsed: 0 }), hrtime: { bigint: () => BigInt(Math.round(performance.now() * 1e6)) } };`;

function browserPlugin(): Plugin {
  return {
    name: 'qkv-browser',
    setup(build) {
      build.onResolve({ filter: /\.ts$/ }, (args) => {
        if (args.kind === 'entry-point') return undefined;
        const swap = BROWSER_SWAPS.get(resolve(args.resolveDir, args.path));
        return swap === undefined ? undefined : { path: swap };
      });
      build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-stub' }));
      build.onLoad({ filter: /.*/, namespace: 'node-stub' }, (args) => ({
        // CommonJS, so any named import is a property read: each is a function that throws.
        contents: `module.exports = new Proxy({}, { get(_, name) {
          if (name === '__esModule' || typeof name === 'symbol') return undefined;
          return function () { throw new Error(${JSON.stringify(args.path)} + '.' + String(name) + ' is not available in the browser'); };
        } });`,
        loader: 'js',
      }));
    },
  };
}

export interface LabBundle {
  /** The page script (DOM, plots). */
  page: string;
  /** The compute worker (experiments on the wasm kernels). */
  worker: string;
}

/** Both scripts (minified unless told), with the browser swaps. Throws when esbuild is not installed. */
export async function bundleLab(options: { minify?: boolean } = {}): Promise<LabBundle> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new Error('qkv lab serve: esbuild is not installed (it comes with the dev dependencies); serve a prebuilt site with --site DIR');
  }
  const common: import('esbuild').BuildOptions = { bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2022', minify: options.minify ?? true, legalComments: 'none', logLevel: 'silent', plugins: [browserPlugin()],
    // Modules that compute a path from their own URL at load (to find a file or a worker script)
    // must load; they only fail if that path is used, which the page never does.
    define: { 'import.meta.url': JSON.stringify('https://qkv.invalid/src/in-the-browser.js') } };
  const [page, worker] = await Promise.all([
    esbuild.build({ ...common, entryPoints: [join(HERE, 'page-main.ts')] }),
    esbuild.build({ ...common, entryPoints: [join(HERE, 'worker-main.ts')], banner: { js: PROCESS_SHIM } }),
  ]);
  return { page: page.outputFiles![0].text, worker: worker.outputFiles![0].text };
}
