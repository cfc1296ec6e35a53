/**
 * The quantised tied LM head (GPT.tied_lm_head, a tied Llama's): quantizeModel, quantised folders
 * and Q8_0 / Q4_0 GGUF files keep the V×C logits projection packed, while float models keep the
 * plain h·Eᵀ matmul bit for bit.
 *
 * Oracles independent of the head: the hidden states captured in front of it, multiplied by the
 * dequantised embedding in float64 (qmatmulReference); the tolerance is the native kernel's,
 * which quantises h to 8 bits per block of 32: each logit moves by at most
 * Σ_blocks (amax_x/127 / 2) · Σ|ŵ| (test/compress/qmatmul-native.test.ts), plus float32 rounding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dequantizeMatrix, quantizeMatrix, type QuantFormat, type QuantizedMatrix } from '../../src/compress/formats.ts';
import { qmatmulReference } from '../../src/compress/qmatmul-reference.ts';
import { quantizeModel, saveQuantizedCausalLM, TIED_LM_HEAD } from '../../src/compress/quantize-model.ts';
import { QuantizedLinear } from '../../src/compress/quantized-linear.ts';
import { exportGguf, loadGgufModel } from '../../src/io/gguf-model.ts';
import { readGguf } from '../../src/io/gguf-reader.ts';
import { GPT } from '../../src/models/gpt.ts';
import { Llama } from '../../src/models/llama.ts';
import { loadCausalLM } from '../../src/models/load.ts';
import { Module } from '../../src/nn/module.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { matmul } from '../../src/tensor/ops/matmul.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';

const tokenizer = trainCharTokenizer('abcdefghijklmnopqrstuvwxyz .,');
const V = tokenizer.vocabSize;
const ids = Tensor.from([[1, 2, 3, 4, 5, 6, 7, 0, 9, 12]]);

const newGpt = (): GPT => new GPT({ vocab_size: V, n_layer: 2, n_embd: 64, n_head: 2, n_positions: 16 }, { rng: new Rng(3) });
const newLlama = (): Llama => new Llama({ vocab_size: V, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 16, tie_word_embeddings: true }, { rng: new Rng(4) });

function logitsOf(model: GPT | Llama): Float32Array {
  return noGrad(() => model.forward(ids).logits.contiguousData()) as Float32Array;
}

/** Stands in for the head to record its input (the final hidden states), returning zeros. */
class CaptureHead extends Module {
  captured: Float32Array | null = null;
  constructor(readonly inFeatures: number, readonly outFeatures: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    this.captured = Float32Array.from(x.contiguousData());
    return Tensor.zeros([...x.shape.slice(0, -1), this.outFeatures]);
  }
}

function hiddenStates(model: GPT | Llama, C: number): Float32Array {
  const head = model.tied_lm_head;
  const capture = new CaptureHead(C, V);
  model.setTiedLmHead(capture);
  logitsOf(model);
  model.setTiedLmHead(head);
  return capture.captured!;
}

/** |native − float64 reference| may reach Σ_blocks (scale_x / 2)·Σ|ŵ| per output (x rounded to 8 bits), plus float32 rounding. */
function assertWithinKernelTolerance(got: Float32Array, h: Float32Array, weight: QuantizedMatrix, label: string): void {
  const { rows: N, cols: K } = weight;
  const M = h.length / K;
  const expected = qmatmulReference(h, M, weight);
  const w = dequantizeMatrix(weight);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let bound = 0;
      let magnitude = 0;
      for (let b = 0; b < K / 32; b++) {
        let amax = 0, wsum = 0;
        for (let j = 0; j < 32; j++) {
          amax = Math.max(amax, Math.abs(h[m * K + b * 32 + j]));
          wsum += Math.abs(w[n * K + b * 32 + j]);
          magnitude += Math.abs(h[m * K + b * 32 + j] * w[n * K + b * 32 + j]);
        }
        bound += (amax / 127 / 2) * wsum;
      }
      const error = Math.abs(got[m * N + n] - expected[m * N + n]);
      assert.ok(error <= bound * 1.0001 + 1e-5 * magnitude + 1e-7, `${label}: logit (${m}, ${n}) off by ${error}, bound ${bound}`);
    }
  }
}

for (const format of ['q8_0', 'q4_0'] as const satisfies readonly QuantFormat[]) {
  test(`quantizeModel ${format}: GPT and tied Llama logits come from the packed embedding, within the kernel's tolerance of the dequantised reference`, () => {
    for (const [name, model] of [['gpt', newGpt()], ['llama', newLlama()]] as const) {
      const embedding = model instanceof GPT ? model.transformer.wte.weight : model.model.embed_tokens.weight;
      const report = quantizeModel(model, format);
      assert.equal(report.modules[TIED_LM_HEAD], 'linear', name);
      const head = model.tied_lm_head;
      assert.ok(head instanceof QuantizedLinear && head.format === format && head.bias === null, `${name}: tied head is a ${format} QuantizedLinear without bias`);
      // the packed head is the embedding quantised by the same rule (independent call)
      assert.deepEqual(head.qweight.data, quantizeMatrix(format, embedding.contiguousData(), V, 64).data, `${name}: head bytes`);
      const h = hiddenStates(model, 64);
      assertWithinKernelTolerance(logitsOf(model), h, head.qweight, `${name} ${format}`);
    }
  });
}

test('float models are unchanged: no tied head, logits bit-identical to h·Eᵀ; removing the head restores them; adaptive and untied models get none', () => {
  for (const model of [newGpt(), newLlama()]) {
    assert.equal(model.tied_lm_head, null);
    const embedding = model instanceof GPT ? model.transformer.wte.weight : model.model.embed_tokens.weight;
    const h = new Tensor(hiddenStates(model, 64), [1, ids.shape[1], 64]);
    const expected = noGrad(() => matmul(h, embedding.transpose(0, 1)).contiguousData());
    const before = logitsOf(model);
    assert.deepEqual(before, expected);
    const keysBefore = Object.keys(model.stateDict());
    model.setTiedLmHead(QuantizedLinear.fromLinear({ weight: embedding, bias: null, inFeatures: 64, outFeatures: V } as never, 'q8_0'));
    assert.ok(keysBefore.length > 5);
    assert.deepEqual(Object.keys(model.stateDict()), keysBefore, 'the head adds no state');
    assert.notDeepEqual(logitsOf(model), before);
    model.setTiedLmHead(null);
    assert.deepEqual(logitsOf(model), before);
  }
  const adaptive = new GPT({ vocab_size: V, n_layer: 1, n_embd: 32, n_head: 2, n_positions: 16, output: 'adaptive', adaptive_cutoffs: [8, 20], adaptive_div_value: 2 }, { rng: new Rng(5) });
  const report = quantizeModel(adaptive, 'q8_0');
  assert.equal(report.modules[TIED_LM_HEAD], undefined);
  assert.equal(adaptive.tied_lm_head, null);
  assert.throws(() => adaptive.setTiedLmHead(new CaptureHead(32, V)), /adaptive/);
  const untied = new Llama({ vocab_size: V, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 16 }, { rng: new Rng(6) });
  quantizeModel(untied, 'q8_0');
  assert.ok(untied.lm_head instanceof QuantizedLinear, 'untied Llama: lm_head itself is quantised');
  assert.equal(untied.tied_lm_head, null);
  const optedOut = newGpt();
  const floatLogits = logitsOf(optedOut);
  assert.equal(quantizeModel(optedOut, 'q8_0', { tiedHead: false }).modules[TIED_LM_HEAD], undefined);
  assert.equal(optedOut.tied_lm_head, null, 'tiedHead: false keeps the float head');
  assert.notDeepEqual(logitsOf(optedOut), floatLogits, 'the blocks are quantised all the same');
  assert.throws(() => newGpt().setTiedLmHead(new CaptureHead(64, V + 1)), /tied logits head must be \(\d+, 64\)/);
});

test('round trips keep the head packed: quantised folder and Q8_0 GGUF (same bytes as token_embd); greedy tokens close to the float model', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-tied-head-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, make] of [['gpt', newGpt], ['llama', newLlama]] as const) {
    const float = make();
    const floatLogits = logitsOf(float);
    exportGguf(join(dir, `${name}.gguf`), float, tokenizer, { type: 'q8_0' });
    const loaded = loadGgufModel(join(dir, `${name}.gguf`)).model;
    const head = loaded.tied_lm_head;
    assert.ok(head instanceof QuantizedLinear && head.format === 'q8_0', `${name}: GGUF Q8_0 token_embd gives a q8_0 tied head`);
    const fileBytes = readGguf(join(dir, `${name}.gguf`)).tensors.get('token_embd.weight')!.data;
    assert.deepEqual(head.qweight.data, Uint8Array.from(fileBytes), `${name}: head on the file's bytes`);
    const q8Logits = logitsOf(loaded);
    assertWithinKernelTolerance(q8Logits, hiddenStates(loaded, 64), head.qweight, `${name} gguf`);
    // greedy (argmax) token at every position, as the other GGUF tests compare them
    const T = ids.shape[1];
    let same = 0, worst = 0;
    for (let p = 0; p < T; p++) {
      const row = (a: Float32Array): number => { let best = 0; for (let v = 1; v < V; v++) if (a[p * V + v] > a[p * V + best]) best = v; return best; };
      if (row(floatLogits) === row(q8Logits)) same++;
      for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(floatLogits[p * V + v] - q8Logits[p * V + v]));
    }
    t.diagnostic(`${name}: Q8_0 GGUF greedy ${same}/${T} equal to float, max logit error ${worst.toExponential(2)}`);
    assert.ok(same >= T - 2 && worst < 0.05, `${name}: ${same}/${T} greedy tokens, max logit error ${worst}`);
    // written back block for block, and through a quantised folder
    exportGguf(join(dir, `${name}-again.gguf`), loaded, tokenizer, { type: 'q8_0' });
    assert.deepEqual(Uint8Array.from(readGguf(join(dir, `${name}-again.gguf`)).tensors.get('token_embd.weight')!.data), head.qweight.data);
    saveQuantizedCausalLM(join(dir, name), loaded, tokenizer);
    const fromFolder = loadCausalLM(join(dir, name)).model as GPT | Llama;
    assert.ok(fromFolder.tied_lm_head instanceof QuantizedLinear, `${name}: folder keeps the tied head`);
    assert.deepEqual(logitsOf(fromFolder), q8Logits, `${name}: folder logits equal the GGUF model's`);
  }
});
