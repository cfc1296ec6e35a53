/**
 * Memory of a quantised decode, the packed token table against the float one (issue 16): a child
 * process per run loads the same Q8_0 GGUF of the GPT-2 124M shape with
 * `loadGgufModel(path, { embedding })` ('packed': lookup on the tied head's blocks, no float
 * (V, C) table; 'float': the table dequantised beside them, as before), decodes DECODE_TOKENS
 * greedily with the KV cache, and reports its resident set after a full GC (VmRSS: what the
 * decoding process holds) and its peak (VmHWM, which also counts the float model the GPT
 * constructor builds before the packed layers replace it), and tokens/s. The variants'
 * children alternate (packed, float, packed, …) so load drifts hit both; medians.
 *
 * `npx tsx bench/compress-rss.ts FILE.gguf` prints the rows; bench/compress.ts calls `rssRows`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { modelStep } from '../src/generate/lm.ts';
import { loadGgufModel } from '../src/io/gguf-model.ts';
import type { BenchReport } from './report.ts';

const DECODE_TOKENS = 16;
const RUNS_PER_VARIANT = 2;
const PROMPT_IDS = [464, 25079, 531, 326, 262, 1748]; // "The jury said that the city" in GPT-2 ids
const VARIANTS = ['packed', 'float'] as const;
type Variant = (typeof VARIANTS)[number];

interface ChildResult {
  rssMiB: number;
  peakMiB: number;
  tokensPerSecond: number;
}

function statusMiB(field: 'VmRSS' | 'VmHWM'): number {
  const kib = new RegExp(`${field}:\\s*(\\d+)\\s*kB`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return kib === undefined ? Number.NaN : Number(kib) / 1024;
}

function child(path: string, embedding: Variant): ChildResult {
  const model = loadGgufModel(path, { embedding }).model.eval();
  const step = modelStep(model, true);
  const ids = [...PROMPT_IDS];
  const argmax = (v: Float32Array): number => v.reduce((best, x, i) => (x > v[best] ? i : best), 0);
  ids.push(argmax(step(ids))); // the prompt, not timed
  const started = performance.now();
  for (let i = 1; i < DECODE_TOKENS; i++) ids.push(argmax(step(ids)));
  const tokensPerSecond = ((DECODE_TOKENS - 1) / (performance.now() - started)) * 1000;
  (globalThis as { gc?: () => void }).gc?.();
  const rssMiB = statusMiB('VmRSS');
  if (model.vocabSize === 0) console.log(''); // keeps the model alive up to the measurement
  return { rssMiB, peakMiB: statusMiB('VmHWM'), tokensPerSecond };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Runs the children on `path` (a Q8_0 GGUF) and reports packed vs float rows. */
export function rssRows(report: BenchReport, path: string, shape: string): void {
  const script = fileURLToPath(import.meta.url);
  const results: Record<Variant, ChildResult[]> = { packed: [], float: [] };
  for (let r = 0; r < RUNS_PER_VARIANT; r++) {
    for (const variant of VARIANTS) {
      const output = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, '--child', path, variant], { encoding: 'utf8', maxBuffer: 1 << 20 });
      results[variant].push(JSON.parse(output.trim().split('\n').pop()!) as ChildResult);
    }
  }
  const rows = Object.fromEntries(VARIANTS.map((v) => [v, {
    rss: median(results[v].map((x) => x.rssMiB)),
    peak: median(results[v].map((x) => x.peakMiB)),
    rate: median(results[v].map((x) => x.tokensPerSecond)),
  }])) as Record<Variant, { rss: number; peak: number; rate: number }>;
  const name = (v: Variant) => (v === 'packed' ? 'packed embedding' : 'float embedding');
  for (const v of VARIANTS) {
    const vs = v === 'packed' ? { baseline: 'float embedding' } : null;
    report.row({ name: `gpt2-124M q8_0 ${name(v)} RSS after decode`, shape, value: rows[v].rss, unit: 'MiB', ...(vs && { ratio: rows[v].rss / rows.float.rss, ...vs }) });
    report.row({ name: `gpt2-124M q8_0 ${name(v)} peak RSS`, shape, value: rows[v].peak, unit: 'MiB', ...(vs && { ratio: rows[v].peak / rows.float.peak, ...vs }) });
    report.row({ name: `gpt2-124M q8_0 ${name(v)} decode`, shape, value: rows[v].rate, unit: 'tokens/s', ...(vs && { ratio: rows[v].rate / rows.float.rate, ...vs }) });
  }
}

const args = process.argv.slice(2);
if (args[0] === '--child') {
  console.log(JSON.stringify(child(args[1], args[2] as Variant)));
} else if (import.meta.url === `file://${process.argv[1]}` && args[0] !== undefined) {
  const { BenchReport } = await import('./report.ts');
  rssRows(new BenchReport(false), args[0], 'L12 C768 V50257');
}
