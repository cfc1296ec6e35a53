// The decode loop (modelStep) runs each step in an inferenceScope: greedy ids equal those of
// plain noGrad steps (here and in a fresh process), and buffers are reused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { base, greedy, prompt } from './decode-buffers-fixture.ts';
import { cacheStorages } from '../../src/generate/lm.ts';
import { GPT } from '../../src/models/gpt.ts';
import { bufferPoolStats } from '../../src/tensor/buffer-pool.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

function plainIdsInChild(position: 'learned' | 'rope'): number[] {
  const script = `import { plainGreedy } from './test/generate/decode-buffers-fixture.ts'; console.log(JSON.stringify(plainGreedy('${position}')));`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_TEST_CONTEXT: '' } });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as number[];
}

describe('decoding in an inference scope', () => {
  for (const position of ['learned', 'rope'] as const) {
    it(`${position} positions: same greedy ids as plain noGrad steps, with buffers reused`, () => {
      const model = new GPT({ ...base, position }, { rng: new Rng(5) });
      model.eval();
      const before = bufferPoolStats().reused;
      // Scoped first: RoPE's tables (100+ rows × 12) are first built inside a scope.
      const scoped = greedy(model, true, prompt, 12);
      const reused = bufferPoolStats().reused - before;
      // The reference from a fresh process: here the (module-level) RoPE tables already exist,
      // and a table wrongly handed back by the scope would corrupt both runs alike.
      const plain = plainIdsInChild(position);
      const plainHere = greedy(model, false, prompt, 12);
      const again = greedy(model, true, prompt, 12);
      assert.deepEqual(scoped, plain);
      assert.deepEqual(plainHere, plain);
      assert.deepEqual(again, plain);
      if (bufferPoolStats().enabled) assert.ok(reused >= 8, `only ${reused} buffers reused over 12 steps`);
    });
  }

  it('cacheStorages finds every tensor and float array inside a cache, however nested', () => {
    const a = Tensor.zeros([2]), b = Tensor.zeros([3]), raw = new Float32Array(4);
    const cache = { layers: [{ keys: a, values: null }, { keys: b, extra: new Map([['r', raw]]) }], length: 3, ids: new Int32Array(2) };
    const found = cacheStorages(cache);
    assert.equal(found.length, 3);
    assert.ok(found.includes(a) && found.includes(b) && found.includes(raw));
  });
});
