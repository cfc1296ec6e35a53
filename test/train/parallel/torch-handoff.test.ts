import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT } from '../../../src/models/gpt.ts';
import { loadGPT, saveGPT } from '../../../src/models/gpt-folder.ts';
import { noGrad } from '../../../src/tensor/autograd.ts';
import { Rng } from '../../../src/tensor/random.ts';
import { Tensor } from '../../../src/tensor/tensor.ts';
import { trainCharTokenizer } from '../../../src/tokenizers/char.ts';

/** The environment in which `import torch` works (../shared/tools/torch/setup.sh --env), or null. */
function torchEnvironment(): NodeJS.ProcessEnv | null {
  const setup = new URL('../../../../shared/tools/torch/setup.sh', import.meta.url).pathname;
  const probe = spawnSync('bash', ['-c', `eval "$(${JSON.stringify(setup)} --env 2>/dev/null)"; python3 -c 'import torch' && env -0`], { encoding: 'utf8', timeout: 120_000 });
  if (probe.status !== 0) return null;
  return Object.fromEntries(probe.stdout.split('\0').filter(Boolean).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

const env = torchEnvironment();

test('a qkv GPT folder continues in PyTorch FSDP (gloo, 2 processes on 127.0.0.1) and loads back into qkv', { skip: env === null ? 'python3 cannot import torch here (../shared/tools/torch/setup.sh installs it)' : false, timeout: 300_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-torch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const text = readFileSync(new URL('../../../data/brown.txt', import.meta.url), 'utf8').slice(0, 20_000);
  const tokenizer = trainCharTokenizer(text);
  const ids = tokenizer.encodeIds(text);
  const model = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 2, n_embd: 32, n_head: 2, n_positions: 32, embd_pdrop: 0, resid_pdrop: 0, attn_pdrop: 0 }, { rng: new Rng(4) });
  const source = join(dir, 'qkv');
  saveGPT(source, model, tokenizer);
  writeFileSync(join(dir, 'tokens.bin'), new Uint8Array(Int32Array.from(ids).buffer));
  const probeIds = Int32Array.from(ids.slice(100, 117));
  writeFileSync(join(dir, 'probe.bin'), new Uint8Array(probeIds.buffer));
  const out = join(dir, 'torch');
  const script = new URL('../../../examples/torch-fsdp-continue.py', import.meta.url).pathname;
  const port = String(20000 + Math.floor(Math.random() * 20000));
  const stdout = execFileSync('python3', [script, '--model', source, '--tokens', join(dir, 'tokens.bin'), '--out', out, '--steps', '6', '--lr', '3e-3', '--probe', join(dir, 'probe.bin'), '--spawn', '2', '--port', port], { env: env!, encoding: 'utf8', timeout: 240_000 });
  const lines = stdout.trim().split('\n').map((line) => JSON.parse(line));
  const report = lines.at(-1) as { probe_loss_before: number; probe_loss_after: number };
  assert.equal(lines.filter((line) => 'step' in line).length, 6);

  const probeLoss = (m: GPT): number => noGrad(() => {
    const input = new Tensor(Float32Array.from(probeIds.subarray(0, 16)), [1, 16]);
    const targets = new Tensor(Float32Array.from(probeIds.subarray(1, 17)), [1, 16]);
    return m.forward(input, { targets }).loss!.item();
  });
  const back = loadGPT(out).model; // torch's folder loads into qkv
  const qkvBefore = probeLoss(model);
  const qkvAfter = probeLoss(back);
  console.log(`probe loss qkv ${qkvBefore.toFixed(5)} / torch ${report.probe_loss_before.toFixed(5)} before; after torch FSDP: qkv ${qkvAfter.toFixed(5)} / torch ${report.probe_loss_after.toFixed(5)}`);
  assert.ok(Math.abs(qkvBefore - report.probe_loss_before) < 1e-4, 'torch computes the qkv model\'s loss');
  assert.ok(Math.abs(qkvAfter - report.probe_loss_after) < 1e-4, 'qkv computes the torch-trained model\'s loss');
  assert.ok(Math.abs(qkvAfter - qkvBefore) > 1e-3, 'torch training changed the weights');
});
