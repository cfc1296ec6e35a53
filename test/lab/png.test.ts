import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 as zlibCrc32, inflateSync } from 'node:zlib';
import { attentionColor, collectAttentionMaps } from '../../src/lab/attention-maps.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { Bitmap, crc32, encodePng, GLYPH_HEIGHT_PX, renderAttentionPng, textWidthPx } from '../../src/lab/png.ts';
import { chromiumInstalled, CHROMIUM_MISSING, launchChromium, SAMPLE_TEXT, tinyModel } from './fixtures.ts';

interface DecodedPng {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  chunkTypes: string[];
  /** Unfiltered pixels, `channels` bytes each. */
  pixels: Uint8Array;
  channels: number;
}

/**
 * An independent reader for what the encoder promises: signature, chunk framing, every CRC
 * (checked with node:zlib's crc32, not ours), IHDR, one zlib stream of filter-0 rows.
 */
function decodePng(bytes: Uint8Array): DecodedPng {
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunkTypes: string[] = [];
  const idat: Uint8Array[] = [];
  let header: Uint8Array | null = null;
  let offset = 8;
  while (offset < bytes.length) {
    assert.ok(offset + 12 <= bytes.length, `chunk at byte ${offset} runs past the end`);
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    const stored = view.getUint32(offset + 8 + length);
    const computed = zlibCrc32(bytes.subarray(offset + 4, offset + 8 + length));
    assert.equal(stored, computed, `${type} chunk at byte ${offset}: stored CRC ${stored.toString(16)}, computed ${computed.toString(16)}`);
    chunkTypes.push(type);
    if (type === 'IHDR') header = data;
    if (type === 'IDAT') idat.push(data);
    offset += 12 + length;
  }
  assert.equal(offset, bytes.length, 'no trailing bytes after the last chunk');
  assert.equal(chunkTypes[0], 'IHDR');
  assert.equal(chunkTypes.at(-1), 'IEND');
  assert.ok(header !== null && header.length === 13, 'IHDR is 13 bytes');
  const h = new DataView(header.buffer, header.byteOffset, 13);
  const width = h.getUint32(0);
  const height = h.getUint32(4);
  const [bitDepth, colorType, compression, filter, interlace] = header.subarray(8);
  assert.deepEqual([compression, filter, interlace], [0, 0, 0], 'deflate, filter method 0, no interlace');
  const channels = colorType === 2 ? 3 : colorType === 6 ? 4 : NaN;
  assert.ok(channels > 0, `colour type ${colorType} is RGB (2) or RGBA (6)`);
  const raw = inflateSync(Buffer.concat(idat));
  const rowBytes = width * channels;
  assert.equal(raw.length, height * (rowBytes + 1), `inflated IDAT is ${raw.length} bytes, expected ${height}×(1+${rowBytes})`);
  const pixels = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * (rowBytes + 1)], 0, `row ${y} uses filter type 0`);
    pixels.set(raw.subarray(y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1)), y * rowBytes);
  }
  return { width, height, bitDepth, colorType, chunkTypes, pixels, channels };
}

function pixelAt(image: DecodedPng, x: number, y: number): number[] {
  const at = (y * image.width + x) * image.channels;
  return [...image.pixels.subarray(at, at + image.channels)];
}

test('crc32 is the PNG/zlib CRC: check value and agreement with node:zlib', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff);
  assert.equal(crc32(bytes), zlibCrc32(bytes));
  assert.equal(crc32(new Uint8Array(0)), 0);
});

test('encodePng: RGB and RGBA round-trip through an independent reader', () => {
  for (const channels of [3, 4] as const) {
    const width = 5;
    const height = 3;
    const pixels = Uint8Array.from({ length: width * height * channels }, (_, i) => (i * 37) & 0xff);
    const image = decodePng(encodePng({ widthPx: width, heightPx: height, channels, pixels }));
    assert.deepEqual([image.width, image.height, image.bitDepth, image.colorType], [width, height, 8, channels === 3 ? 2 : 6]);
    assert.deepEqual(image.chunkTypes, ['IHDR', 'IDAT', 'IEND']);
    assert.deepEqual([...image.pixels], [...pixels]);
  }
});

test('encodePng refuses sizes that do not add up', () => {
  assert.throws(() => encodePng({ widthPx: 2, heightPx: 2, channels: 3, pixels: new Uint8Array(11) }), /needs 12 bytes, got 11/);
  assert.throws(() => encodePng({ widthPx: 0, heightPx: 2, channels: 3, pixels: new Uint8Array(0) }), /positive integers/);
  assert.throws(() => new Bitmap(0, 10), /Bitmap: size/);
});

test('Bitmap: rectangles are clipped, text lands where asked', () => {
  const bitmap = new Bitmap(20, 12);
  bitmap.fillRect(-5, -5, 8, 8, [1, 2, 3]);
  assert.deepEqual(bitmap.getPixel(0, 0), [1, 2, 3]);
  assert.deepEqual(bitmap.getPixel(2, 2), [1, 2, 3]);
  assert.deepEqual(bitmap.getPixel(3, 3), [255, 255, 255]);
  const text = new Bitmap(20, 12);
  text.drawText(2, 2, 'I', [0, 0, 0]);
  // "I" of the 5×7 font: a bar down the middle column, serifs on the top and bottom rows
  for (let row = 0; row < GLYPH_HEIGHT_PX; row++) assert.deepEqual(text.getPixel(4, 2 + row), [0, 0, 0], `I, middle column, row ${row}`);
  assert.deepEqual(text.getPixel(3, 2), [0, 0, 0]);
  assert.deepEqual(text.getPixel(3, 5), [255, 255, 255]);
  assert.equal(textWidthPx('abc'), 17);
  assert.equal(textWidthPx('abc', 2), 34);
});

test('attention PNG: stated size, every cell the colour of the model\'s weight, causal triangle white', () => {
  const { model, tokenizer } = tinyModel();
  const maps = collectAttentionMaps(model, tokenizer, SAMPLE_TEXT);
  const rendered = renderAttentionPng(maps);
  const image = decodePng(rendered.png);
  assert.deepEqual([image.width, image.height], [rendered.widthPx, rendered.heightPx], 'IHDR size is the size the function returned');
  assert.deepEqual([image.bitDepth, image.colorType], [8, 2]);
  assert.equal(rendered.panels.length, 4);

  const T = maps.labels.length;
  const cell = rendered.cellSizePx;
  model.forward(Tensor.from(maps.ids, [1, T]), { returnAttention: true });
  const reference = model.attentionWeights();
  for (const [p, panel] of rendered.panels.entries()) {
    assert.deepEqual([panel.layer, panel.head], [maps.maps[p].layer, maps.maps[p].head]);
    let largest = { weight: -1, i: 0, j: 0 };
    let darkestBrightness = Infinity;
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < T; j++) {
        const weight = reference[panel.layer]!.get(0, panel.head, i, j);
        const x = panel.gridLeftPx + j * cell + Math.floor(cell / 2);
        const y = panel.gridTopPx + i * cell + Math.floor(cell / 2);
        const pixel = pixelAt(image, x, y);
        assert.deepEqual(pixel, attentionColor(weight), `layer ${panel.layer} head ${panel.head} cell (${i},${j}) at (${x},${y}), weight ${weight}`);
        if (j > i) assert.deepEqual(pixel, [255, 255, 255], `causal cell (${i},${j}) is white`);
        if (i > 0 && weight > largest.weight) largest = { weight, i, j };
        if (i > 0) darkestBrightness = Math.min(darkestBrightness, pixel[0] + pixel[1] + pixel[2]);
      }
    }
    // below row 0, the cell of the largest weight is (one of) the darkest
    const atLargest = pixelAt(image, panel.gridLeftPx + largest.j * cell + 1, panel.gridTopPx + largest.i * cell + 1);
    assert.equal(atLargest[0] + atLargest[1] + atLargest[2], darkestBrightness, `largest weight ${largest.weight} at (${largest.i},${largest.j})`);
    // row 0 can only attend to itself: weight exactly 1, the darkest colour of the scale
    assert.deepEqual(pixelAt(image, panel.gridLeftPx + 1, panel.gridTopPx + 1), [8, 48, 107]);
  }

  const single = renderAttentionPng(collectAttentionMaps(model, tokenizer, SAMPLE_TEXT, { layer: 1, head: 1 }));
  const singleImage = decodePng(single.png);
  assert.deepEqual([singleImage.width, singleImage.height], [single.widthPx, single.heightPx]);
  assert.ok(single.heightPx < rendered.heightPx);
  assert.equal(single.panels.length, 1);
});

test('Chromium decodes the attention PNG to the stated size and colours', { timeout: 60_000 }, async (t) => {
  if (!chromiumInstalled()) {
    t.skip(CHROMIUM_MISSING);
    return;
  }
  const { model, tokenizer } = tinyModel();
  const rendered = renderAttentionPng(collectAttentionMaps(model, tokenizer, SAMPLE_TEXT, { layer: 0, head: 0 }));
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await browser.newPage();
  const dataUrl = `data:image/png;base64,${Buffer.from(rendered.png).toString('base64')}`;
  const [panel] = rendered.panels;
  const x = panel.gridLeftPx + 1;
  const y = panel.gridTopPx + 1;
  const decoded = (await page.evaluate(
    `(async ({ url, x, y }) => {
      const image = new Image();
      image.src = url;
      await image.decode();
      const canvas = document.createElement('canvas');
      canvas.width = image.naturalWidth;
      canvas.height = image.naturalHeight;
      const context = canvas.getContext('2d');
      context.drawImage(image, 0, 0);
      return { width: image.naturalWidth, height: image.naturalHeight, pixel: [...context.getImageData(x, y, 1, 1).data] };
    })(${JSON.stringify({ url: dataUrl, x, y })})`,
  )) as { width: number; height: number; pixel: number[] };
  assert.deepEqual([decoded.width, decoded.height], [rendered.widthPx, rendered.heightPx]);
  assert.deepEqual(decoded.pixel, [8, 48, 107, 255], 'cell (0,0), weight 1');
});
