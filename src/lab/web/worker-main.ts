/**
 * The browser lab's compute worker (bundled by ./bundle.ts): it loads the wasm kernels from the
 * files served beside the page, starts their threads (nested Web Workers sharing the wasm
 * memory, where the page is cross-origin isolated), and runs the experiments the page asks for,
 * posting progress as they go. All compute happens here, none on the server and none on the
 * page's thread, so the page stays responsive.
 *
 * Messages (see ./protocol.ts): init → ready (kernel info, experiments); run → progress… →
 * result | error.
 */
import { getKernelInfo, setKernelBackend } from '../../kernels/index.ts';
import { provideKernelBytes, setDefaultThreadCount } from '../../kernels/wasm/platform-browser.ts';
import { startWasmWorkers, wasmWorkerChunks } from '../../kernels/wasm/runtime.ts';
import { resolveParams, type Experiment } from '../experiment.ts';
import { plotSvg } from '../plot-svg.ts';
import { EXPERIMENTS } from '../registry.ts';
import { provideBrownText } from './brown-text-browser.ts';
import { TERMINAL_ONLY, type ExperimentInfo, type FromWorker, type KernelStatus, type ToWorker } from './protocol.ts';
import { checkWasmThreads } from './thread-check.ts';
import { tinyGptExperiment } from './tiny-gpt.ts';

interface WorkerScope {
  postMessage(message: FromWorker): void;
  onmessage: ((event: { data: ToWorker }) => void) | null;
  crossOriginIsolated?: boolean;
}
const scope = globalThis as unknown as WorkerScope;

const experiments: Experiment[] = [tinyGptExperiment, ...EXPERIMENTS];
let brownText: Promise<void> | undefined;
let kernels: KernelStatus | undefined;

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function init(threads: number | undefined): Promise<void> {
  const [relaxed, simd] = await Promise.all([fetchBytes('kernels-relaxed.wasm'), fetchBytes('kernels-simd.wasm')]);
  provideKernelBytes({ relaxed, simd, source: 'kernels-simd.wasm' });
  if (threads !== undefined) setDefaultThreadCount(threads);
  setKernelBackend('wasm');
  const info = getKernelInfo(); // loads the kernels now; falls back to the reference with the reason
  // The pool's threads start asynchronously; wait for them without blocking this worker's loop.
  const threadsRunning = info.backend === 'wasm' ? await startWasmWorkers(20_000) : false;
  kernels = {
    backend: info.backend,
    simd: info.simd ?? null,
    threads: info.threads,
    threadsRunning,
    crossOriginIsolated: scope.crossOriginIsolated === true,
    fallbackReason: info.fallbackReason ?? null,
    workerChunks: wasmWorkerChunks(),
    threadCheck: info.backend === 'wasm' ? checkWasmThreads() : null,
  };
  const list: ExperimentInfo[] = experiments.map((experiment) => ({
    name: experiment.name,
    description: experiment.description,
    params: experiment.params.map((spec) => ({ ...spec })),
    terminalOnly: TERMINAL_ONLY.includes(experiment.name),
  }));
  scope.postMessage({ type: 'ready', kernels, experiments: list });
}

async function run(name: string, overrides: Record<string, string>, seed: number): Promise<void> {
  const experiment = experiments.find((candidate) => candidate.name === name);
  if (experiment === undefined) throw new Error(`no experiment '${name}'`);
  if (experiment !== tinyGptExperiment) {
    brownText ??= fetch('brown.txt').then(async (response) => provideBrownText(await response.text()));
    await brownText;
  }
  const params = resolveParams(experiment, { overrides });
  const started = performance.now();
  const chunksBefore = wasmWorkerChunks();
  const result = await experiment.run(params, {
    seed,
    onProgress: (done, total, fields) => scope.postMessage({ type: 'progress', done, total, fields: fields ?? {} }),
  });
  scope.postMessage({
    type: 'result',
    name,
    seconds: (performance.now() - started) / 1000,
    columns: result.columns,
    rows: result.rows,
    findings: result.findings,
    svg: plotSvg(result.plot),
    workerChunks: wasmWorkerChunks() - chunksBefore,
    kernels: kernels!,
  });
}

scope.onmessage = (event) => {
  const message = event.data;
  const job = message.type === 'init' ? init(message.threads) : run(message.name, message.params, message.seed);
  job.catch((error: unknown) => scope.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
};
