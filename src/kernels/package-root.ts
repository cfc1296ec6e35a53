/**
 * Where qkv's own files (build/wasm, build/native) live, found from this module's location so it
 * works from src/ (through tsx) and from dist/ alike.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The folder holding qkv's package.json. */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'qkv') return (root = dir);
    dir = dirname(dir);
  }
  throw new Error(`qkv kernels: no package.json named "qkv" above ${fileURLToPath(import.meta.url)}`);
}
