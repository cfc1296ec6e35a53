/**
 * The lab in the browser: `qkv lab serve`'s site in headless Chromium (playwright-core, Debian's
 * /usr/bin/chromium). The page trains the tiny GPT on pasted text in its worker on the wasm
 * kernels with threads; the test reads the loss from the page's table, checks the plot SVG,
 * cross-origin isolation and the backend, and saves a screenshot.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setKernelBackend } from '../../src/kernels/index.ts';
import { resolveParams } from '../../src/lab/experiment.ts';
import { scalingExperiment } from '../../src/lab/experiments/scaling.ts';
import { serveLab, type LabServer } from '../../src/lab/web/server.ts';
import { buildLabSite, ISOLATION_HEADERS, type LabSite } from '../../src/lab/web/site.ts';
import { CHROMIUM_MISSING, chromiumInstalled, launchChromium } from './fixtures.ts';

const PASTED = 'to be or not to be, that is the question. to see or not to see, that is the test.\n'.repeat(6);

describe('qkv lab serve', () => {
  let site: LabSite;
  let server: LabServer;
  before(async () => {
    site = await buildLabSite();
    server = await serveLab(site, { host: '127.0.0.1', port: 0 });
  });
  after(() => server?.close());

  it('serves every file with the cross-origin isolation headers, and 404 for others', async () => {
    for (const name of ['', 'page.js', 'worker.js', 'kernels-simd.wasm']) {
      const response = await fetch(server.url + name);
      assert.equal(response.status, 200, name);
      for (const [header, value] of Object.entries(ISOLATION_HEADERS)) assert.equal(response.headers.get(header), value, `${name}: ${header}`);
      if (name.endsWith('.wasm')) assert.equal(response.headers.get('content-type'), 'application/wasm');
      await response.arrayBuffer();
    }
    assert.equal((await fetch(server.url + 'nope.js')).status, 404);
  });

  it('the worker bundle has the browser swaps: no Node worker_threads or addon loading', () => {
    const worker = String(site.get('worker.js'));
    assert.ok(!worker.includes('require("node:worker_threads")'), 'worker_threads stayed in the bundle');
    assert.match(worker, /the native addon needs Node/);
    assert.match(worker, /createObjectURL/, 'the kernel threads are not Web Workers from a Blob');
  });

  it('trains a tiny GPT on pasted text in the page: loss falls, the plot draws, wasm kernels on threads', { timeout: 120_000 }, async (t) => {
    if (!chromiumInstalled()) {
      t.skip(CHROMIUM_MISSING);
      return;
    }
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 1200 } });
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`${server.url}?threads=2`);
      await page.waitForFunction(() => (globalThis as { qkvLab?: { status: string } }).qkvLab?.status === 'ready', null, { timeout: 60_000 });
      assert.equal(await page.evaluate(() => (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated), true, 'page is not cross-origin isolated');
      const kernels = await page.evaluate(() => (globalThis as unknown as { qkvLab: { kernels: Record<string, unknown> } }).qkvLab.kernels);
      assert.equal(kernels.backend, 'wasm', `compute ran on ${kernels.backend}: ${kernels.fallbackReason}`);
      assert.equal(kernels.threads, 2);
      assert.equal(kernels.threadsRunning, true, 'the kernel helper threads did not start');
      assert.equal(kernels.crossOriginIsolated, true, 'the worker is not cross-origin isolated');
      // The helper threads really compute in the page: a split matmul, right against float64.
      const check = kernels.threadCheck as { workerChunks: number; maxRelativeError: number; milliseconds: number };
      assert.ok(check.workerChunks > 0, `no matmul chunk ran on a helper thread: ${JSON.stringify(check)}`);
      assert.ok(check.maxRelativeError < 1e-4, `thread check error ${check.maxRelativeError}`);
      t.diagnostic(`thread check in the page: ${JSON.stringify(check)}`);

      await page.selectOption('#experiment', 'tiny-gpt');
      await page.check('#quick');
      await page.fill('#param-text', PASTED);
      await page.fill('#param-steps', '40');
      await page.fill('#param-eval-every', '10');
      await page.click('#run');
      // While it trains, the page answers at once (the compute is in the worker) and the live plot appears.
      await page.waitForSelector('#plot svg', { timeout: 60_000 });
      const started = Date.now();
      await page.evaluate(() => 1);
      assert.ok(Date.now() - started < 2000, 'the page was blocked while training');
      await page.waitForFunction(() => ['done', 'error'].includes((globalThis as unknown as { qkvLab: { status: string } }).qkvLab.status), null, { timeout: 90_000 });
      assert.equal(await page.evaluate(() => (globalThis as unknown as { qkvLab: { status: string } }).qkvLab.status), 'done', await page.textContent('#progress') ?? '');

      const rows = await page.$$eval('#table tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => (td as { textContent: string | null }).textContent ?? '')));
      const held = rows.map((row) => Number(row[2]));
      const train = rows.slice(1).map((row) => Number(row[1]));
      assert.ok(rows.length >= 4, `table has ${rows.length} rows`);
      assert.ok(held.every(Number.isFinite) && train.every(Number.isFinite), JSON.stringify(rows));
      // Uniform over the pasted text's characters is ln V ≈ 2.9 nats; 40 steps must get well below the start.
      assert.ok(held.at(-1)! < held[0] - 0.5, `held-out loss ${held[0]} → ${held.at(-1)}`);
      assert.ok(train.at(-1)! < train[0] - 0.5, `train loss ${train[0]} → ${train.at(-1)}`);
      assert.match(await page.innerHTML('#plot'), /<svg[\s\S]*<path|<svg[\s\S]*<polyline/);
      assert.match(await page.textContent('#findings') ?? '', /Train loss fell/);
      assert.deepEqual(errors, []);

      const dir = mkdtempSync(join(tmpdir(), 'qkv-lab-web-'));
      const screenshot = join(dir, 'lab-tiny-gpt.png');
      await page.screenshot({ path: screenshot, fullPage: true });

      // A library experiment in the page gives the terminal's numbers: scaling --quick, wasm both sides.
      await page.selectOption('#experiment', 'scaling');
      await page.check('#quick');
      await page.click('#run');
      await page.waitForFunction(() => ['done', 'error'].includes((globalThis as unknown as { qkvLab: { status: string } }).qkvLab.status), null, { timeout: 90_000 });
      setKernelBackend('wasm');
      const inNode = await scalingExperiment.run(resolveParams(scalingExperiment, { quick: true }), { seed: 0, onProgress: () => {} });
      const inPage = await page.$$eval('#findings li', (items) => items.map((item) => (item as { textContent: string | null }).textContent ?? ''));
      assert.deepEqual(inPage, inNode.findings);
      assert.match(await page.innerHTML('#plot'), /<svg/);

      await page.screenshot({ path: join(dir, 'lab-scaling.png'), fullPage: true });
      t.diagnostic(`screenshots: ${screenshot}, lab-scaling.png beside it; held-out ${held[0].toFixed(3)} → ${held.at(-1)!.toFixed(3)}`);
    } finally {
      await browser.close();
    }
  });
});
