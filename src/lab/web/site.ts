/**
 * The lab site's files: the page, its two scripts, the wasm kernels and the corpus, and the
 * headers every response needs. Cross-origin isolation (COOP same-origin + COEP require-corp)
 * is what gives the page SharedArrayBuffer, hence the wasm kernels' shared memory and threads.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../kernels/package-root.ts';
import { QkvValueError } from '../../tensor/errors.ts';
import { bundleLab } from './bundle.ts';
import { labPageHtml } from './page-html.ts';

export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  wasm: 'application/wasm',
  txt: 'text/plain; charset=utf-8',
};

/** File name → contents. */
export type LabSite = Map<string, string | Uint8Array>;

/** The site from source: bundles the scripts now (esbuild) and reads build/wasm and data/brown.txt. */
export async function buildLabSite(): Promise<LabSite> {
  const root = packageRoot();
  const site: LabSite = new Map();
  const { page, worker } = await bundleLab();
  site.set('index.html', labPageHtml());
  site.set('page.js', page);
  site.set('worker.js', worker);
  for (const name of ['kernels-relaxed.wasm', 'kernels-simd.wasm']) site.set(name, readRequired(join(root, 'build', 'wasm', name), 'run `npm run build`'));
  site.set('brown.txt', readRequired(join(root, 'data', 'brown.txt'), 'the corpus ships with qkv'));
  return site;
}

/** A site written earlier by `qkv lab serve --out DIR`. */
export function readLabSite(dir: string): LabSite {
  if (!existsSync(join(dir, 'index.html'))) throw new QkvValueError(`${dir}: no index.html (write a site with qkv lab serve --out ${dir})`);
  const site: LabSite = new Map();
  for (const name of readdirSync(dir)) if (name in CONTENT_TYPES || name.split('.').pop()! in CONTENT_TYPES) site.set(name, new Uint8Array(readFileSync(join(dir, name))));
  return site;
}

/** Headers for a static host that reads Netlify/Cloudflare-style `_headers`. */
export function staticHeadersFile(): string {
  return `/*\n${Object.entries(ISOLATION_HEADERS).map(([name, value]) => `  ${name}: ${value}`).join('\n')}\n`;
}

function readRequired(path: string, hint: string): Uint8Array {
  if (!existsSync(path)) throw new QkvValueError(`${path} is missing (${hint})`);
  return new Uint8Array(readFileSync(path));
}
