/**
 * The exported ONNX folder runs in Transformers.js (@huggingface/transformers, local files only):
 * its text-generation pipeline, greedy, gives qkv's tokens and text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { env, pipeline, type TextGenerationPipeline } from '@huggingface/transformers';
import { generateText } from '../../src/generate/lm.ts';
import { exportOnnxFolder } from '../../src/io/onnx-folder.ts';
import { fixtureModels, fixtureTokenizer, trainBriefly } from './gguf-fixtures.ts';

test('Transformers.js loads the exported folder from a local path; its greedy text-generation gives qkv\'s tokens', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'qkv-tjs-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = root;
  const prompt = 'the quick';
  for (const [arch, build] of Object.entries(fixtureModels)) {
    const model = await trainBriefly(build());
    exportOnnxFolder(join(root, arch), model, fixtureTokenizer);
    const ours = await generateText({ model, tokenizer: fixtureTokenizer, prompt, config: { max_new_tokens: 12, do_sample: false } });
    const generator = (await pipeline('text-generation', arch, { dtype: 'fp32' })) as TextGenerationPipeline;
    const [result] = (await generator(prompt, { max_new_tokens: 12, do_sample: false })) as { generated_text: string }[];
    assert.equal(result.generated_text, prompt + ours.text, `${arch}: pipeline text`);
    const inputs = generator.tokenizer(prompt);
    assert.deepEqual([...inputs.input_ids.data].map(Number), ours.promptIds, `${arch}: Transformers.js tokenizes as qkv`);
    const output = (await generator.model.generate({ ...inputs, max_new_tokens: 12, do_sample: false })) as { data: BigInt64Array };
    assert.deepEqual([...output.data].map(Number).slice(ours.promptIds.length), ours.ids, `${arch}: generated ids`);
    await generator.dispose();
  }
});
