import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quantizeModel, saveQuantizedCausalLM } from '../../src/compress/quantize-model.ts';
import { QuantizedLinear } from '../../src/compress/quantized-linear.ts';
import { GPT } from '../../src/models/gpt.ts';
import { Llama } from '../../src/models/llama.ts';
import { loadCausalLM } from '../../src/models/load.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';

const ids = Tensor.from([[1, 2, 3, 4, 5, 6, 7, 0]]);

function logitsOf(model: { forward(ids: Tensor): { logits: Tensor } }): Float32Array {
  return noGrad(() => model.forward(ids).logits.contiguousData()) as Float32Array;
}

test('quantizeModel replaces every Linear/Conv1D of a GPT and a Llama; the folder round-trips and loads through loadCausalLM', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-quant-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tokenizer = trainCharTokenizer('abcdefgh ');
  const gpt = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 2, n_embd: 64, n_head: 2, n_positions: 16 }, { rng: new Rng(1) });
  const llama = new Llama({ vocab_size: tokenizer.vocabSize, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 16 }, { rng: new Rng(2) });
  for (const [name, model, expectedLayers] of [['gpt', gpt, 9], ['llama', llama, 8]] as const) {
    const before = logitsOf(model);
    const report = quantizeModel(model, 'q8_0');
    assert.equal(Object.keys(report.modules).length, expectedLayers, `${name}: ${JSON.stringify(report.modules)}`);
    assert.ok(report.sizeBytesAfter < report.sizeBytesBefore);
    const after = logitsOf(model);
    let worst = 0;
    for (let i = 0; i < before.length; i++) worst = Math.max(worst, Math.abs(before[i] - after[i]));
    assert.ok(worst > 0 && worst < 0.02, `${name}: Q8_0 moved a logit by ${worst}`);
    saveQuantizedCausalLM(join(dir, name), model, tokenizer);
    const loaded = loadCausalLM(join(dir, name)).model;
    assert.ok(loaded.namedModules().some(([, m]) => m instanceof QuantizedLinear));
    assert.deepEqual([...logitsOf(loaded)], [...after], `${name}: the loaded quantised model gives the same logits`);
  }
  // a damaged folder names the tensor
  const config = JSON.parse(readFileSync(join(dir, 'gpt', 'config.json'), 'utf8'));
  config.quantization_config.modules['transformer.h.9.mlp.c_fc'] = 'conv1d';
  writeFileSync(join(dir, 'gpt', 'config.json'), JSON.stringify(config));
  assert.throws(() => loadCausalLM(join(dir, 'gpt')), /no module named 'transformer\.h\.9\.mlp\.c_fc'|transformer\.h\.9\.mlp\.c_fc/);
});
