// An install without a working compiler still installs, and qkv then runs on wasm: the build
// script (the package's `install` script) is run on a fresh copy of the native sources with
// CXX=/bin/false, must exit 0 with one line and leave no addon; qkv pointed at that (missing)
// addon must fall back to the wasm kernels, say so once on stderr, and compute correctly.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = process.cwd();

describe('native build without a compiler', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-native-'));
  const addon = join(dir, 'build', 'native', 'qkv_native.node');

  it('the install script exits 0 with one line and builds nothing', () => {
    try {
      cpSync(join(root, 'binding.gyp'), join(dir, 'binding.gyp'));
      cpSync(join(root, 'package.json'), join(dir, 'package.json'));
      cpSync(join(root, 'scripts', 'build-native.mjs'), join(dir, 'scripts', 'build-native.mjs'));
      cpSync(join(root, 'src', 'kernels', 'native'), join(dir, 'src', 'kernels', 'native'), { recursive: true });
      symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
      const result = spawnSync(process.execPath, [join(dir, 'scripts', 'build-native.mjs')], {
        cwd: dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, CXX: '/bin/false', CC: '/bin/false' },
      });
      assert.equal(result.status, 0, `exit ${result.status}: ${result.stderr}`);
      const lines = result.stdout.trim().split('\n');
      assert.equal(lines.length, 1, `one line expected, got:\n${result.stdout}`);
      assert.match(lines[0], /^qkv: native kernels not built \(build failed: .*\); qkv will run on its WebAssembly kernels$/);
      assert.equal(existsSync(addon), false);
    } finally {
      rmSync(join(dir, 'node_modules'), { force: true });
    }
  });

  it('qkv then runs on wasm, says so once, and its kernels compute', () => {
    const script = `
      import { getKernelInfo, matmul } from './src/kernels/index.ts';
      const out = new Float32Array(4);
      for (let i = 0; i < 3; i++) matmul(Float32Array.of(1, 2, 3, 4), Float32Array.of(5, 6, 7, 8), out, { batch: 1, m: 2, n: 2, k: 2 });
      console.log(JSON.stringify({ info: getKernelInfo(), out: Array.from(out) }));`;
    const env: NodeJS.ProcessEnv = { ...process.env, QKV_NATIVE_PATH: addon };
    delete env.QKV_KERNELS;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000, env });
    assert.equal(result.status, 0, result.stderr);
    const { info, out } = JSON.parse(result.stdout);
    assert.equal(info.backend, 'wasm');
    assert.match(info.fallbackReason, /native: .*qkv_native\.node is missing/);
    assert.deepEqual(out, [19, 22, 43, 50]);
    const said = result.stderr.split('\n').filter((line) => line.startsWith('qkv: running on the wasm kernels'));
    assert.equal(said.length, 1, `stderr:\n${result.stderr}`);
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'info', '--json'], { cwd: root, encoding: 'utf8', timeout: 60_000, env });
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(JSON.parse(cli.stdout).backend, 'wasm');
    rmSync(dir, { recursive: true, force: true });
  });
});
