#!/usr/bin/env node
/**
 * Builds the native CPU kernels (src/kernels/native, binding.gyp) with node-gyp and puts the
 * addon at build/native/qkv_native.node (or $QKV_NATIVE_OUT/qkv_native.node). Runs as the
 * package's `install` script, so during `npm ci`.
 *
 * It never fails the install: with no compiler, no node-gyp, or a failed build it prints one
 * line and exits 0, and qkv runs on its WebAssembly kernels instead (saying so once, at first
 * use). node-gyp is npm's own ($npm_config_node_gyp), else the one in node_modules; the Node
 * headers are the installed ones next to this `node` (no download: installs work offline).
 *
 * Plain .mjs so it runs under bare `node` during `npm ci`, before anything is built.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = process.env.QKV_NATIVE_OUT || join(root, 'build', 'native');
const outFile = join(outDir, 'qkv_native.node');
const quiet = process.argv.includes('--quiet');

function skip(reason) {
  console.log(`qkv: native kernels not built (${reason}); qkv will run on its WebAssembly kernels`);
  process.exit(0);
}

if (process.env.QKV_SKIP_NATIVE === '1') skip('QKV_SKIP_NATIVE=1');

function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(dirname(dirname(process.execPath)), 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((path) => path && existsSync(path));
}

const nodeGyp = findNodeGyp();
if (nodeGyp === undefined) skip('node-gyp not found');

const args = [nodeGyp, 'configure', 'build', '--release', '--jobs', '2'];
// The headers of this very node, installed beside it: node-gyp would otherwise download them.
const installedHeaders = dirname(dirname(process.execPath));
if (existsSync(join(installedHeaders, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${installedHeaders}`);

const started = Date.now();
const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const built = join(root, 'build', 'Release', 'qkv_native.node');
if (result.error !== undefined) skip(`node-gyp could not start: ${result.error.message}`);
if (result.status !== 0 || !existsSync(built)) {
  const output = `${result.stdout}\n${result.stderr}`;
  const firstError = output.split('\n').find((line) => /error|not found|No such file/i.test(line))?.trim() ?? `exit ${result.status}`;
  skip(`build failed: ${firstError.slice(0, 160)}`);
}
mkdirSync(outDir, { recursive: true });
// Copy beside, then rename: a test process may be loading the addon at this moment.
const tmpFile = `${outFile}.${process.pid}.tmp`;
copyFileSync(built, tmpFile);
renameSync(tmpFile, outFile);
rmSync(tmpFile, { force: true });
if (!quiet) console.log(`built ${outFile} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
