/**
 * A GPT with an adaptive softmax head (`output: 'adaptive'`) outside training: the formats that
 * only know the tied full-softmax head (ONNX, GGUF) refuse it by name, before writing anything;
 * quantisation and pruning act on the head's Linears too and keep it through their folders.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { dequantizeMatrix } from '../../src/compress/formats.ts';
import { magnitudePrune, measuredSparsity } from '../../src/compress/prune-magnitude.ts';
import { pruneHeads } from '../../src/compress/prune-heads.ts';
import { loadPrunedGPT, savePrunedGPT } from '../../src/compress/pruned-folder.ts';
import { QuantizedLinear } from '../../src/compress/quantized-linear.ts';
import { loadQuantizedCausalLM, quantizedLayers, quantizeModel, saveQuantizedCausalLM } from '../../src/compress/quantize-model.ts';
import { exportGguf } from '../../src/io/gguf-model.ts';
import { exportOnnxModel } from '../../src/io/onnx-decoder.ts';
import { exportOnnxFolder } from '../../src/io/onnx-folder.ts';
import { AdaptiveHeadUnsupportedError } from '../../src/models/gpt-adaptive.ts';
import { GPT, type GPTConfig } from '../../src/models/gpt.ts';
import { loadGPT, saveGPT } from '../../src/models/gpt-folder.ts';
import { getKernelInfo, setKernelBackend, type KernelBackendName } from '../../src/kernels/index.ts';
import { Linear } from '../../src/nn/linear.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { charTokenizerFromAlphabet } from '../../src/tokenizers/char.ts';

const tokenizer = charTokenizerFromAlphabet('abcdefghijklmnopqrstuvwxyz .,;:!?ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.split(''), { specialTokens: ['<|endoftext|>'] });
const V = tokenizer.vocabSize;
/** n_embd 64 so the head (64 → 20 + 2) and the first tail projections (64 → 16) are whole Q8_0 blocks. */
const CONFIG: Partial<GPTConfig> & Pick<GPTConfig, 'vocab_size'> = { vocab_size: V, n_layer: 1, n_embd: 64, n_head: 2, n_positions: 16, output: 'adaptive', adaptive_cutoffs: [20, 40], adaptive_div_value: 4 };

const adaptive = (seed = 1): GPT => new GPT(CONFIG, { rng: new Rng(seed) });
const ids = (): Tensor => Tensor.from(Array.from({ length: 2 * 6 }, (_, i) => (i * 7 + 3) % V), [2, 6]);
/** Every position's log-probs (2, 6, V) as one flat array. */
const logProbs = (model: GPT): Float32Array => noGrad(() => Float32Array.from(model.forward(ids()).logits.contiguousData()));

function maxAbsDifference(a: Float32Array, b: Float32Array): { value: number; at: number } {
  assert.equal(a.length, b.length);
  let value = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > value) [value, at] = [Math.abs(a[i] - b[i]), i];
  return { value, at };
}

function assertRowsSumToOne(values: Float32Array, what: string): void {
  for (let row = 0; row < values.length / V; row++) {
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(values[row * V + v]);
    assert.ok(Math.abs(sum - 1) < 1e-4, `${what}: row ${row}'s probabilities sum to ${sum}`);
  }
}

function withKernelBackend<T>(name: KernelBackendName, run: () => T): T {
  const before = getKernelInfo().backend;
  setKernelBackend(name);
  try {
    return run();
  } finally {
    setKernelBackend(before);
  }
}

function withDir(run: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-adaptive-interop-'));
  try {
    run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const namesTheHead = (consumer: string) => (error: unknown): boolean => {
  assert.ok(error instanceof AdaptiveHeadUnsupportedError, `expected AdaptiveHeadUnsupportedError, got ${String(error)}`);
  assert.ok(error instanceof QkvValueError);
  assert.equal(error.consumer, consumer);
  assert.match(error.message, /adaptive softmax output layer/);
  assert.match(error.message, /adaptive_head/);
  assert.match(error.message, /cutoffs \[20, 40\]/);
  return true;
};

test('exportGguf refuses an adaptive-head GPT by name and writes no file; the same GPT with the full head exports', () => {
  withDir((dir) => {
    const path = join(dir, 'model.gguf');
    assert.throws(() => exportGguf(path, adaptive(), tokenizer), namesTheHead('exportGguf'));
    assert.equal(existsSync(path), false);
    const { output: _o, adaptive_cutoffs: _c, adaptive_div_value: _d, ...full } = CONFIG;
    assert.ok(exportGguf(path, new GPT(full, { rng: new Rng(1) }), tokenizer) > 0); // the guard is on the head, not on GPT
  });
});

test('ONNX export refuses an adaptive-head GPT by name, before quantising it in place or writing a file', () => {
  assert.throws(() => exportOnnxModel(adaptive()), namesTheHead('exportOnnx'));
  for (const quant of [undefined, 'q8'] as const) {
    withDir((dir) => {
      const model = adaptive();
      assert.throws(() => exportOnnxFolder(dir, model, tokenizer, quant === undefined ? {} : { quant }), namesTheHead('exportOnnxFolder'));
      assert.deepEqual(readdirSync(dir), [], `quant ${quant}: nothing written`);
      assert.ok(model.adaptive_head!.head instanceof Linear, `quant ${quant}: the model was not quantised in place`);
    });
  }
});

test('quantizeModel on an adaptive GPT: the head\'s Linears are quantised, outputs match the dequantised float model, and the folder round-trips', () => {
  const model = adaptive();
  const floatLogProbs = logProbs(model);
  const report = quantizeModel(model, 'q8_0');
  // No tied head to pack: the adaptive head is untied, its own Linears are quantised.
  assert.equal(report.modules.tied_lm_head, undefined);
  for (const path of ['adaptive_head.head', 'adaptive_head.tail.0.0', 'adaptive_head.tail.1.0']) assert.equal(report.modules[path], 'linear', path);
  // Linear(16 → 20) and Linear(4 → ...) are not whole 32-blocks: they stay float.
  assert.deepEqual(report.skipped.sort(), ['adaptive_head.tail.0.1', 'adaptive_head.tail.1.1']);
  const quantized = logProbs(model);
  assertRowsSumToOne(quantized, 'quantised');
  // The reference backend's quantised matmul is float x times the dequantised codes (the native
  // and wasm kernels also round x to 8 bits), so it must equal a float GPT holding those weights.
  const exact = withKernelBackend('reference', () => logProbs(model));

  // Independent: a float GPT whose quantised layers hold the dequantised weights.
  const reference = adaptive();
  for (const [path, layer] of quantizedLayers(model)) {
    const weights = dequantizeMatrix(layer.qweight); // (out, in), row-major as the float layer stores it
    const target = reference.getSubmodule(path) as unknown as { weight: Tensor };
    const w = target.weight;
    const transposed = layer.kind === 'conv1d'; // Conv1D keeps (in, out)
    const data = w.data as Float32Array;
    for (let r = 0; r < layer.qweight.rows; r++) for (let c = 0; c < layer.qweight.cols; c++) data[transposed ? c * layer.qweight.rows + r : r * layer.qweight.cols + c] = weights[r * layer.qweight.cols + c];
  }
  const dequantized = withKernelBackend('reference', () => logProbs(reference));
  const vsDequantized = maxAbsDifference(exact, dequantized);
  assert.ok(vsDequantized.value < 1e-5, `quantised (reference kernels) vs dequantised float: log-prob ${vsDequantized.at} differs by ${vsDequantized.value}`);
  // The default kernels: within Q8_0's rounding of x and W of the float model (measured ≈ 0.02).
  const vsFloat = maxAbsDifference(quantized, floatLogProbs);
  assert.ok(vsFloat.value < 0.1, `quantised vs float: log-prob ${vsFloat.at} differs by ${vsFloat.value}`);
  assert.ok(maxAbsDifference(exact, floatLogProbs).value > 1e-4, 'quantising changed nothing: the head was not quantised');

  withDir((dir) => {
    saveQuantizedCausalLM(dir, model, tokenizer);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.equal(config.output, 'adaptive');
    assert.deepEqual(config.adaptive_cutoffs, [20, 40]);
    const loaded = loadQuantizedCausalLM(dir).model as GPT;
    assert.ok(loaded.adaptive_head!.head instanceof QuantizedLinear);
    const again = maxAbsDifference(logProbs(loaded), quantized);
    assert.equal(again.value, 0, `reloaded quantised folder: log-prob ${again.at} differs by ${again.value}`);
  });
});

test('magnitude pruning reaches the adaptive head\'s matrices; the pruned model still gives distributions and round-trips', () => {
  const model = adaptive();
  const { masks, sparsity } = magnitudePrune(model, { sparsity: 0.5, scope: 'per-layer' });
  for (const name of ['adaptive_head.head.weight', 'adaptive_head.tail.0.0.weight', 'adaptive_head.tail.0.1.weight', 'adaptive_head.tail.1.1.weight']) {
    const mask = masks.get(name);
    assert.ok(mask !== undefined, `${name} is not pruned`);
    const zeros = mask.reduce((n, keep) => n + (keep === 0 ? 1 : 0), 0);
    assert.equal(zeros, Math.round(0.5 * mask.length), name);
  }
  assert.equal(measuredSparsity(model), sparsity);
  const pruned = logProbs(model);
  assertRowsSumToOne(pruned, 'pruned');
  withDir((dir) => {
    saveGPT(dir, model, tokenizer);
    const again = maxAbsDifference(logProbs(loadGPT(dir).model), pruned);
    assert.equal(again.value, 0, `reloaded pruned folder: log-prob ${again.at} differs by ${again.value}`);
  });
});

test('head pruning an adaptive GPT keeps the adaptive head through the pruned folder', () => {
  const model = adaptive();
  const before = logProbs(model);
  pruneHeads(model, { 0: [1] });
  const pruned = logProbs(model);
  assert.ok(maxAbsDifference(pruned, before).value > 0, 'removing a head changed nothing');
  assertRowsSumToOne(pruned, 'head-pruned');
  withDir((dir) => {
    savePrunedGPT(dir, model, tokenizer);
    const loaded = loadPrunedGPT(dir).model as GPT;
    assert.equal(loaded.config.output, 'adaptive');
    const again = maxAbsDifference(logProbs(loaded), pruned);
    assert.equal(again.value, 0, `reloaded head-pruned folder: log-prob ${again.at} differs by ${again.value}`);
  });
});
