/**
 * The GGUF export proved by llama.cpp itself (node-llama-cpp, CPU build shipped with the
 * package): the file loads, llama.cpp's tokenizer gives qkv's ids, and llama.cpp's greedy
 * continuation equals qkv's (`qkv generate --temperature 0`) at F32 and is close at Q8_0.
 * Skips, saying why, where node-llama-cpp has no binary for this machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportGguf } from '../../src/io/gguf-model.ts';
import { saveCausalLM } from '../../src/models/load.ts';
import { fixtureModels, fixtureTokenizer, trainBriefly } from './gguf-fixtures.ts';
import { runCli } from '../cli/run-cli.ts';

type LlamaRuntime = Awaited<ReturnType<typeof import('node-llama-cpp').getLlama>>;

async function loadRuntime(): Promise<LlamaRuntime | string> {
  try {
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    return await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  } catch (error) {
    return `node-llama-cpp cannot start llama.cpp here (${(error as Error).message.split('\n')[0]})`;
  }
}

async function llamaCppGreedy(runtime: LlamaRuntime, path: string, prompt: string, promptIds: number[], count: number): Promise<{ ids: number[]; tokenized: number[] }> {
  const model = await runtime.loadModel({ modelPath: path });
  try {
    const tokenized = [...model.tokenize(prompt)].map(Number);
    const context = await model.createContext({ contextSize: 64, threads: 1 });
    const ids: number[] = [];
    for await (const token of context.getSequence().evaluate(promptIds as never, { temperature: 0 })) {
      ids.push(Number(token));
      if (ids.length >= count) break;
    }
    await context.dispose();
    return { ids, tokenized };
  } finally {
    await model.dispose();
  }
}

const tokenizer = fixtureTokenizer;

test('GGUF loads in llama.cpp: same tokenizer ids, greedy tokens equal to qkv generate --temperature 0 at F32, close at Q8_0', async (t) => {
  const runtime = await loadRuntime();
  if (typeof runtime === 'string') {
    t.skip(runtime);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'qkv-llamacpp-'));
  t.after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await runtime.dispose();
  });
  const prompt = 'the quick';
  const count = 16;
  for (const [arch, build] of Object.entries(fixtureModels)) {
    const model = await trainBriefly(build());
    saveCausalLM(join(dir, arch), model, tokenizer);
    const qkv = JSON.parse(await runCli(['generate', '--model', join(dir, arch), '--prompt', prompt, '--max-new-tokens', String(count), '--temperature', '0', '--json']));
    exportGguf(join(dir, `${arch}-f32.gguf`), model, tokenizer, { type: 'f32' });
    const f32 = await llamaCppGreedy(runtime, join(dir, `${arch}-f32.gguf`), prompt, qkv.prompt_ids, count);
    assert.deepEqual(f32.tokenized, qkv.prompt_ids, `${arch}: llama.cpp's tokenizer from the GGUF gives qkv's ids`);
    assert.deepEqual(f32.ids, qkv.ids, `${arch} F32: llama.cpp greedy = qkv greedy`);
    exportGguf(join(dir, `${arch}-q8_0.gguf`), model, tokenizer, { type: 'q8_0' });
    const q8 = await llamaCppGreedy(runtime, join(dir, `${arch}-q8_0.gguf`), prompt, qkv.prompt_ids, count);
    const same = q8.ids.filter((id, i) => id === qkv.ids[i]).length;
    t.diagnostic(`${arch}: F32 ${count}/${count} tokens equal; Q8_0 ${same}/${count}`);
    assert.ok(same >= count * 0.75, `${arch} Q8_0: ${same}/${count} tokens as qkv F32 (${q8.ids} vs ${qkv.ids})`);
  }
});
