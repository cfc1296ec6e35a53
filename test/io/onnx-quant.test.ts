/**
 * Quantised ONNX export: qkv's Q8_0 / Q4_0 layers as com.microsoft.MatMulNBits. The packing is
 * checked against ggml's dequantisation (dequantizeMatrix) through MatMulNBits's own formula,
 * then ONNX Runtime runs the graphs against qkv's forward of the same quantised model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { dequantizeMatrix, quantizeMatrix } from '../../src/compress/formats.ts';
import { exportOnnxFolder, ONNX_MODEL_FILE, ONNX_QUANT } from '../../src/io/onnx-folder.ts';
import { toMatMulNBits } from '../../src/io/onnx-quant.ts';
import { GPT } from '../../src/models/gpt.ts';
import { Llama } from '../../src/models/llama.ts';
import { getKernelInfo, setKernelBackend } from '../../src/kernels/index.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { saveGPT } from '../../src/models/gpt-folder.ts';
import { runCli } from '../cli/run-cli.ts';
import { fixtureTokenizer } from './gguf-fixtures.ts';

const V = fixtureTokenizer.vocabSize;
const models = {
  gpt2: () => new GPT({ vocab_size: V, n_layer: 2, n_embd: 64, n_head: 2, n_positions: 64 }, { rng: new Rng(7) }),
  llama: () => new Llama({ vocab_size: V, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64 }, { rng: new Rng(8) }),
};

/** MatMulNBits's dequantisation as its contrib-op spec states it: (u − 2^(bits−1))·scale, element 2i low nibble. */
function matMulNBitsDequantize(w: ReturnType<typeof toMatMulNBits>): Float32Array {
  const out = new Float32Array(w.N * w.K);
  const zero = 2 ** (w.bits - 1);
  for (let e = 0; e < out.length; e++) {
    const block = Math.floor(e / w.blockSize);
    const within = e % w.blockSize;
    const byte = w.B[block * w.blobBytes + (w.bits === 8 ? within : within >> 1)];
    const u = w.bits === 8 ? byte : within % 2 === 0 ? byte & 0x0f : byte >> 4;
    out[e] = (u - zero) * w.scales[block];
  }
  return out;
}

test('Q8_0 / Q4_0 blocks repack to MatMulNBits without changing one weight; Q4_G128 is refused by name', () => {
  const rng = new Rng(3);
  const values = Float32Array.from({ length: 3 * 64 }, () => rng.normal());
  for (const format of ['q8_0', 'q4_0'] as const) {
    const matrix = quantizeMatrix(format, values, 3, 64);
    const packed = toMatMulNBits(matrix);
    assert.deepEqual([packed.N, packed.K, packed.bits, packed.blockSize], [3, 64, format === 'q8_0' ? 8 : 4, 32]);
    assert.deepEqual(matMulNBitsDequantize(packed), dequantizeMatrix(matrix), `${format}: same weights`);
  }
  // a hand-made Q4_0 block: scale 1.0 (fp16 0x3C00), weight w = (w mod 16) − 8
  const block = new Uint8Array(18);
  block[0] = 0x00;
  block[1] = 0x3c;
  for (let j = 0; j < 16; j++) block[2 + j] = j | (15 - j) << 4; // weights 0..15 = j, 16..31 = 15 − j
  const packed = toMatMulNBits({ format: 'q4_0', rows: 1, cols: 32, data: block });
  assert.equal(packed.scales[0], 1);
  assert.equal(packed.B[0], 0 | (1 << 4), 'weights 0 and 1 share byte 0');
  assert.equal(packed.B[8], 0xf | (0xe << 4), 'weights 16 (15) and 17 (14) share byte 8');
  assert.throws(() => toMatMulNBits(quantizeMatrix('q4_g128', new Float32Array(128), 1, 128)), /q4_g128 has no exact MatMulNBits form/);
});

test('ONNX Runtime runs the q8 / q4 graphs (GPT-2, Llama GQA): logits within 1e-5 of qkv\'s dequantised-weights forward; the files are smaller', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'qkv-onnx-quant-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const ids = fixtureTokenizer.encodeIds('the quick brown fox jumps').slice(0, 6);
  for (const [arch, build] of Object.entries(models)) {
    const floatDir = join(root, `${arch}-f32`);
    exportOnnxFolder(floatDir, build(), fixtureTokenizer);
    const floatBytes = statSync(join(floatDir, ONNX_MODEL_FILE)).size;
    for (const quant of ['q8', 'q4'] as const) {
      const model = build();
      model.eval();
      const dir = join(root, `${arch}-${quant}`);
      exportOnnxFolder(dir, model, fixtureTokenizer, { quant });
      const file = join(dir, ONNX_QUANT[quant].file);
      const bytes = statSync(file).size;
      assert.ok(bytes < floatBytes * (quant === 'q8' ? 0.6 : 0.45), `${arch} ${quant}: ${bytes} bytes vs ${floatBytes} float32`);
      const session = await ort.InferenceSession.create(file);
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
        position_ids: new ort.Tensor('int64', BigInt64Array.from(ids, (_, i) => BigInt(i)), [1, ids.length]),
      };
      for (const name of session.inputNames.filter((n) => n.startsWith('past_key_values.'))) {
        feeds[name] = new ort.Tensor('float32', new Float32Array(0), [1, 2, 0, arch === 'llama' ? 16 : 32]);
      }
      const logits = (await session.run(feeds)).logits.data as Float32Array;
      // qkv's dequantised-weights forward: the reference backend multiplies float x by the codes
      // (the native kernel also rounds x to 8 bits per block, as ggml does: ~5e-3 off here)
      const before = getKernelInfo().backend;
      setKernelBackend('reference');
      let expected: Float32Array;
      try {
        expected = Float32Array.from(noGrad(() => model.forward(Tensor.from([ids])).logits.contiguousData()));
      } finally {
        setKernelBackend(before);
      }
      let worst = 0;
      for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(logits[i] - expected[i]));
      console.log(`# ${arch} ${quant}: ${bytes} bytes (float32 ${floatBytes}, ${(bytes / floatBytes).toFixed(2)}×), max |logit − qkv| ${worst.toExponential(2)}`);
      assert.ok(worst <= 1e-5, `${arch} ${quant}: logits differ from qkv's quantised forward by ${worst}`);
      await session.release();
    }
  }
});

test('qkv export --format onnx --quant q8|q4 writes the Transformers.js file names; a GGUF-only type is refused for ONNX', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-cli-onnx-quant-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  saveGPT(join(dir, 'f32'), models.gpt2(), fixtureTokenizer);
  for (const quant of ['q8', 'q4'] as const) {
    const out = join(dir, quant);
    const summary = JSON.parse(await runCli(['export', '--model', join(dir, 'f32'), '--format', 'onnx', '--quant', quant, '--out', out, '--json']));
    assert.equal(summary.quant, quant);
    assert.ok(existsSync(join(out, ONNX_QUANT[quant].file)) && !existsSync(join(out, ONNX_MODEL_FILE)), `${quant}: ${ONNX_QUANT[quant].file} only`);
    const session = await ort.InferenceSession.create(join(out, ONNX_QUANT[quant].file));
    assert.ok(session.outputNames.includes('logits'));
    await session.release();
  }
  await assert.rejects(runCli(['export', '--model', join(dir, 'f32'), '--format', 'onnx', '--quant', 'q4_0', '--out', join(dir, 'x')]), /--format onnx: --quant must be one of f32, q8, q4/);
  await assert.rejects(runCli(['export', '--model', join(dir, 'f32'), '--format', 'gguf', '--quant', 'q8', '--out', join(dir, 'x.gguf')]), /--format gguf: --quant must be one of/);
});
