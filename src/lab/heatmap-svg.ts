/**
 * Attention heatmaps as SVG: one panel per (layer, head), laid out as a grid (a row per layer, a
 * column per head), keys along the top, queries down the left, a cell per weight coloured by
 * the shared scale of `attention-maps.ts`, and the scale itself drawn at the top. Each cell has
 * a `<title>` (the tooltip a browser shows on hover) with both tokens and the weight.
 *
 * The file stands alone: no fonts, images, scripts or styles from elsewhere.
 *
 * @example
 *   writeFileAtomic('attention.svg', renderAttentionSvg(collectAttentionMaps(model, tokenizer, text)));
 */
import { QkvValueError } from '../tensor/errors.ts';
import { ATTENTION_COLOR_STOPS, attentionColorHex, checkDrawable, formatWeight, visibleText, type AttentionMap, type AttentionMaps } from './attention-maps.ts';

export interface SvgOptions {
  /** Side of one cell in px; default chosen from T so a panel is about 300 px wide (6 to 24). */
  cellSizePx?: number;
  /** Heading at the top; default `Attention: "<text>"`. */
  title?: string;
}

const FONT_FAMILY = 'ui-monospace, Menlo, Consolas, monospace';
/** Monospace glyphs are about 0.6 em wide; used to reserve room for labels without measuring. */
const GLYPH_WIDTH_EM = 0.6;
const PANEL_GAP_PX = 16;
const PANEL_TITLE_PX = 18;
const HEADER_PX = 64;
const MAX_LABEL_CHARS = 12;
/** Above this many tokens, cells carry no `<title>` tooltip: it would triple the file's size. */
const MAX_TOOLTIP_TOKENS = 64;

/** Escapes text for XML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[ch]!);
}

/** A label shortened to what fits the margin (`…` marks the cut). */
function shortLabel(label: string): string {
  const chars = [...label];
  return chars.length <= MAX_LABEL_CHARS ? label : `${chars.slice(0, MAX_LABEL_CHARS - 1).join('')}…`;
}

/** Where everything in one panel goes; the same for every panel of a page. */
export interface PanelGeometry {
  cellSizePx: number;
  fontSizePx: number;
  /** Room left of the grid (query labels). */
  labelMarginPx: number;
  /** Key labels stand upright when every label fits its column (single characters), else they are turned. */
  keyLabelsUpright: boolean;
  widthPx: number;
  heightPx: number;
  /** Top-left corner of cell (0, 0) inside the panel. */
  gridLeftPx: number;
  gridTopPx: number;
}

export function panelGeometry(maps: AttentionMaps, options: SvgOptions = {}): PanelGeometry {
  const T = maps.labels.length;
  const cellSizePx = options.cellSizePx ?? Math.min(24, Math.max(6, Math.round(300 / T)));
  const fontSizePx = Math.max(5, Math.min(12, cellSizePx - 2));
  const longest = Math.max(1, ...maps.labels.map((label) => [...shortLabel(label)].length));
  const labelMarginPx = Math.ceil(longest * fontSizePx * GLYPH_WIDTH_EM) + 6;
  const keyLabelsUpright = longest * fontSizePx * GLYPH_WIDTH_EM <= cellSizePx;
  const gridLeftPx = labelMarginPx;
  const gridTopPx = PANEL_TITLE_PX + (keyLabelsUpright ? fontSizePx + 6 : labelMarginPx);
  return { cellSizePx, fontSizePx, labelMarginPx, keyLabelsUpright, widthPx: gridLeftPx + T * cellSizePx + 2, heightPx: gridTopPx + T * cellSizePx + 2, gridLeftPx, gridTopPx };
}

export function panelTitle(map: AttentionMap): string {
  return `layer ${map.layer} · head ${map.head}`;
}

/**
 * One head as a standalone `<svg>` element (class `panel`, with `data-layer` and `data-head`);
 * `x`/`y` place it inside a parent SVG. Cell (i, j) is a `rect` with `data-i`/`data-j`.
 */
export function attentionPanelSvg(maps: AttentionMaps, map: AttentionMap, geometry: PanelGeometry, position: { x?: number; y?: number } = {}): string {
  const { cellSizePx: cell, fontSizePx, gridLeftPx: left, gridTopPx: top, widthPx, heightPx } = geometry;
  const T = maps.labels.length;
  const labels = maps.labels.map((label) => escapeXml(shortLabel(label)));
  const fullLabels = maps.labels.map(escapeXml);
  const place = position.x === undefined ? '' : ` x="${position.x}" y="${position.y ?? 0}"`;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="panel" data-layer="${map.layer}" data-head="${map.head}"${place} width="${widthPx}" height="${heightPx}" viewBox="0 0 ${widthPx} ${heightPx}" font-family="${FONT_FAMILY}">`,
    `<text class="panel-title" x="${left}" y="13" font-size="12" font-weight="bold" fill="#222">${escapeXml(panelTitle(map))}</text>`,
  ];
  // keys along the top (upright, or turned to read upwards); queries down the left, right-aligned
  parts.push(`<g font-size="${fontSizePx}" fill="#333">`);
  for (let j = 0; j < T; j++) {
    const x = left + j * cell + cell / 2;
    parts.push(
      geometry.keyLabelsUpright
        ? `<text class="key-label" x="${x}" y="${top - 4}" text-anchor="middle">${labels[j]}</text>`
        : `<text class="key-label" transform="translate(${x} ${top - 3}) rotate(-90)" dominant-baseline="middle">${labels[j]}</text>`,
    );
  }
  for (let i = 0; i < T; i++) {
    const y = top + i * cell + cell / 2;
    parts.push(`<text class="query-label" x="${left - 3}" y="${y}" text-anchor="end" dominant-baseline="middle">${labels[i]}</text>`);
  }
  parts.push('</g>', `<g class="cells" shape-rendering="crispEdges">`);
  const tooltips = T <= MAX_TOOLTIP_TOKENS;
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < T; j++) {
      const weight = map.weights[i][j];
      const rect = `<rect data-i="${i}" data-j="${j}" x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${attentionColorHex(weight)}"`;
      parts.push(tooltips ? `${rect}><title>query ${i} ${fullLabels[i]} → key ${j} ${fullLabels[j]}: ${formatWeight(weight)}</title></rect>` : `${rect}/>`);
    }
  }
  parts.push('</g>');
  parts.push(`<rect x="${left - 0.5}" y="${top - 0.5}" width="${T * cell + 1}" height="${T * cell + 1}" fill="none" stroke="#888" stroke-width="1"/>`);
  parts.push('</svg>');
  return parts.join('\n');
}

/** The colour scale as an SVG group: a gradient bar from 0 to 1 with ticks. */
function colorScaleSvg(x: number, y: number, widthPx: number): string {
  const stops = ATTENTION_COLOR_STOPS.map((stop) => `<stop offset="${stop.weight}" stop-color="${attentionColorHex(stop.weight)}"/>`).join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((w) => `<text x="${x + w * widthPx}" y="${y + 26}" text-anchor="middle" font-size="10" fill="#333">${w}</text>`)
    .join('');
  return (
    `<g class="color-scale"><defs><linearGradient id="qkv-attention-scale" x1="0" x2="1" y1="0" y2="0">${stops}</linearGradient></defs>` +
    `<rect x="${x}" y="${y}" width="${widthPx}" height="12" fill="url(#qkv-attention-scale)" stroke="#888" stroke-width="0.5"/>${ticks}` +
    `<text x="${x + widthPx + 8}" y="${y + 10}" font-size="10" fill="#333">attention weight (row i: query, column j: key; rows sum to 1)</text></g>`
  );
}

/** The default heading: the text, shortened. */
export function defaultTitle(maps: AttentionMaps): string {
  const text = [...maps.text].length > 80 ? `${[...maps.text].slice(0, 79).join('')}…` : maps.text;
  // spaces stay spaces here; newlines and other control characters are made visible
  return `Attention: "${text.replace(/[\u0000-\u001f\u007f-\u009f]/g, visibleText)}"`;
}

/** All panels of `maps` in one SVG document: a row per layer, a column per head. */
export function renderAttentionSvg(maps: AttentionMaps, options: SvgOptions = {}): string {
  checkDrawable(maps, 'renderAttentionSvg');
  const geometry = panelGeometry(maps, options);
  const layers = [...new Set(maps.maps.map((map) => map.layer))];
  const heads = [...new Set(maps.maps.map((map) => map.head))];
  const widthPx = Math.max(560, PANEL_GAP_PX + heads.length * (geometry.widthPx + PANEL_GAP_PX));
  const heightPx = HEADER_PX + layers.length * (geometry.heightPx + PANEL_GAP_PX);
  const parts = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${widthPx}" height="${heightPx}" viewBox="0 0 ${widthPx} ${heightPx}" font-family="${FONT_FAMILY}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${PANEL_GAP_PX}" y="22" font-size="14" font-weight="bold" fill="#111">${escapeXml(options.title ?? defaultTitle(maps))}</text>`,
    colorScaleSvg(PANEL_GAP_PX, 34, 200),
  ];
  for (const map of maps.maps) {
    const x = PANEL_GAP_PX + heads.indexOf(map.head) * (geometry.widthPx + PANEL_GAP_PX);
    const y = HEADER_PX + layers.indexOf(map.layer) * (geometry.heightPx + PANEL_GAP_PX);
    parts.push(attentionPanelSvg(maps, map, geometry, { x, y }));
  }
  parts.push('</svg>', '');
  return parts.join('\n');
}

/** One panel of a rectangular weight grid: `weights[i][j]` for row i, column j, in [0, 1]. */
export interface WeightGridPanel {
  title: string;
  weights: number[][];
}

export interface WeightGrid {
  title: string;
  rowLabels: string[];
  columnLabels: string[];
  panels: WeightGridPanel[];
  /** Under the colour scale: what a row and a column are. */
  caption: string;
}

/**
 * Panels of rectangular weights side by side (one row of panels), in the colour scale of the
 * attention maps: for attention that is not a T × T self-attention (a query over slots, say).
 * Each cell has a `<title>` tooltip with its row, column and weight.
 */
export function renderWeightGridSvg(grid: WeightGrid, cellSizePx = 22): string {
  const rows = grid.rowLabels.length;
  const columns = grid.columnLabels.length;
  for (const panel of grid.panels) {
    if (panel.weights.length !== rows || panel.weights.some((row) => row.length !== columns)) {
      throw new QkvValueError(`renderWeightGridSvg: panel "${panel.title}" must be ${rows} × ${columns} (row × column labels)`);
    }
  }
  const fontSizePx = 11;
  const left = Math.ceil(Math.max(1, ...grid.rowLabels.map((l) => [...l].length)) * fontSizePx * GLYPH_WIDTH_EM) + 8;
  const top = Math.ceil(Math.max(1, ...grid.columnLabels.map((l) => [...l].length)) * fontSizePx * GLYPH_WIDTH_EM) + PANEL_TITLE_PX + 8;
  const panelWidth = left + columns * cellSizePx + PANEL_GAP_PX;
  const panelHeight = top + rows * cellSizePx + 2;
  const widthPx = Math.max(560, PANEL_GAP_PX + grid.panels.length * panelWidth);
  const heightPx = HEADER_PX + panelHeight + PANEL_GAP_PX;
  const parts = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${widthPx}" height="${heightPx}" viewBox="0 0 ${widthPx} ${heightPx}" font-family="${FONT_FAMILY}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${PANEL_GAP_PX}" y="22" font-size="14" font-weight="bold" fill="#111">${escapeXml(grid.title)}</text>`,
    colorScaleSvg(PANEL_GAP_PX, 34, 200).replace('attention weight (row i: query, column j: key; rows sum to 1)', escapeXml(grid.caption)),
  ];
  grid.panels.forEach((panel, p) => {
    const x0 = PANEL_GAP_PX + p * panelWidth;
    const y0 = HEADER_PX;
    parts.push(`<g class="panel" data-panel="${p}">`, `<text class="panel-title" x="${x0 + left}" y="${y0 + 13}" font-size="12" font-weight="bold" fill="#222">${escapeXml(panel.title)}</text>`);
    parts.push(`<g font-size="${fontSizePx}" fill="#333">`);
    grid.columnLabels.forEach((label, j) => {
      parts.push(`<text class="key-label" transform="translate(${x0 + left + j * cellSizePx + cellSizePx / 2} ${y0 + top - 3}) rotate(-90)" dominant-baseline="middle">${escapeXml(label)}</text>`);
    });
    grid.rowLabels.forEach((label, i) => {
      parts.push(`<text class="query-label" x="${x0 + left - 3}" y="${y0 + top + i * cellSizePx + cellSizePx / 2}" text-anchor="end" dominant-baseline="middle">${escapeXml(label)}</text>`);
    });
    parts.push('</g>', `<g class="cells" shape-rendering="crispEdges">`);
    panel.weights.forEach((row, i) => row.forEach((weight, j) => {
      parts.push(`<rect data-i="${i}" data-j="${j}" x="${x0 + left + j * cellSizePx}" y="${y0 + top + i * cellSizePx}" width="${cellSizePx}" height="${cellSizePx}" fill="${attentionColorHex(weight)}"><title>${escapeXml(`${panel.title}: ${grid.rowLabels[i]} → ${grid.columnLabels[j]}: ${formatWeight(weight)}`)}</title></rect>`);
    }));
    parts.push('</g>', `<rect x="${x0 + left - 0.5}" y="${y0 + top - 0.5}" width="${columns * cellSizePx + 1}" height="${rows * cellSizePx + 1}" fill="none" stroke="#888" stroke-width="1"/>`, '</g>');
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}
