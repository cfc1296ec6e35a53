/**
 * qkv against PyTorch eager on the same machine, same models, same weights, same batches
 * (issue 10). PyTorch is a benchmark baseline, never a dependency: its side is
 * `bench/torch-baseline.py`, run when `python3 -c 'import torch'` works with the PYTHONPATH that
 * `../shared/tools/torch/setup.sh --env` prints (or the environment's own); otherwise its rows say
 * it is unavailable and only qkv's are measured.
 *
 * Rows (both sides on 2 threads: `QKV_THREADS=2`, `torch.set_num_threads(2)`), each side in a
 * fresh child process so its peak RSS is its own:
 * - bench GPT training tokens/s: 4 layers, n_embd 128, 4 heads, context 128, batch 16, AdamW
 *   (bench/gpt.ts's model and character-level brown.txt windows). Both start from qkv's initial
 *   weights; the parameter counts must be equal and the losses at init agree within 1e-3, or the
 *   bench throws.
 * - GPT-2 124M shape (bench/load.ts writes the folder, random weights): one training step of
 *   batch 4, context 256 (1 warm-up + 2 timed), and greedy decoding with the KV cache in fp32
 *   (prompt 4 tokens, 24 new); same checks, and the greedy ids must agree.
 * - loading that folder: qkv's `loadCausalLM` (bench/load.ts's children).
 *
 * Steps are few so the bench stays a few minutes; the machine load is printed beside the rows.
 * Alone: `node --import tsx bench/torch.ts [--json] [--rows gpt,124m-train,124m-decode,124m-load]`, or `node --import tsx bench/run.ts --only torch`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { saveSafetensors } from '../src/io/safetensors.ts';
import { loadSafetensorsInto } from '../src/io/safetensors-load.ts';
import { getKernelInfo } from '../src/kernels/index.ts';
import { modelStep } from '../src/generate/lm.ts';
import { GPT, type GPTConfig } from '../src/models/gpt.ts';
import { gptStateDictName } from '../src/models/gpt-folder.ts';
import { noInitWeights } from '../src/nn/init.ts';
import { AdamW, clipGradNorm } from '../src/optim/index.ts';
import { noGrad } from '../src/tensor/autograd.ts';
import { Rng } from '../src/tensor/random.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { trainCharTokenizer } from '../src/tokenizers/char.ts';
import { loadGpt2Tokenizer } from '../src/tokenizers/gpt2.ts';
import { TokenDataset } from '../src/train/data.ts';
import { TRAIN_DEFAULTS } from '../src/train/trainer.ts';
import { GPT2_124M, measureLoadInChild, writeGpt2Folder } from './load.ts';
import { BenchReport } from './report.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const CORPUS = join(HERE, '../data/brown.txt');
const TORCH_SETUP = join(HERE, '../../shared/tools/torch/setup.sh');
const THREADS = 2;
const MIB = 1024 * 1024;
/** Tokens decoded and discarded before the timed greedy loop, on both sides. */
const WARMUP_TOKENS = 4;

/** What both sides get: the JSON `bench/torch-baseline.py` documents. */
interface Spec {
  mode: 'train' | 'decode';
  threads: number;
  config: Pick<GPTConfig, 'vocab_size' | 'n_positions' | 'n_embd' | 'n_layer' | 'n_head' | 'layer_norm_epsilon'>;
  weights: string;
  batches?: Array<[number[][], number[][]]>;
  warmup?: number;
  optimizer?: { lr: number; betas: [number, number]; eps: number; weight_decay: number; grad_clip: number };
  prompt_ids?: number[];
  new_tokens?: number;
}

interface TrainResult {
  parameters: number;
  initial_loss: number;
  losses: number[];
  step_ms: number[];
  max_rss_bytes: number;
}
interface DecodeResult {
  ids: number[];
  /** Building the model and reading the weights (PyTorch side: meta device, then assign). */
  load_ms?: number;
  tokens_per_second: number;
  max_rss_bytes: number;
}

const OPTIMIZER = { lr: TRAIN_DEFAULTS.learningRate, betas: [TRAIN_DEFAULTS.beta1, TRAIN_DEFAULTS.beta2] as [number, number], eps: 1e-8, weight_decay: TRAIN_DEFAULTS.weightDecay, grad_clip: TRAIN_DEFAULTS.gradClip };

// ---- the qkv side (child processes) ---------------------------------------------------------

function qkvModel(spec: Spec): GPT {
  const model = noInitWeights(() => new GPT({ ...spec.config, embd_pdrop: 0, attn_pdrop: 0, resid_pdrop: 0 }));
  loadSafetensorsInto(spec.weights, new Map(Object.entries(model.stateDict())), { rename: gptStateDictName });
  return model;
}

const toTensor = (rows: number[][]): Tensor => Tensor.from(rows.flat(), [rows.length, rows[0].length]);

function qkvTrain(spec: Spec): TrainResult {
  const model = qkvModel(spec);
  const batches = spec.batches!.map(([ids, targets]) => ({ ids: toTensor(ids), targets: toTensor(targets) }));
  const initial_loss = noGrad(() => model.forward(batches[0].ids, { targets: batches[0].targets }).loss!.item());
  const params = model.parameters().filter((p) => p.requiresGrad);
  const { lr, betas, eps, weight_decay, grad_clip } = spec.optimizer!;
  const optimizer = new AdamW([{ params: params.filter((p) => p.ndim >= 2) }, { params: params.filter((p) => p.ndim < 2), weightDecay: 0 }], { lr, betas, eps, weightDecay: weight_decay });
  model.train();
  const losses: number[] = [];
  const step_ms: number[] = [];
  for (const [i, batch] of batches.entries()) {
    const started = performance.now();
    const loss = model.forward(batch.ids, { targets: batch.targets }).loss!;
    loss.backward({ releaseActivations: true }); // the step reads only the loss afterwards: activations go back to the pool
    clipGradNorm(params, grad_clip);
    optimizer.step();
    optimizer.zeroGrad();
    losses.push(loss.item());
    if (i >= spec.warmup!) step_ms.push(performance.now() - started);
  }
  return { parameters: model.numParameters(), initial_loss, losses, step_ms, max_rss_bytes: process.resourceUsage().maxRSS * 1024 };
}

/**
 * Decodes a few tokens and throws them away, as the Python side does, so that the timed loop
 * measures decoding rather than first-touch costs: the JIT compiling the step, and, on some
 * sandboxed hosts (gVisor), ~6 µs per 4 KiB page the first time user code touches memory the
 * kernel filled in `read()` — ~0.8 s for 500 MB of freshly loaded weights.
 */
function warmUpDecode(model: GPT, promptIds: readonly number[]): void {
  const step = modelStep(model, true);
  const ids = [...promptIds];
  for (let i = 0; i < WARMUP_TOKENS; i++) {
    const logits = step(ids);
    let best = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
    ids.push(best);
  }
}

/** Greedy with the KV cache, the loop of the Python side: argmax of the last logits, one token at a time. */
function qkvDecode(spec: Spec): DecodeResult {
  const model = qkvModel(spec);
  model.eval();
  warmUpDecode(model, spec.prompt_ids!);
  const step = modelStep(model, true);
  const ids = [...spec.prompt_ids!];
  const started = performance.now();
  for (let i = 0; i < spec.new_tokens!; i++) {
    const logits = step(ids);
    let best = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
    ids.push(best);
  }
  const seconds = (performance.now() - started) / 1000;
  return { ids: ids.slice(spec.prompt_ids!.length), tokens_per_second: spec.new_tokens! / seconds, max_rss_bytes: process.resourceUsage().maxRSS * 1024 };
}

// ---- running both sides --------------------------------------------------------------------

/** The environment under which `import torch` works, or why there is none. */
function findTorch(): { env: NodeJS.ProcessEnv } | { reason: string } {
  let env: NodeJS.ProcessEnv = { ...process.env };
  try {
    const line = execFileSync('bash', [TORCH_SETUP, '--env'], { encoding: 'utf8' }).trim();
    const match = /^export PYTHONPATH=(.*)$/m.exec(line);
    if (match) env = { ...env, PYTHONPATH: match[1] };
  } catch {
    // no setup script here: the environment's own python3 may still have torch
  }
  const probe = spawnSync('python3', ['-c', 'import torch'], { env, encoding: 'utf8' });
  if (probe.status === 0) return { env };
  return { reason: probe.error ? `python3 not found (${probe.error.message})` : `python3 -c 'import torch' failed: ${probe.stderr.trim().split('\n').pop()}` };
}

function runSide<T>(side: 'qkv' | 'torch', spec: Spec, dir: string, env: NodeJS.ProcessEnv): T {
  const specPath = join(dir, `spec-${spec.mode}.json`);
  writeFileSync(specPath, JSON.stringify(spec));
  const [command, args] = side === 'qkv'
    ? [process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', specPath]]
    : ['python3', [join(HERE, 'torch-baseline.py'), specPath]];
  const output = execFileSync(command, args, { env: { ...env, QKV_THREADS: String(THREADS) }, encoding: 'utf8', maxBuffer: 16 << 20 });
  return JSON.parse(output.trim().split('\n').pop()!) as T;
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');

type Batches = NonNullable<Spec['batches']>;

function sampleBatches(dataset: TokenDataset, count: number, B: number, T: number, seed: number): Batches {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => {
    const { ids, targets } = dataset.sampleBatch('train', B, T, rng);
    const rows = (t: Tensor): number[][] => Array.from({ length: B }, (_, b) => Array.from(t.contiguousData().subarray(b * T, (b + 1) * T)));
    return [rows(ids), rows(targets)];
  });
}

/** Trains on both sides, checks the comparison is honest, reports tokens/s, ratio and peak RSS. */
function compareTraining(report: BenchReport, label: string, spec: Spec, torch: { env: NodeJS.ProcessEnv } | { reason: string }, dir: string, tolerance: number): void {
  const [B, T] = [spec.batches![0][0].length, spec.batches![0][0][0].length];
  const shape = `B${B} T${T} V${spec.config.vocab_size}`;
  const tokensPerStep = B * T;
  console.error(`bench torch: ${label} training, load average ${load()}`);
  const qkv = runSide<TrainResult>('qkv', spec, dir, process.env);
  const qkvRate = tokensPerStep / (median(qkv.step_ms) / 1000);
  report.row({ name: `${label} train qkv ${THREADS}t`, shape, timeMs: median(qkv.step_ms), value: qkvRate, unit: 'tokens/s' });
  report.row({ name: `${label} train qkv peak RSS`, shape, value: qkv.max_rss_bytes / MIB, unit: 'MiB' });
  if ('reason' in torch) {
    report.row({ name: `${label} train torch: unavailable`, shape, value: 0, unit: '-' });
    return;
  }
  const pt = runSide<TrainResult>('torch', spec, dir, torch.env);
  if (pt.parameters !== qkv.parameters) throw new Error(`bench torch: ${label}: PyTorch has ${pt.parameters} parameters, qkv ${qkv.parameters}`);
  if (!(Math.abs(pt.initial_loss - qkv.initial_loss) < tolerance)) {
    throw new Error(`bench torch: ${label}: loss at init PyTorch ${pt.initial_loss}, qkv ${qkv.initial_loss} (tolerance ${tolerance})`);
  }
  console.error(`bench torch: ${label}: ${qkv.parameters} parameters each; loss at init qkv ${qkv.initial_loss.toFixed(5)}, torch ${pt.initial_loss.toFixed(5)}`);
  console.error(`bench torch: ${label}: losses qkv ${qkv.losses.map((l) => l.toFixed(3)).join(' ')} | torch ${pt.losses.map((l) => l.toFixed(3)).join(' ')}; load average ${load()}`);
  const ptRate = tokensPerStep / (median(pt.step_ms) / 1000);
  report.row({ name: `${label} train torch ${THREADS}t`, shape, timeMs: median(pt.step_ms), value: ptRate, unit: 'tokens/s' });
  report.row({ name: `${label} train torch peak RSS`, shape, value: pt.max_rss_bytes / MIB, unit: 'MiB' });
  report.row({ name: `${label} train qkv / torch`, shape, value: qkvRate / ptRate, unit: 'x', ratio: qkvRate / ptRate, baseline: `${label} train torch ${THREADS}t` });
}

/** The row groups, in order; `--rows gpt,124m-decode` (standalone) runs some of them. */
export const ROW_GROUPS = ['gpt', '124m-train', '124m-decode', '124m-load'] as const;
type RowGroup = (typeof ROW_GROUPS)[number];

export async function run(report: BenchReport, rows: readonly RowGroup[] = ROW_GROUPS): Promise<void> {
  const torch = findTorch();
  if ('reason' in torch) console.error(`bench torch: PyTorch unavailable: ${torch.reason}; run ../shared/tools/torch/setup.sh once`);
  if (getKernelInfo().threads !== THREADS) console.error(`bench torch: qkv children run with QKV_THREADS=${THREADS} (this process has ${getKernelInfo().threads})`);
  const dir = mkdtempSync(join(tmpdir(), 'qkv-bench-torch-'));
  try {
    // The bench GPT: bench/gpt.ts's model and data, from qkv's initial weights.
    const text = readFileSync(CORPUS, 'utf8');
    const chars = trainCharTokenizer(text);
    const small = { vocab_size: chars.vocabSize, n_layer: 4, n_embd: 128, n_head: 4, n_positions: 128, layer_norm_epsilon: 1e-5 };
    const smallWeights = join(dir, 'small.safetensors');
    saveSafetensors(smallWeights, new GPT(small, { rng: new Rng(1337) }).stateDict());
    const smallData = new TokenDataset(chars.encodeIds(text.slice(0, 1_000_000)), 0);
    const smallSpec: Spec = { mode: 'train', threads: THREADS, config: small, weights: smallWeights, batches: sampleBatches(smallData, 5, 16, 128, 1337), warmup: 1, optimizer: OPTIMIZER };
    if (rows.includes('gpt')) compareTraining(report, 'gpt', smallSpec, torch, dir, 1e-3);

    // GPT-2 124M: the folder bench/load.ts writes, trained one step, decoded greedily, loaded.
    if (!rows.some((group) => group.startsWith('124m'))) return;
    const folder = join(dir, 'gpt2-124m');
    writeGpt2Folder(folder);
    const weights = join(folder, 'model.safetensors');
    const gpt2 = loadGpt2Tokenizer();
    const config = { vocab_size: GPT2_124M.vocab_size, n_positions: GPT2_124M.n_positions!, n_embd: GPT2_124M.n_embd!, n_layer: GPT2_124M.n_layer!, n_head: GPT2_124M.n_head!, layer_norm_epsilon: 1e-5 };
    const bigData = new TokenDataset(gpt2.encodeIds(text.slice(0, 100_000)), 0);
    const bigSpec: Spec = { mode: 'train', threads: THREADS, config, weights, batches: sampleBatches(bigData, 3, 4, 256, 7), warmup: 1, optimizer: OPTIMIZER };
    if (rows.includes('124m-train')) compareTraining(report, '124M', bigSpec, torch, dir, 2e-3);
    if (rows.includes('124m-decode')) compare124MDecoding(report, config, weights, gpt2.encodeIds('The jury said'), torch, dir);
    if (rows.includes('124m-load')) {
      const loads = [measureLoadInChild(folder), measureLoadInChild(folder), measureLoadInChild(folder)];
      report.row({ name: '124M folder load qkv', shape: 'loadCausalLM', timeMs: median(loads.map((l) => l.loadMs)), value: median(loads.map((l) => l.loadMs)) / 1000, unit: 's' });
      report.row({ name: '124M folder load qkv peak RSS', shape: 'loadCausalLM', value: median(loads.map((l) => l.maxRssBytes)) / MIB, unit: 'MiB' });
    }
    console.error(`bench torch: done, load average ${load()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Greedy decoding with the KV cache on both sides from the same weights: the ids must agree. */
function compare124MDecoding(report: BenchReport, config: Spec['config'], weights: string, promptIds: number[], torch: { env: NodeJS.ProcessEnv } | { reason: string }, dir: string): void {
  const decodeSpec: Spec = { mode: 'decode', threads: THREADS, config, weights, prompt_ids: promptIds, new_tokens: 24 };
  const shape = `${decodeSpec.new_tokens} new, greedy`;
  console.error(`bench torch: 124M decoding, load average ${load()}`);
  const qkv = runSide<DecodeResult>('qkv', decodeSpec, dir, process.env);
  report.row({ name: `124M decode qkv kv-cache ${THREADS}t`, shape, timeMs: 1000 / qkv.tokens_per_second, value: qkv.tokens_per_second, unit: 'tokens/s' });
  report.row({ name: '124M decode qkv peak RSS', shape, value: qkv.max_rss_bytes / MIB, unit: 'MiB' });
  if ('reason' in torch) report.row({ name: '124M decode torch: unavailable', shape, value: 0, unit: '-' });
  else {
    const pt = runSide<DecodeResult>('torch', decodeSpec, dir, torch.env);
    if (pt.ids.join(',') !== qkv.ids.join(',')) console.error(`bench torch: warning: greedy ids differ: qkv ${qkv.ids.join(',')} | torch ${pt.ids.join(',')}`);
    else console.error(`bench torch: 124M greedy ids agree (${qkv.ids.length} tokens)`);
    report.row({ name: `124M decode torch kv-cache ${THREADS}t`, shape, timeMs: 1000 / pt.tokens_per_second, value: pt.tokens_per_second, unit: 'tokens/s' });
    report.row({ name: '124M decode torch peak RSS', shape, value: pt.max_rss_bytes / MIB, unit: 'MiB' });
    report.row({ name: '124M weights load torch (meta+assign)', shape: 'model.safetensors', timeMs: pt.load_ms, value: pt.load_ms! / 1000, unit: 's' });
    const ratio = qkv.tokens_per_second / pt.tokens_per_second;
    report.row({ name: '124M decode qkv / torch', shape, value: ratio, unit: 'x', ratio, baseline: `124M decode torch kv-cache ${THREADS}t` });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const childIndex = process.argv.indexOf('--child');
  if (childIndex >= 0) {
    const spec = JSON.parse(readFileSync(process.argv[childIndex + 1], 'utf8')) as Spec;
    console.log(JSON.stringify(spec.mode === 'train' ? qkvTrain(spec) : qkvDecode(spec)));
  } else {
    const rowsIndex = process.argv.indexOf('--rows');
    const rows = rowsIndex >= 0 ? (process.argv[rowsIndex + 1].split(',') as RowGroup[]) : ROW_GROUPS;
    await run(new BenchReport(process.argv.includes('--json')), rows);
  }
}
