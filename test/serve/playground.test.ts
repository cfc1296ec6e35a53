/**
 * The playground in headless Chromium (playwright-core, Debian's /usr/bin/chromium): the page
 * loads with nothing from elsewhere, a typed message gets a streamed reply that grows piece by
 * piece, and the attention view draws the heatmap panels of the last exchange. A screenshot is
 * saved in a temp folder.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningServer } from '../../src/serve/server.ts';
import { chromiumInstalled, CHROMIUM_MISSING, launchChromium } from '../lab/fixtures.ts';
import { startTinyServer, trainTinyModel } from './fixtures.ts';

let server: RunningServer;

before(async () => {
  ({ server } = await startTinyServer(trainTinyModel(40)));
});
after(() => server.close({ graceMs: 100 }));

test('playground: type a message, watch the reply stream in, see the attention heatmaps draw', async (t) => {
  if (!chromiumInstalled()) {
    t.skip(CHROMIUM_MISSING);
    return;
  }
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const foreign: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(server.url)) foreign.push(request.url());
    });
    await page.goto(server.url);
    // Page code as strings: the tests compile without the DOM library.
    await page.waitForFunction(`document.getElementById('model').textContent === 'tiny-chat'`);
    await page.fill('#temperature', '0');
    await page.fill('#max_tokens', '40');
    await page.fill('#message', 'hi');

    // Record the reply's length at every change: a streamed reply grows in several steps.
    await page.evaluate(`(() => {
      const lengths = (window.replyLengths = []);
      new MutationObserver(() => {
        const reply = document.querySelector('.msg.assistant');
        if (reply) lengths.push(reply.textContent.length);
      }).observe(document.getElementById('log'), { subtree: true, childList: true, characterData: true });
    })()`);
    await page.click('#send');
    await page.waitForSelector('#attention svg', { timeout: 30_000 });
    const reply = await page.textContent('.msg.assistant');
    const lengths = (await page.evaluate('window.replyLengths')) as number[];
    assert.ok(reply && reply.length > 0, 'a reply');
    assert.ok(new Set(lengths).size >= 3, `the reply grew in steps: ${lengths.join(',')}`);
    assert.match((await page.textContent('#status'))!, /tokens in .* s/);

    // The heatmaps: one panel per head of the last layer, one cell per (query, key) pair.
    const cells = await page.locator('#attention rect[data-i]').count();
    const heading = (await page.textContent('#attention h2'))!;
    const [, heads, tokens] = /(\d+) heads, (\d+) tokens/.exec(heading)!.map(Number);
    assert.equal(cells, heads * tokens * tokens, heading);
    assert.deepEqual(foreign, [], 'nothing fetched from elsewhere');

    const shot = join(mkdtempSync(join(tmpdir(), 'qkv-playground-')), 'playground.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`playground screenshot: ${shot}`);
  } finally {
    await browser.close();
  }
});
