/**
 * PNG images without a dependency: a minimal encoder, a bitmap with rectangles and a 5×7 pixel
 * font, and the attention heatmap drawn with them.
 *
 * The encoder writes what the PNG spec (W3C, "Portable Network Graphics Specification", 2nd
 * ed.) calls the minimum: the 8-byte signature, IHDR (8-bit RGB or RGBA, no interlace), one
 * IDAT holding the zlib stream (node:zlib `deflateSync`) of every row prefixed by filter type 0
 * ("None"), and IEND. Each chunk is length, type, data, then the CRC-32 (ISO 3309, the zlib
 * polynomial) of type and data.
 *
 * @example
 *   const bitmap = new Bitmap(40, 20);
 *   bitmap.fillRect(0, 0, 20, 20, [8, 48, 107]);
 *   bitmap.drawText(22, 6, 'hi', [0, 0, 0]);
 *   writeFileAtomic('out.png', bitmap.toPng());
 */
import { deflateSync } from 'node:zlib';
import { QkvValueError } from '../tensor/errors.ts';
import { attentionColor, checkDrawable, type AttentionMaps } from './attention-maps.ts';
import { defaultTitle, panelTitle } from './heatmap-svg.ts';

export type Rgb = readonly [number, number, number];

/** Pixels row by row, top to bottom; each pixel `channels` bytes (RGB or RGBA), 8 bits each. */
export interface RasterImage {
  widthPx: number;
  heightPx: number;
  channels: 3 | 4;
  pixels: Uint8Array;
}

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
/** Larger images are refused rather than filling memory (100 megapixels ≈ 300 MB of RGB). */
const MAX_PIXELS = 100_000_000;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 as PNG and zlib define it (reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One chunk: 4-byte big-endian length, 4-byte type, data, CRC-32 of type + data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Encodes `image` as a PNG file (8-bit RGB: colour type 2, or RGBA: colour type 6). */
export function encodePng(image: RasterImage): Uint8Array {
  const { widthPx, heightPx, channels, pixels } = image;
  if (!Number.isInteger(widthPx) || !Number.isInteger(heightPx) || widthPx < 1 || heightPx < 1) {
    throw new QkvValueError(`encodePng: width and height must be positive integers, got ${widthPx}×${heightPx}`);
  }
  if (channels !== 3 && channels !== 4) throw new QkvValueError(`encodePng: channels must be 3 (RGB) or 4 (RGBA), got ${String(channels)}`);
  const rowBytes = widthPx * channels;
  if (pixels.length !== rowBytes * heightPx) {
    throw new QkvValueError(`encodePng: ${widthPx}×${heightPx}×${channels} needs ${rowBytes * heightPx} bytes, got ${pixels.length}`);
  }
  const header = new Uint8Array(13);
  const headerView = new DataView(header.buffer);
  headerView.setUint32(0, widthPx);
  headerView.setUint32(4, heightPx);
  header[8] = 8; // bit depth
  header[9] = channels === 3 ? 2 : 6; // colour type: truecolour, or truecolour with alpha
  // header[10..12] = 0: deflate compression, adaptive filtering (method 0), no interlace

  // every row starts with its filter type; 0 ("None") keeps the encoder trivially correct
  const raw = new Uint8Array((rowBytes + 1) * heightPx);
  for (let y = 0; y < heightPx; y++) raw.set(pixels.subarray(y * rowBytes, (y + 1) * rowBytes), y * (rowBytes + 1) + 1);
  const parts = [PNG_SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 5×7 pixel font for printable ASCII (32–126), the classic LCD character set: five columns per
// glyph, each a byte whose bit 0 is the top row. Characters outside it are drawn from EXTRA_GLYPHS
// or as `?`.

const ASCII_GLYPHS = [
  '0000000000', '00005f0000', '0007000700', '147f147f14', '242a7f2a12', '2313086462', '3649552250', '0005030000',
  '001c224100', '0041221c00', '082a1c2a08', '08083e0808', '0050300000', '0808080808', '0060600000', '2010080402',
  '3e5149453e', '00427f4000', '4261514946', '2141454b31', '1814127f10', '2745454539', '3c4a494930', '0171090503',
  '3649494936', '064949291e', '0036360000', '0056360000', '0814224100', '1414141414', '0041221408', '0201510906',
  '3249794136', '7e1111117e', '7f49494936', '3e41414122', '7f4141221c', '7f49494941', '7f09090101', '3e41415132',
  '7f0808087f', '00417f4100', '2040413f01', '7f08142241', '7f40404040', '7f020c027f', '7f0408107f', '3e4141413e',
  '7f09090906', '3e4151215e', '7f09192946', '4649494931', '01017f0101', '3f4040403f', '1f2040201f', '3f4038403f',
  '6314081463', '0708700807', '6151494543', '007f414100', '0204081020', '0041417f00', '0402010204', '4040404040',
  '0001020400', '2054545478', '7f48444438', '3844444420', '384444487f', '3854545418', '087e090102', '0c5252523e',
  '7f08040478', '00447d4000', '2040443d00', '7f10284400', '00417f4000', '7c04180478', '7c08040478', '3844444438',
  '7c14141408', '081414187c', '7c08040408', '4854545420', '043f444020', '3c4040207c', '1c2040201c', '3c4030403c',
  '4428102844', '0c5050503c', '4464544c44', '0008364100', '00007f0000', '0041360800', '0804081008',
];

/** Glyphs for the characters that `visibleText` puts in token labels, and the ellipsis. */
const EXTRA_GLYPHS: Record<string, string> = {
  '␣': '6040404060', // open box: a visible space
  '↵': '081c08080f', // return arrow
  '⏎': '081c08080f',
  '⇥': '08082a1c08', // tab arrow
  '…': '4000400040',
};

function glyphColumns(ch: string): number[] {
  const code = ch.codePointAt(0)!;
  const hex = code >= 32 && code <= 126 ? ASCII_GLYPHS[code - 32] : (EXTRA_GLYPHS[ch] ?? ASCII_GLYPHS['?'.charCodeAt(0) - 32]);
  return [0, 2, 4, 6, 8].map((k) => parseInt(hex.slice(k, k + 2), 16));
}

/** Glyph 5 px wide plus 1 px spacing, 7 px tall; `scale` multiplies both. */
export const GLYPH_ADVANCE_PX = 6;
export const GLYPH_HEIGHT_PX = 7;

/** Width of `text` drawn at `scale`, without the trailing spacing. */
export function textWidthPx(text: string, scale = 1): number {
  const n = [...text].length;
  return n === 0 ? 0 : (n * GLYPH_ADVANCE_PX - 1) * scale;
}

/** An RGB canvas: rectangles and pixel text, clipped to its bounds. */
export class Bitmap {
  readonly pixels: Uint8Array;

  constructor(
    readonly widthPx: number,
    readonly heightPx: number,
    background: Rgb = [255, 255, 255],
  ) {
    if (!Number.isInteger(widthPx) || !Number.isInteger(heightPx) || widthPx < 1 || heightPx < 1 || widthPx * heightPx > MAX_PIXELS) {
      throw new QkvValueError(`Bitmap: size must be positive integers of at most ${MAX_PIXELS} pixels, got ${widthPx}×${heightPx}`);
    }
    this.pixels = new Uint8Array(widthPx * heightPx * 3);
    this.fillRect(0, 0, widthPx, heightPx, background);
  }

  getPixel(x: number, y: number): [number, number, number] {
    const at = (y * this.widthPx + x) * 3;
    return [this.pixels[at], this.pixels[at + 1], this.pixels[at + 2]];
  }

  fillRect(x: number, y: number, width: number, height: number, color: Rgb): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.widthPx, Math.round(x + width));
    const y1 = Math.min(this.heightPx, Math.round(y + height));
    for (let row = y0; row < y1; row++) {
      for (let col = x0; col < x1; col++) {
        const at = (row * this.widthPx + col) * 3;
        this.pixels[at] = color[0];
        this.pixels[at + 1] = color[1];
        this.pixels[at + 2] = color[2];
      }
    }
  }

  /** A 1-px outline just outside the box (x, y, width, height). */
  strokeRect(x: number, y: number, width: number, height: number, color: Rgb): void {
    this.fillRect(x - 1, y - 1, width + 2, 1, color);
    this.fillRect(x - 1, y + height, width + 2, 1, color);
    this.fillRect(x - 1, y, 1, height, color);
    this.fillRect(x + width, y, 1, height, color);
  }

  /**
   * Draws `text` with its top-left corner at (x, y); with `vertical`, the text is turned a
   * quarter left (reading bottom to top) and (x, y) is its bottom-left corner.
   */
  drawText(x: number, y: number, text: string, color: Rgb, options: { scale?: number; vertical?: boolean } = {}): void {
    const scale = options.scale ?? 1;
    let advance = 0;
    for (const ch of text) {
      const columns = glyphColumns(ch);
      for (let gx = 0; gx < 5; gx++) {
        for (let gy = 0; gy < GLYPH_HEIGHT_PX; gy++) {
          if (!((columns[gx] >> gy) & 1)) continue;
          const along = (advance + gx) * scale;
          if (options.vertical) this.fillRect(x + gy * scale, y - along - scale, scale, scale, color);
          else this.fillRect(x + along, y + gy * scale, scale, scale, color);
        }
      }
      advance += GLYPH_ADVANCE_PX;
    }
  }

  toPng(): Uint8Array {
    return encodePng({ widthPx: this.widthPx, heightPx: this.heightPx, channels: 3, pixels: this.pixels });
  }
}

// ---------------------------------------------------------------------------------------------
// The heatmap: the same layout as the SVG (a row per layer, a column per head, keys along the
// top, queries down the left), in whole pixels.

export interface PngOptions {
  /** Side of one cell in px; default chosen from T so a grid is about 240 px (4 to 24). */
  cellSizePx?: number;
  /** Heading at the top; default `Attention: "<text>"` (non-ASCII characters drawn as `?`). */
  title?: string;
}

/** Where one panel's grid landed: cell (i, j) covers [gridLeftPx + j·cell, +cell) × [gridTopPx + i·cell, +cell). */
export interface PngPanel {
  layer: number;
  head: number;
  gridLeftPx: number;
  gridTopPx: number;
}

export interface AttentionPng {
  png: Uint8Array;
  widthPx: number;
  heightPx: number;
  cellSizePx: number;
  panels: PngPanel[];
}

const MAX_PNG_LABEL_CHARS = 10;
const PNG_GAP_PX = 16;
const PNG_HEADER_PX = 64;
const TEXT_COLOR: Rgb = [34, 34, 34];
const FRAME_COLOR: Rgb = [136, 136, 136];

function pngLabel(label: string): string {
  const chars = [...label];
  return chars.length <= MAX_PNG_LABEL_CHARS ? label : `${chars.slice(0, MAX_PNG_LABEL_CHARS - 1).join('')}…`;
}

/** Draws every map of `maps` and encodes the result; the returned layout says where each cell is. */
export function renderAttentionPng(maps: AttentionMaps, options: PngOptions = {}): AttentionPng {
  checkDrawable(maps, 'renderAttentionPng');
  const T = maps.labels.length;
  const cell = options.cellSizePx ?? Math.min(24, Math.max(4, Math.round(240 / T)));
  if (!Number.isInteger(cell) || cell < 1) throw new QkvValueError(`renderAttentionPng: cellSizePx must be a positive integer, got ${cell}`);
  const labels = maps.labels.map(pngLabel);
  const labelScale = cell >= 16 ? 2 : 1;
  const glyphHeight = GLYPH_HEIGHT_PX * labelScale;
  const widestLabel = Math.max(...labels.map((label) => textWidthPx(label, labelScale)));
  // key labels stand upright when each fits its column (single characters), else turn
  const keysUpright = widestLabel <= cell;
  const leftMargin = widestLabel + 6;
  const topMargin = keysUpright ? glyphHeight + 6 : leftMargin;
  const titleHeight = 2 * GLYPH_HEIGHT_PX + 8;
  const panelWidth = leftMargin + T * cell + 2;
  const panelHeight = titleHeight + topMargin + T * cell + 2;
  const layers = [...new Set(maps.maps.map((map) => map.layer))];
  const heads = [...new Set(maps.maps.map((map) => map.head))];
  const title = options.title ?? defaultTitle(maps);
  const legend = '1  attention weight (rows: queries, columns: keys)';
  const scaleLeft = PNG_GAP_PX + textWidthPx('0') + 4;
  const widthPx = Math.max(PNG_GAP_PX * 2 + textWidthPx(title, 2), scaleLeft + 204 + textWidthPx(legend) + PNG_GAP_PX, PNG_GAP_PX + heads.length * (panelWidth + PNG_GAP_PX));
  const heightPx = PNG_HEADER_PX + layers.length * (panelHeight + PNG_GAP_PX);
  const bitmap = new Bitmap(widthPx, heightPx);

  bitmap.drawText(PNG_GAP_PX, 10, title, [17, 17, 17], { scale: 2 });
  // colour scale: 200 px from 0 to 1, with its ends labelled
  for (let x = 0; x < 200; x++) bitmap.fillRect(scaleLeft + x, 36, 1, 12, attentionColor(x / 199));
  bitmap.strokeRect(scaleLeft, 36, 200, 12, FRAME_COLOR);
  bitmap.drawText(PNG_GAP_PX, 39, '0', TEXT_COLOR);
  bitmap.drawText(scaleLeft + 204, 39, legend, TEXT_COLOR);

  const panels: PngPanel[] = [];
  for (const map of maps.maps) {
    const left = PNG_GAP_PX + heads.indexOf(map.head) * (panelWidth + PNG_GAP_PX);
    const top = PNG_HEADER_PX + layers.indexOf(map.layer) * (panelHeight + PNG_GAP_PX);
    const gridLeftPx = left + leftMargin;
    const gridTopPx = top + titleHeight + topMargin;
    bitmap.drawText(gridLeftPx, top + 2, panelTitle(map).replace('·', '-'), [17, 17, 17], { scale: 2 });
    for (let k = 0; k < T; k++) {
      const centre = Math.round(k * cell + (cell - glyphHeight) / 2);
      // keys: 3 px above the grid, upright or turned to read upwards; queries: right-aligned 3 px left of it
      if (keysUpright) {
        const across = Math.round(k * cell + (cell - textWidthPx(labels[k], labelScale)) / 2);
        bitmap.drawText(gridLeftPx + across, gridTopPx - 3 - glyphHeight, labels[k], TEXT_COLOR, { scale: labelScale });
      } else {
        bitmap.drawText(gridLeftPx + centre, gridTopPx - 3, labels[k], TEXT_COLOR, { scale: labelScale, vertical: true });
      }
      bitmap.drawText(gridLeftPx - 3 - textWidthPx(labels[k], labelScale), gridTopPx + centre, labels[k], TEXT_COLOR, { scale: labelScale });
    }
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < T; j++) bitmap.fillRect(gridLeftPx + j * cell, gridTopPx + i * cell, cell, cell, attentionColor(map.weights[i][j]));
    }
    bitmap.strokeRect(gridLeftPx, gridTopPx, T * cell, T * cell, FRAME_COLOR);
    panels.push({ layer: map.layer, head: map.head, gridLeftPx, gridTopPx });
  }
  return { png: bitmap.toPng(), widthPx, heightPx, cellSizePx: cell, panels };
}
