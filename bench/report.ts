/**
 * How benchmarks print. Every benchmark reports rows through one `BenchReport`: a table for
 * people (name, shape, time, value and unit, ratio to the baseline measured in the same run),
 * or with `--json` one JSON object per line for scripts:
 * `{"name":…, "value":…, "unit":…}` plus `ratio` and `baseline` for comparisons.
 */
export interface BenchRow {
  /** What was measured, e.g. `matmul reference` or `bpe encode qkv`. */
  name: string;
  /** Input size in words, e.g. `512x512x512`. */
  shape?: string;
  /** Median time of one run, in milliseconds. */
  timeMs?: number;
  value: number;
  /** Unit of value: `GFLOP/s`, `MB/s`, `tokens/s`, `ms`, `x`. */
  unit: string;
  /** value / baseline value, when this row compares with another measured in the same run. */
  ratio?: number;
  /** Name of the row this ratio is against. */
  baseline?: string;
}

export class BenchReport {
  private printedHeader = false;
  constructor(readonly json: boolean) {}

  row(row: BenchRow): void {
    if (this.json) {
      const out: Record<string, unknown> = { name: row.name, value: round(row.value), unit: row.unit };
      if (row.shape !== undefined) out.shape = row.shape;
      if (row.timeMs !== undefined) out.time_ms = round(row.timeMs);
      if (row.ratio !== undefined) out.ratio = round(row.ratio);
      if (row.baseline !== undefined) out.baseline = row.baseline;
      console.log(JSON.stringify(out));
      return;
    }
    if (!this.printedHeader) {
      console.log(`${pad('name', 36)} ${pad('shape', 18)} ${padLeft('time ms', 10)} ${padLeft('value', 12)} ${pad('unit', 9)} ratio`);
      this.printedHeader = true;
    }
    const ratio = row.ratio === undefined ? '' : `${row.ratio.toFixed(2)}x vs ${row.baseline}`;
    const time = row.timeMs === undefined ? '' : row.timeMs.toFixed(3);
    console.log(`${pad(row.name, 36)} ${pad(row.shape ?? '', 18)} ${padLeft(time, 10)} ${padLeft(formatValue(row.value), 12)} ${pad(row.unit, 9)} ${ratio}`);
  }

  /** A section heading (table mode only). */
  section(title: string): void {
    if (!this.json) console.log(`\n## ${title}`);
    this.printedHeader = false;
  }
}

/**
 * Median wall time of `fn` in milliseconds: warm-up runs first, then repeats until both
 * `minRuns` runs and `minTimeMs` of measuring have passed.
 */
export function timeMedianMs(fn: () => void, options: { warmup?: number; minRuns?: number; minTimeMs?: number } = {}): number {
  const warmup = options.warmup ?? 2;
  const minRuns = options.minRuns ?? 5;
  const minTimeMs = options.minTimeMs ?? 300;
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minRuns || performance.now() - start < minTimeMs) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
    if (times.length >= 1000) break;
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Async variant of `timeMedianMs`. */
export async function timeMedianMsAsync(fn: () => Promise<void>, options: { warmup?: number; minRuns?: number; minTimeMs?: number } = {}): Promise<number> {
  const warmup = options.warmup ?? 2;
  const minRuns = options.minRuns ?? 5;
  const minTimeMs = options.minTimeMs ?? 300;
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minRuns || performance.now() - start < minTimeMs) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
    if (times.length >= 1000) break;
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function round(value: number): number {
  return Number(value.toPrecision(6));
}
function formatValue(value: number): string {
  return Math.abs(value) >= 1000 ? value.toFixed(0) : value.toPrecision(4);
}
function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}
function padLeft(text: string, width: number): string {
  return text.length >= width ? text : ' '.repeat(width - text.length) + text;
}
