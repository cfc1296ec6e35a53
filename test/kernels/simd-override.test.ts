// QKV_SIMD picks a narrower native table than the CPU's widest (the portable, ARM path on x86):
// the child reports it, gives the loss of this process's widest table within float32 rounding,
// and a name the CPU cannot run (or a misspelling) falls back with a reason instead of crashing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { getKernelInfo } from '../../src/kernels/index.ts';

const script = `
import { getKernelInfo } from './src/kernels/index.ts';
import { GPT } from './src/models/gpt.ts';
import { Rng } from './src/tensor/random.ts';
import { Tensor } from './src/tensor/tensor.ts';
const model = new GPT({ vocab_size: 65, n_layer: 1, n_embd: 64, n_head: 4, n_positions: 33 }, { rng: new Rng(2) });
const ids = Tensor.from(Array.from({ length: 3 * 33 }, (_, i) => (i * 7) % 65), [3, 33]);
const { loss } = model.forward(ids, { targets: ids });
loss.backward();
const info = getKernelInfo();
console.log(JSON.stringify({ backend: info.backend, simd: info.simd, reason: info.fallbackReason ?? null, loss: loss.item(), grad: model.parameters()[0].grad.toArray().slice(0, 64) }));
`;

function runWith(simd: string): { backend: string; simd?: string; reason: string | null; loss: number; grad: number[] } {
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, QKV_KERNELS: 'native', QKV_SIMD: simd, NODE_TEST_CONTEXT: '' },
  });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout.trim().split('\n').pop()!);
}

const native = (() => {
  try {
    return getKernelInfo().backend === 'native';
  } catch {
    return false;
  }
})();

describe('QKV_SIMD', { skip: native ? false : 'the native addon is not loaded here' }, () => {
  it('runs the portable table on request, with the widest table\'s loss and gradients', () => {
    const widest = runWith('');
    const portable = runWith('portable');
    assert.equal(portable.backend, 'native');
    assert.equal(portable.simd, 'portable');
    assert.ok(Math.abs(portable.loss - widest.loss) <= 1e-5 * Math.abs(widest.loss), `loss ${portable.loss} vs ${widest.loss}`);
    portable.grad.forEach((g, i) => assert.ok(Math.abs(g - widest.grad[i]) <= 1e-4 * Math.max(1e-3, Math.abs(widest.grad[i])), `grad ${i}: ${g} vs ${widest.grad[i]}`));
  });

  it('a misspelt table name falls back with a reason naming QKV_SIMD', () => {
    const out = runWith('sse9');
    assert.notEqual(out.backend, 'native');
    assert.match(out.reason ?? '', /QKV_SIMD/);
  });
});
