import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGguf } from '../../src/io/gguf-reader.ts';
import { GPT } from '../../src/models/gpt.ts';
import { saveGPT } from '../../src/models/gpt-folder.ts';
import { Rng } from '../../src/tensor/random.ts';
import { trainBpe } from '../../src/tokenizers/bpe-trainer.ts';
import { runCli } from './run-cli.ts';

const text = 'the quick brown fox jumps over the lazy dog. '.repeat(40);

test('qkv export --format gguf|onnx and qkv prune --sparsity / --heads write folders that load again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-cli-export-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tokenizer = trainBpe([text], { vocabSize: 290, specialTokens: ['<|endoftext|>'] });
  saveGPT(join(dir, 'f32'), new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 2, n_embd: 32, n_head: 4, n_positions: 32 }, { rng: new Rng(2) }), tokenizer);
  const data = join(dir, 'text.txt');
  writeFileSync(data, text);

  const gguf = JSON.parse(await runCli(['export', '--model', join(dir, 'f32'), '--format', 'gguf', '--quant', 'q4_0', '--out', join(dir, 'm.gguf'), '--json']));
  assert.equal(gguf.quant, 'q4_0');
  assert.equal(readGguf(join(dir, 'm.gguf')).tensors.get('blk.0.ffn_up.weight')!.type, 'Q4_0');
  // the GGUF file itself is a model qkv generate / eval read (its Q4_0 matrices stay packed)
  const fromGguf = JSON.parse(await runCli(['generate', '--model', join(dir, 'm.gguf'), '--prompt', 'the ', '--max-new-tokens', '4', '--temperature', '0', '--json']));
  assert.equal(fromGguf.ids.length, 4);
  const evaluated = JSON.parse(await runCli(['eval', '--model', join(dir, 'm.gguf'), '--data', data, '--block-size', '16', '--json']));
  assert.ok(Number.isFinite(evaluated.loss) && evaluated.tokens > 0);
  const onnx = JSON.parse(await runCli(['export', '--model', join(dir, 'f32'), '--format', 'onnx', '--out', join(dir, 'onnx'), '--json']));
  assert.ok(onnx.size_bytes > 0 && existsSync(join(dir, 'onnx', 'onnx', 'model.onnx')));
  await assert.rejects(runCli(['export', '--model', join(dir, 'f32'), '--format', 'tflite', '--out', 'x']), /--format must be one of gguf, onnx/);

  const sparse = JSON.parse(await runCli(['prune', '--model', join(dir, 'f32'), '--sparsity', '0.5', '--data', data, '--finetune-steps', '3', '--block-size', '16', '--batch-size', '2', '--out', join(dir, 'sparse'), '--json']));
  assert.ok(Math.abs(sparse.sparsity - 0.5) < 1e-3, `sparsity ${sparse.sparsity}`);
  assert.ok(sparse.loss_before !== null && sparse.loss_after !== null);
  const heads = JSON.parse(await runCli(['prune', '--model', join(dir, 'f32'), '--heads', '3', '--data', data, '--block-size', '16', '--batch-size', '2', '--out', join(dir, 'heads'), '--json']));
  assert.equal(heads.heads_removed_now, 3);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'heads', 'config.json'), 'utf8')).pruned_heads, heads.pruned_heads);
  const generated = JSON.parse(await runCli(['generate', '--model', join(dir, 'heads'), '--prompt', 'the ', '--max-new-tokens', '4', '--temperature', '0', '--json']));
  assert.equal(generated.ids.length, 4);
  await assert.rejects(runCli(['prune', '--model', join(dir, 'f32'), '--heads', '1', '--out', join(dir, 'x')]), /--heads and --finetune-steps need --data/);
});
