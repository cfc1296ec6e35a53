/**
 * A small self-contained SVG plot writer (no dependency) for the lab: line plots (optionally
 * log-scaled axes) and grouped bar plots, with axes, ticks, a title and a legend.
 *
 * @example
 * const svg = plotSvg({ title: 'entropy', xLabel: 'd_k', yLabel: 'nats', kind: 'line', logX: true,
 *   series: [{ name: 'scaled', points: [[16, 2.1], [1024, 2.0]] }] });
 */
import { QkvValueError } from '../tensor/errors.ts';
import type { PlotSpec } from './experiment.ts';

const WIDTH = 640;
const HEIGHT = 400;
const MARGIN = { left: 70, right: 170, top: 40, bottom: 55 };
/** Colour-blind-friendly palette (Okabe–Ito). */
const COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000'];

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

interface Axis {
  toPixel(value: number): number;
  ticks: number[];
}

function niceTicks(low: number, high: number, count = 5): number[] {
  if (low === high) return [low];
  const rough = (high - low) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= rough) ?? rough;
  const ticks: number[] = [];
  for (let tick = Math.ceil(low / step) * step; tick <= high + step * 1e-9; tick += step) ticks.push(Number(tick.toPrecision(12)));
  return ticks;
}

function makeAxis(values: number[], log: boolean, pixelLow: number, pixelHigh: number, name: string, fromZero: boolean): Axis {
  if (log && values.some((value) => value <= 0)) throw new QkvValueError(`plotSvg: log ${name} axis needs positive values`);
  const transform = log ? Math.log10 : (value: number) => value;
  let low = Math.min(...values.map(transform));
  let high = Math.max(...values.map(transform));
  if (fromZero && !log) low = Math.min(low, 0);
  if (low === high) { low -= 0.5; high += 0.5; }
  // A little room so no point sits on the frame (bars keep their zero baseline).
  const pad = 0.05 * (high - low);
  if (!(fromZero && !log && low === 0)) low -= pad;
  high += pad;
  const ticks = log
    ? Array.from({ length: Math.floor(high) - Math.ceil(low) + 1 }, (_, i) => 10 ** (Math.ceil(low) + i))
    : niceTicks(low, high);
  if (log && ticks.length < 2) ticks.splice(0, ticks.length, 10 ** low, 10 ** high);
  return {
    toPixel: (value) => pixelLow + ((transform(value) - low) / (high - low)) * (pixelHigh - pixelLow),
    ticks,
  };
}

function tickLabel(value: number): string {
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude >= 1e5 || magnitude < 1e-3)) return value.toExponential(0);
  return Number(value.toPrecision(4)).toString();
}

/** The plot as a standalone SVG document. */
export function plotSvg(spec: PlotSpec): string {
  const points = spec.series.flatMap((series) => series.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (points.length === 0) throw new QkvValueError(`plotSvg '${spec.title}': no finite points to draw`);
  const plotLeft = MARGIN.left;
  const plotRight = WIDTH - MARGIN.right;
  const plotTop = MARGIN.top;
  const plotBottom = HEIGHT - MARGIN.bottom;
  const bar = spec.kind === 'bar';
  const xValues = bar ? [-0.5, Math.max(...points.map(([x]) => x)) + 0.5] : points.map(([x]) => x);
  const xAxis = makeAxis(xValues, !bar && spec.logX === true, plotLeft, plotRight, 'x', false);
  const yAxis = makeAxis(points.map(([, y]) => y), spec.logY === true, plotBottom, plotTop, 'y', bar);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`);
  parts.push(`<text x="${(plotLeft + plotRight) / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(spec.title)}</text>`);
  for (const tick of yAxis.ticks) {
    const y = yAxis.toPixel(tick).toFixed(1);
    parts.push(`<line x1="${plotLeft}" x2="${plotRight}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${plotLeft - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${tickLabel(tick)}</text>`);
  }
  const xTicks = bar ? (spec.categories ?? []).map((_, index) => index) : xAxis.ticks;
  xTicks.forEach((tick) => {
    const x = xAxis.toPixel(tick).toFixed(1);
    const label = bar ? spec.categories?.[tick] ?? String(tick) : tickLabel(tick);
    parts.push(`<text x="${x}" y="${plotBottom + 16}" text-anchor="middle">${escapeXml(label)}</text>`);
  });
  parts.push(`<rect x="${plotLeft}" y="${plotTop}" width="${plotRight - plotLeft}" height="${plotBottom - plotTop}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${(plotLeft + plotRight) / 2}" y="${HEIGHT - 14}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${(plotTop + plotBottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`);
  const groupWidth = bar ? (xAxis.toPixel(1) - xAxis.toPixel(0)) * 0.8 : 0;
  spec.series.forEach((series, index) => {
    const colour = COLOURS[index % COLOURS.length];
    const finite = series.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (bar) {
      const width = groupWidth / spec.series.length;
      const base = yAxis.toPixel(spec.logY ? Math.min(...points.map(([, y]) => y)) : 0);
      for (const [x, y] of finite) {
        const left = xAxis.toPixel(x) - groupWidth / 2 + index * width;
        const top = yAxis.toPixel(y);
        parts.push(`<rect class="bar" x="${left.toFixed(1)}" y="${Math.min(top, base).toFixed(1)}" width="${width.toFixed(1)}" height="${Math.abs(base - top).toFixed(1)}" fill="${colour}"/>`);
      }
    } else {
      const path = finite.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${xAxis.toPixel(x).toFixed(1)} ${yAxis.toPixel(y).toFixed(1)}`).join(' ');
      parts.push(`<path class="series" d="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`);
      if (finite.length <= 40) {
        for (const [x, y] of finite) parts.push(`<circle cx="${xAxis.toPixel(x).toFixed(1)}" cy="${yAxis.toPixel(y).toFixed(1)}" r="3" fill="${colour}"/>`);
      }
    }
    const legendY = plotTop + 10 + index * 18;
    parts.push(`<rect x="${plotRight + 12}" y="${legendY - 6}" width="12" height="12" fill="${colour}"/>`);
    parts.push(`<text x="${plotRight + 30}" y="${legendY}" dominant-baseline="middle">${escapeXml(series.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
