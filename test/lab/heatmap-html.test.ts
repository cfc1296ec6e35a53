import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { attentionColor, collectAttentionMaps, type AttentionMaps } from '../../src/lab/attention-maps.ts';
import { ATTENTION_DATA_ID, renderAttentionHtml } from '../../src/lab/heatmap-html.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { chromiumInstalled, CHROMIUM_MISSING, launchChromium, SAMPLE_TEXT, tinyModel } from './fixtures.ts';

/** Where the test leaves its screenshot, for a person to look at. */
const SCREENSHOT = join(tmpdir(), 'qkv-attention-heatmap.png');

function embeddedData(html: string): AttentionMaps {
  const match = new RegExp(`<script type="application/json" id="${ATTENTION_DATA_ID}">(.*?)</script>`, 's').exec(html);
  assert.ok(match, 'the page embeds its weights as JSON');
  return JSON.parse(match[1]) as AttentionMaps;
}

/** Every embedded weight equals the model's, exactly (JSON round-trips a float32 value). */
function assertWeightsEqualModel(data: AttentionMaps, reference: (Tensor | null)[]): void {
  for (const map of data.maps) {
    const T = map.weights.length;
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < T; j++) {
        const expected = reference[map.layer]!.get(0, map.head, i, j);
        assert.equal(map.weights[i][j], expected, `layer ${map.layer} head ${map.head} [${i}][${j}]: page ${map.weights[i][j]}, model ${expected}`);
        if (j > i) assert.equal(map.weights[i][j], 0, `causal: [${i}][${j}] is 0`);
      }
    }
  }
}

function modelAndReference() {
  const { model, tokenizer } = tinyModel();
  const maps = collectAttentionMaps(model, tokenizer, SAMPLE_TEXT);
  model.forward(Tensor.from(maps.ids, [1, maps.ids.length]), { returnAttention: true });
  return { model, tokenizer, maps, reference: model.attentionWeights() };
}

test('the page is self-contained and embeds exactly the model\'s weights', () => {
  const { maps, reference } = modelAndReference();
  const html = renderAttentionHtml(maps);
  assert.match(html, /^<!DOCTYPE html>/);
  assert.ok(!/<link\b|\bsrc=|@import|url\(http/i.test(html), 'no external stylesheets, scripts or images');
  assert.ok(!/https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(html), 'no URL except the SVG namespace');
  assert.equal(html.match(/<svg [^>]*class="panel"/g)?.length, 4, 'one panel per head');
  const data = embeddedData(html);
  assert.deepEqual(data.labels, maps.labels);
  assertWeightsEqualModel(data, reference);
  // a token cannot close the script that holds the data
  const tricky = { ...maps, text: '</script><b>', labels: maps.labels.map(() => '</script>') };
  const trickyHtml = renderAttentionHtml(tricky);
  assert.equal(trickyHtml.match(/<\/script>/g)?.length, 2, 'only the two real </script> tags');
  assert.equal(embeddedData(trickyHtml).text, '</script><b>');
});

test('one layer or one head: only those panels, and the page says how many of how many', () => {
  const { model, tokenizer } = tinyModel();
  const html = renderAttentionHtml(collectAttentionMaps(model, tokenizer, 'jury', { layer: 1, head: 0 }));
  assert.equal(html.match(/<svg [^>]*class="panel"/g)?.length, 1);
  assert.match(html, /1 of 4 heads \(model: 2 layers × 2 heads\)/);
  assert.match(html, /data-layer="1" data-head="0"/);
});

test('Chromium renders one non-empty panel per head, draws the weights it embeds, fetches nothing', { timeout: 60_000 }, async (t) => {
  if (!chromiumInstalled()) {
    t.skip(CHROMIUM_MISSING);
    return;
  }
  const { maps, reference } = modelAndReference();
  const dir = mkdtempSync(join(tmpdir(), 'qkv-heatmap-html-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'attention.html');
  writeFileSync(file, renderAttentionHtml(maps));

  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  const url = pathToFileURL(file).href;
  await page.goto(url);

  const panels = page.locator('svg.panel');
  assert.equal(await panels.count(), maps.numLayers * maps.numHeads, 'one panel per head');
  for (let p = 0; p < 4; p++) {
    const panel = panels.nth(p);
    const box = await panel.boundingBox();
    assert.ok(box && box.width > 50 && box.height > 50, `panel ${p} drawn ${box?.width}×${box?.height}`);
    const title = await panel.locator('.panel-title').textContent();
    assert.equal(title, `layer ${maps.maps[p].layer} · head ${maps.maps[p].head}`);
  }
  assert.equal(await page.locator('section.layer').count(), 2);

  // the numbers the page holds are the model's
  const data = JSON.parse((await page.locator(`#${ATTENTION_DATA_ID}`).textContent())!) as AttentionMaps;
  assertWeightsEqualModel(data, reference);

  // and what it draws is their colour: the largest weight below row 0 of layer 1 head 1
  const map = data.maps[3];
  let largest = { weight: -1, i: 0, j: 0 };
  map.weights.forEach((row, i) => row.forEach((weight, j) => {
    if (i > 0 && weight > largest.weight) largest = { weight, i, j };
  }));
  const cell = panels.nth(3).locator(`rect[data-i="${largest.i}"][data-j="${largest.j}"]`);
  const fill = await cell.evaluate(new Function('rect', 'return getComputedStyle(rect).fill') as (rect: unknown) => string);
  assert.equal(fill, `rgb(${attentionColor(largest.weight).join(', ')})`);
  const future = panels.nth(3).locator('rect[data-i="0"][data-j="1"]');
  assert.equal(await future.evaluate(new Function('rect', 'return getComputedStyle(rect).fill') as (rect: unknown) => string), 'rgb(255, 255, 255)');

  // hovering a cell shows its exact weight
  await cell.hover();
  const readout = await page.locator('#readout').textContent();
  assert.match(readout!, new RegExp(`layer 1, head 1: query ${largest.i} .* key ${largest.j} .* = ${largest.weight.toPrecision(6)}`));

  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  assert.deepEqual(requests, [url], 'the page fetches nothing but itself');
  assert.deepEqual(errors, []);
});
