/**
 * The q8 / q4 ONNX folders run in Transformers.js (@huggingface/transformers, local files only)
 * with `dtype: 'q8'` / `'q4'` (model_quantized.onnx / model_q4.onnx): its greedy generation gives
 * the tokens of qkv's own quantised model (Q8_0 / Q4_0, the same blocks).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { env, pipeline, type TextGenerationPipeline } from '@huggingface/transformers';
import { generateText } from '../../src/generate/lm.ts';
import { getKernelInfo, setKernelBackend } from '../../src/kernels/index.ts';
import { exportOnnxFolder } from '../../src/io/onnx-folder.ts';
import type { GPT } from '../../src/models/gpt.ts';
import type { Llama } from '../../src/models/llama.ts';
import { fixtureModels, fixtureTokenizer, trainBriefly } from './gguf-fixtures.ts';

test('Transformers.js loads the q8 / q4 folders with their dtype; greedy tokens equal qkv\'s quantised model\'s (float activations)', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'qkv-tjs-quant-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = root;
  const prompt = 'the quick';
  const steps = 12;
  for (const [arch, build] of Object.entries(fixtureModels)) {
    const trained = await trainBriefly(build());
    const weights = trained.stateDict();
    for (const dtype of ['q8', 'q4'] as const) {
      const model = build() as GPT | Llama;
      model.loadStateDict(weights);
      model.eval();
      const name = `${arch}-${dtype}`;
      exportOnnxFolder(join(root, name), model, fixtureTokenizer, { quant: dtype }); // quantises `model` in place
      const generate = () => generateText({ model, tokenizer: fixtureTokenizer, prompt, config: { max_new_tokens: steps, do_sample: false } });
      const fast = await generate(); // native/wasm kernels: x rounded to 8 bits per block, as ggml does
      const before = getKernelInfo().backend;
      setKernelBackend('reference'); // float x times the codes: the arithmetic MatMulNBits does
      const ours = await generate().finally(() => setKernelBackend(before));
      const generator = (await pipeline('text-generation', name, { dtype })) as TextGenerationPipeline;
      const inputs = generator.tokenizer(prompt);
      const output = (await generator.model.generate({ ...inputs, max_new_tokens: steps, do_sample: false })) as { data: BigInt64Array };
      const theirs = [...output.data].map(Number).slice(ours.promptIds.length);
      const agree = (ids: number[]): number => theirs.filter((id, i) => id === ids[i]).length;
      console.log(`# ${name}: ${agree(ours.ids)}/${steps} greedy tokens agree with qkv's quantised model (float activations), ${agree(fast.ids)}/${steps} with its ${before} kernels`);
      assert.deepEqual(theirs, ours.ids, `${name}: generated ids`);
      await generator.dispose();
    }
  }
});
