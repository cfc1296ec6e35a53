/**
 * Model-folder load time and peak memory (issue 10): a GPT-2 124M-shaped folder (n_layer 12,
 * n_embd 768, n_head 12, vocab 50257, n_positions 1024; GPT-2's own tokenizer) with random
 * weights is written to a temporary folder (never committed), then loaded with `loadCausalLM`
 * in fresh child processes, so each load starts from a cold heap and its peak RSS is its own.
 *
 * Each child reports the load's wall time, its RSS just before loading and its peak RSS
 * (VmHWM, which includes Node and tsx themselves); the rows give
 * medians over LOAD_RUNS children, the peak beside the file size, and the peak growth during
 * the load over the file size (the target: ≤ 1.5×).
 *
 * Both loaders, side by side in one run: memory-mapped (the default on the native backend: F32
 * tensors used in place on a copy-on-write mapping) and copying (`QKV_MMAP=0`: read into fresh
 * storage). Mapping moves the page faults into the first forward pass, so each child also times
 * its first decode token (a 1-token prompt through `modelStep`, KV cache on) and the peak RSS
 * after it; compare load + first token between the two.
 *
 * Alone: `node --import tsx bench/load.ts [--json]`, or `node --import tsx bench/run.ts --only load`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
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
  /** The first decode token after the load (where a mapped load pays its page faults). */
  firstTokenMs: number;
  /** Peak RSS once the first token is out. */
  maxRssAfterTokenBytes: number;
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
export function measureLoadInChild(dir: string, mmap = true): LoadMeasurement {
  const script = fileURLToPath(import.meta.url);
  const env = { ...process.env, QKV_MMAP: mmap ? '1' : '0' };
  const output = execFileSync(process.execPath, ['--import', 'tsx', script, '--child', dir], { encoding: 'utf8', maxBuffer: 1 << 20, env });
  return JSON.parse(output.trim().split('\n').pop()!) as LoadMeasurement;
}

async function childLoad(dir: string): Promise<void> {
  // Imported here, not at the top: the modules that import this file for writeGpt2Folder need no loader.
  const { loadCausalLM } = await import('../src/models/load.ts');
  const { modelStep } = await import('../src/generate/lm.ts');
  const rssBeforeBytes = process.memoryUsage().rss;
  const started = performance.now();
  const { model } = loadCausalLM(dir);
  const loadMs = performance.now() - started;
  const maxRssBytes = peakRssBytes();
  const parameters = (model as GPT).numParameters();
  const tokenStarted = performance.now();
  modelStep(model)([50256]);
  const firstTokenMs = performance.now() - tokenStarted;
  const maxRssAfterTokenBytes = peakRssBytes();
  console.log(JSON.stringify({ loadMs, firstTokenMs, maxRssAfterTokenBytes, rssBeforeBytes, maxRssBytes, parameters } satisfies LoadMeasurement));
}

export async function run(report: BenchReport): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-bench-load-'));
  try {
    const writeStarted = performance.now();
    writeGpt2Folder(dir);
    const fileBytes = statSync(join(dir, 'model.safetensors')).size;
    console.error(`bench load: wrote a GPT-2 124M folder (${(fileBytes / MIB).toFixed(0)} MiB of weights) in ${((performance.now() - writeStarted) / 1000).toFixed(1)} s`);
    // Interleaved, so a change in machine load hits both loaders alike.
    const mapped: LoadMeasurement[] = [];
    const copied: LoadMeasurement[] = [];
    for (let i = 0; i < LOAD_RUNS; i++) {
      mapped.push(measureLoadInChild(dir, true));
      copied.push(measureLoadInChild(dir, false));
    }
    const shape = `${(mapped[0].parameters / 1e6).toFixed(1)}M params`;
    for (const [label, runs, suffix] of [['mapped', mapped, ''], ['copying', copied, ' (copying, QKV_MMAP=0)']] as const) {
      const loadMs = median(runs.map((r) => r.loadMs));
      const tokenMs = median(runs.map((r) => r.firstTokenMs));
      console.error(`bench load (${label}): load ${runs.map((r) => r.loadMs.toFixed(0)).join(' ')} ms; first token ${runs.map((r) => r.firstTokenMs.toFixed(0)).join(' ')} ms; peak RSS at load ${runs.map((r) => (r.maxRssBytes / MIB).toFixed(0)).join(' ')} MiB, after the token ${runs.map((r) => (r.maxRssAfterTokenBytes / MIB).toFixed(0)).join(' ')} MiB`);
      report.row({ name: `load gpt2-124M folder${suffix}`, shape, timeMs: loadMs, value: loadMs / 1000, unit: 's' });
      report.row({ name: `load gpt2-124M first token after load${suffix}`, shape, timeMs: tokenMs, value: tokenMs / 1000, unit: 's' });
      report.row({ name: `load gpt2-124M load + first token${suffix}`, shape, value: median(runs.map((r) => (r.loadMs + r.firstTokenMs) / 1000)), unit: 's' });
      report.row({ name: `load gpt2-124M peak RSS${suffix}`, shape, value: median(runs.map((r) => r.maxRssBytes)) / MIB, unit: 'MiB' });
      report.row({ name: `load gpt2-124M peak RSS after first token${suffix}`, shape, value: median(runs.map((r) => r.maxRssAfterTokenBytes)) / MIB, unit: 'MiB' });
      const ratio = median(runs.map((r) => r.maxRssBytes - r.rssBeforeBytes)) / fileBytes;
      report.row({ name: `load gpt2-124M RSS growth / file${suffix}`, shape, value: ratio, unit: 'x', ratio, baseline: 'load gpt2-124M file size' });
    }
    report.row({ name: 'load gpt2-124M file size', shape, value: fileBytes / MIB, unit: 'MiB' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * This process's peak RSS: VmHWM from /proc (Linux), which starts afresh at exec. Not
 * `resourceUsage().maxRSS`: Linux carries ru_maxrss across fork + exec, so a child would report
 * the bench parent's peak (it holds the 124M model it wrote, ~490 MiB) instead of its own.
 */
function peakRssBytes(): number {
  try {
    const kib = /VmHWM:\s*(\d+)\s*kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kib !== undefined) return Number(kib) * 1024;
  } catch {
    // not Linux: fall through
  }
  return process.resourceUsage().maxRSS * 1024;
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
