/**
 * The lab page's script (bundled by ./bundle.ts): the experiment picker and its parameter
 * fields, the run button, and the live plot. It only draws; the compute worker
 * (./worker-main.ts) does the work and posts progress, and every numeric progress field (the
 * tiny GPT's loss each step) is redrawn as a curve while the run goes on.
 */
import type { Series } from '../experiment.ts';
import { escapeXml, plotSvg } from '../plot-svg.ts';
import type { ExperimentInfo, FromWorker, KernelStatus, ToWorker } from './protocol.ts';

/** The few DOM members used here (lib.dom is not in our tsconfig). */
interface El {
  value: string;
  checked: boolean;
  disabled: boolean;
  textContent: string | null;
  innerHTML: string;
  dataset: Record<string, string>;
  addEventListener(type: string, listener: () => void): void;
}
interface PageGlobals {
  document: { getElementById(id: string): El | null; querySelectorAll(selector: string): ArrayLike<El> };
  Worker: new (url: string) => { postMessage(message: ToWorker): void; onmessage: ((event: { data: FromWorker }) => void) | null };
  crossOriginIsolated?: boolean;
  location: { search: string };
  qkvLab?: { status: string; kernels: KernelStatus | null; live: Record<string, Array<[number, number]>> };
}
const page = globalThis as unknown as PageGlobals;

function element(id: string): El {
  const found = page.document.getElementById(id);
  if (found === null) throw new Error(`lab page: no #${id}`);
  return found;
}

const picker = element('experiment');
const paramsBox = element('params');
const runButton = element('run');
const quick = element('quick');
const seedInput = element('seed');
const status = element('status');
const progress = element('progress');
const plot = element('plot');
const table = element('table');
const findings = element('findings');
const state: NonNullable<PageGlobals['qkvLab']> = { status: 'loading', kernels: null, live: {} };
page.qkvLab = state;

let experiments: ExperimentInfo[] = [];
let redrawPending = false;
const worker = new page.Worker('worker.js');

function selected(): ExperimentInfo {
  return experiments.find((experiment) => experiment.name === picker.value) ?? experiments[0];
}

/** One input per parameter (a text area for text), filled with the default or the quick value. */
function showParams(): void {
  const experiment = selected();
  paramsBox.innerHTML = experiment.params.map((spec) => {
    const value = escapeXml(String(quick.checked && spec.quick !== undefined ? spec.quick : spec.default));
    const input = spec.name === 'text'
      ? `<textarea id="param-${spec.name}" data-param="${spec.name}" rows="6">${value}</textarea>`
      : `<input id="param-${spec.name}" data-param="${spec.name}" value="${value}">`;
    return `<label title="${escapeXml(spec.description)}"><span>${escapeXml(spec.name)}</span>${input}<small>${escapeXml(spec.description)}</small></label>`;
  }).join('');
  runButton.disabled = experiment.terminalOnly;
  progress.textContent = experiment.terminalOnly ? `${experiment.name} needs the terminal: qkv lab ${experiment.name}` : experiment.description;
}

function describeKernels(kernels: KernelStatus): string {
  const where = kernels.backend === 'wasm' ? `wasm (${kernels.simd}) on ${kernels.threads} thread${kernels.threads === 1 ? '' : 's'}${kernels.threadsRunning ? '' : ', helpers not started'}` : `${kernels.backend} kernels (${kernels.fallbackReason})`;
  const check = kernels.threadCheck === null ? '' : ` · thread check: 256² matmul in ${kernels.threadCheck.milliseconds.toFixed(1)} ms, ${kernels.threadCheck.workerChunks} chunks on helper threads`;
  return `compute: ${where} · cross-origin isolated: ${kernels.crossOriginIsolated ? 'yes' : 'no'}${check}`;
}

function drawLive(): void {
  redrawPending = false;
  const series: Series[] = Object.entries(state.live).map(([name, points]) => ({ name, points }));
  if (series.every((line) => line.points.length < 2)) return;
  plot.innerHTML = plotSvg({ title: `${picker.value}: live`, xLabel: 'step', yLabel: 'value', kind: 'line', series });
}

function renderTable(columns: string[], rows: Array<Array<string | number>>): void {
  const cell = (value: string | number) => escapeXml(typeof value === 'number' ? (Number.isInteger(value) ? String(value) : value.toPrecision(4)) : value);
  table.innerHTML = `<thead><tr>${columns.map((c) => `<th>${escapeXml(c)}</th>`).join('')}</tr></thead>`
    + `<tbody>${rows.map((row) => `<tr>${row.map((value) => `<td>${cell(value)}</td>`).join('')}</tr>`).join('')}</tbody>`;
}

worker.onmessage = ({ data: message }) => {
  if (message.type === 'ready') {
    experiments = message.experiments;
    state.kernels = message.kernels;
    picker.innerHTML = experiments.map((e) => `<option value="${e.name}">${e.name}${e.terminalOnly ? ' (terminal only)' : ''}</option>`).join('');
    status.textContent = describeKernels(message.kernels);
    showParams();
    state.status = 'ready';
  } else if (message.type === 'progress') {
    const parts = [`${message.done} / ${message.total}`];
    for (const [name, value] of Object.entries(message.fields)) {
      parts.push(`${name} ${typeof value === 'number' ? value.toFixed(4) : value}`);
      if (typeof value === 'number') (state.live[name] ??= []).push([message.done, value]);
    }
    progress.textContent = parts.join(' · ');
    if (!redrawPending) {
      redrawPending = true;
      setTimeout(drawLive, 50);
    }
  } else if (message.type === 'result') {
    plot.innerHTML = message.svg;
    renderTable(message.columns, message.rows);
    findings.innerHTML = message.findings.map((finding) => `<li>${escapeXml(finding)}</li>`).join('');
    progress.textContent = `${message.name} finished in ${message.seconds.toFixed(1)} s; ${message.workerChunks} kernel chunks ran on helper threads`;
    status.textContent = describeKernels({ ...message.kernels, workerChunks: message.workerChunks });
    runButton.disabled = false;
    state.status = 'done';
  } else {
    progress.textContent = `error: ${message.message}`;
    runButton.disabled = false;
    state.status = 'error';
  }
};

picker.addEventListener('change', showParams);
quick.addEventListener('change', showParams);
runButton.addEventListener('click', () => {
  const params: Record<string, string> = {};
  for (const input of Array.from(page.document.querySelectorAll('[data-param]'))) params[input.dataset.param] = input.value;
  state.live = {};
  plot.innerHTML = '';
  table.innerHTML = '';
  findings.innerHTML = '';
  runButton.disabled = true;
  state.status = 'running';
  progress.textContent = 'starting…';
  worker.postMessage({ type: 'run', name: picker.value, params, seed: Number(seedInput.value) || 0 });
});

const threads = Number(new URLSearchParams(page.location.search).get('threads'));
worker.postMessage({ type: 'init', threads: Number.isInteger(threads) && threads > 0 ? threads : undefined });
