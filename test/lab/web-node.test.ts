/**
 * The browser lab's pieces under Node: the thread check (a split wasm matmul against float64),
 * the tiny GPT experiment (held-out loss falls below uniform; a too-short text is a typed
 * error), and `qkv lab serve --out` / `--site` through the real CLI.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setWasmThreads, waitForWasmWorkers } from '../../src/kernels/wasm/runtime.ts';
import { resolveParams } from '../../src/lab/experiment.ts';
import { checkWasmThreads } from '../../src/lab/web/thread-check.ts';
import { tinyGptExperiment } from '../../src/lab/web/tiny-gpt.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';

const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

describe('lab web pieces', () => {
  it('the browser stand-in for the native module exports every name the module does (else the page bundle fails)', async () => {
    const native = await import('../../src/kernels/native/index.ts');
    const browser = await import('../../src/lab/web/native-browser.ts');
    const missing = Object.keys(native).filter((name) => !(name in browser));
    assert.deepEqual(missing, []);
  });

  it('thread check: the split matmul matches float64 and helpers took chunks', () => {
    setWasmThreads(2);
    assert.equal(waitForWasmWorkers(), true);
    const check = checkWasmThreads();
    assert.ok(check.workerChunks > 0, JSON.stringify(check));
    assert.ok(check.maxRelativeError < 1e-4, JSON.stringify(check));
  });

  it('tiny GPT: held-out loss falls below uniform; a text too short names --text', () => {
    const params = resolveParams(tinyGptExperiment, { quick: true, overrides: { steps: 40 } });
    let calls = 0;
    const result = tinyGptExperiment.run(params, { seed: 0, onProgress: (_, __, fields) => { calls++; assert.equal(typeof fields?.loss, 'number'); } });
    assert.ok(!(result instanceof Promise));
    assert.equal(calls, 40, 'one progress report per step (the page draws from them)');
    const held = result.rows.map((row) => Number(row[2]));
    const vocab = new Set(String(params.text)).size + 1; // + <unk>
    assert.ok(held[0] > Math.log(vocab) - 0.3, `starts near uniform: ${held[0]}`);
    assert.ok(held.at(-1)! < Math.log(vocab) - 0.7, `held-out ${held.join(', ')}`);
    assert.throws(() => tinyGptExperiment.run({ ...params, text: 'too short' }, { seed: 0, onProgress: () => {} }), (error: unknown) => error instanceof QkvValueError && /--text/.test(error.message));
  });

  it('qkv lab serve --out writes the static site; --site serves it with isolation headers', { timeout: 60_000 }, async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'qkv-lab-site-')), 'site');
    const written = spawnSync(process.execPath, [...CLI, 'lab', 'serve', '--out', dir], { encoding: 'utf8' });
    assert.equal(written.status, 0, written.stderr);
    for (const name of ['index.html', 'page.js', 'worker.js', 'kernels-relaxed.wasm', 'kernels-simd.wasm', 'brown.txt', '_headers']) assert.ok(existsSync(join(dir, name)), name);
    assert.match(readFileSync(join(dir, '_headers'), 'utf8'), /Cross-Origin-Embedder-Policy: require-corp/);

    const server = spawn(process.execPath, [...CLI, 'lab', 'serve', '--site', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        server.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /http:\/\/\S+\//.exec(out);
          if (match) resolve(match[0]);
        });
        server.on('exit', (code) => reject(new Error(`lab serve exited ${code}: ${out}`)));
      });
      const response = await fetch(url + 'worker.js');
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('cross-origin-opener-policy'), 'same-origin');
      assert.equal(response.headers.get('cross-origin-embedder-policy'), 'require-corp');
      assert.equal(await response.text(), readFileSync(join(dir, 'worker.js'), 'utf8'));
    } finally {
      server.kill('SIGINT');
    }
  });
});
