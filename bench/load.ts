/**
 * Model-folder load time and peak memory (issue 10): a GPT-2 124M-shaped folder (n_layer 12,
 * n_embd 768, n_head 12, vocab 50257, n_positions 1024; GPT-2's own tokenizer) with random
 * weights is written to a temporary folder (never committed), then loaded with `loadCausalLM`
 * in fresh child processes, so each load starts from a cold heap and its peak RSS is its own.
 *
 * Each child reports the load's wall time, its RSS just before loading and its peak RSS
 * (`process.resourceUsage().maxRSS`, which includes Node and tsx themselves); the rows give
 * medians over LOAD_RUNS children, the peak beside the file size, and the peak growth during
 * the load over the file size (the target: ≤ 1.5×).
 *
 * Alone: `node --import tsx bench/load.ts [--json]`, or `node --import tsx bench/run.ts --only load`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GPT, type GPTConfig } from '../src/models/gpt.ts';
import { saveGPT } from '../src/models/gpt-folder.ts';
import { Rng } from '../src/tensor/random.ts';
import { loadGpt2Tokenizer } from '../src/tokenizers/gpt2.ts';
import { BenchReport } from './report.ts';

/** GPT-2 small (124M parameters), as Hugging Face's `gpt2` config.json has it. */
export const GPT2_124M: Partial<GPTConfig> & { vocab_size: number } = { vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 };

const LOAD_RUNS = 3;
const MIB = 1024 * 1024;

/** What one child process measured. */
export interface LoadMeasurement {
  loadMs: number;
  rssBeforeBytes: number;
  maxRssBytes: number;
  parameters: number;
}

/** Writes a GPT-2 124M-shaped folder with random weights (seeded) and GPT-2's tokenizer; returns its path. */
export function writeGpt2Folder(dir: string): string {
  const model = new GPT(GPT2_124M, { rng: new Rng(1234) });
  saveGPT(dir, model, loadGpt2Tokenizer());
  return dir;
}

/** Loads `dir` in a fresh Node process and returns what it measured. */
export function measureLoadInChild(dir: string): LoadMeasurement {
  const script = fileURLToPath(import.meta.url);
  const output = execFileSync(process.execPath, ['--import', 'tsx', script, '--child', dir], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(output.trim().split('\n').pop()!) as LoadMeasurement;
}

async function childLoad(dir: string): Promise<void> {
  // Imported here, not at the top: the modules that import this file for writeGpt2Folder need no loader.
  const { loadCausalLM } = await import('../src/models/load.ts');
  const rssBeforeBytes = process.memoryUsage().rss;
  const started = performance.now();
  const { model } = loadCausalLM(dir);
  const loadMs = performance.now() - started;
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  const parameters = (model as GPT).numParameters();
  console.log(JSON.stringify({ loadMs, rssBeforeBytes, maxRssBytes, parameters } satisfies LoadMeasurement));
}

export async function run(report: BenchReport): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-bench-load-'));
  try {
    const writeStarted = performance.now();
    writeGpt2Folder(dir);
    const fileBytes = statSync(join(dir, 'model.safetensors')).size;
    console.error(`bench load: wrote a GPT-2 124M folder (${(fileBytes / MIB).toFixed(0)} MiB of weights) in ${((performance.now() - writeStarted) / 1000).toFixed(1)} s`);
    const runs = Array.from({ length: LOAD_RUNS }, () => measureLoadInChild(dir));
    const loadMs = median(runs.map((r) => r.loadMs));
    const peakBytes = median(runs.map((r) => r.maxRssBytes));
    const growthBytes = median(runs.map((r) => r.maxRssBytes - r.rssBeforeBytes));
    const shape = `${(runs[0].parameters / 1e6).toFixed(1)}M params`;
    console.error(`bench load: load times ${runs.map((r) => r.loadMs.toFixed(0)).join(' ')} ms; peak RSS ${runs.map((r) => (r.maxRssBytes / MIB).toFixed(0)).join(' ')} MiB`);
    report.row({ name: 'load gpt2-124M folder', shape, timeMs: loadMs, value: loadMs / 1000, unit: 's' });
    report.row({ name: 'load gpt2-124M peak RSS', shape, value: peakBytes / MIB, unit: 'MiB' });
    report.row({ name: 'load gpt2-124M file size', shape, value: fileBytes / MIB, unit: 'MiB' });
    const ratio = growthBytes / fileBytes;
    report.row({ name: 'load gpt2-124M RSS growth / file', shape, value: ratio, unit: 'x', ratio, baseline: 'load gpt2-124M file size' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const childIndex = process.argv.indexOf('--child');
  if (childIndex >= 0) await childLoad(process.argv[childIndex + 1]);
  else await run(new BenchReport(process.argv.includes('--json')));
}
