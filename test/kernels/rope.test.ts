// The fused RoPE kernel (KernelBackend.rotaryEmbedding): native on each ISA this CPU runs and wasm
// (the reference loop) against the TypeScript reference in float64, at awkward shapes (1, 7, 33,
// 65, 129 positions; head sizes 2, 8, 64, 66), strided input, a table offset, forward and inverse,
// on 1 and 2 threads; and the tensor op against the composition it replaced
// (x·cos + rotate_half(x)·signedSin of elementwise ops), bit for bit in float32, forward and backward,
// on whichever backend QKV_KERNELS picks (the reference rounds each float32 product as native does).
//
// Tolerance against the float64 reference: 2e-7·max(1, |ref|) (|x|, |cos|, |sin| ≤ 1: two float32
// products and one sum, each rounded once, ≤ 1.5 ulp).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KernelBackend } from '../../src/kernels/backend.ts';
import { kernelBackend, setKernelThreads, waitForKernelThreads } from '../../src/kernels/index.ts';
import { nativeInfo, selectNativeSimd, setNativeThreads } from '../../src/kernels/native/index.ts';
import { referenceBackend } from '../../src/kernels/reference/index.ts';
import type { RotaryParams, Storage } from '../../src/kernels/types.ts';
import { applyRotaryEmbedding } from '../../src/nn/positions.ts';
import { gradcheck } from '../../src/tensor/gradcheck.ts';
import { rotaryEmbedding } from '../../src/tensor/ops/rope.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { backendVariants, randomArray } from './fixtures.ts';
import { composedRotaryEmbedding } from '../nn/rope-composed.ts';

/** Tables (rows, hs/2) of random angles: any angle must work, not only RoPE's. */
function tables(rows: number, half: number, seed: number): { cos: Float32Array; sin: Float32Array } {
  const angles = randomArray(rows * half, seed, Math.PI);
  return { cos: angles.map(Math.cos), sin: angles.map(Math.sin) };
}

for (const variant of backendVariants()) {
  for (const threads of [1, 2]) {
    describe(`rotaryEmbedding, ${variant.label}, ${threads} thread${threads > 1 ? 's' : ''}, against the reference`, () => {
      let fast: KernelBackend<Storage>;
      it('loads', () => {
        setKernelThreads(threads);
        fast = kernelBackend(variant.name);
        if (variant.name === 'native') {
          setNativeThreads(threads);
          assert.equal(selectNativeSimd(variant.simd!), true);
          assert.equal(nativeInfo().threads, threads);
        }
        assert.equal(waitForKernelThreads(), true);
      });

      it('T of 1, 7, 33, 65, 129 and hs of 2, 8, 64, 66, contiguous and strided, table offset, forward and inverse', () => {
        let seed = 1;
        for (const T of [1, 7, 33, 65, 129]) {
          for (const hs of [2, 8, 64, 66]) {
            for (const [B, NH] of [[1, 1], [2, 3]]) {
              const position = T === 1 ? 0 : 5;
              const { cos, sin } = tables(position + T, hs / 2, seed++);
              // contiguous (B, NH, T, hs), then the transposed view of a (B, T, NH, hs) array at an offset
              const layouts: Partial<RotaryParams>[] = [{}, { offset: 3, strideB: T * NH * hs, strideH: hs, strideT: NH * hs }];
              for (const layout of layouts) {
                for (const inverse of [false, true]) {
                  const p: RotaryParams = { B, NH, T, hs, position, inverse, ...layout };
                  const x = randomArray(3 + B * NH * T * hs, seed++, 1);
                  const out = new Float32Array(B * NH * T * hs).fill(Number.NaN);
                  const expected = new Float64Array(out.length);
                  fast.rotaryEmbedding(out, x, cos, sin, p);
                  referenceBackend.rotaryEmbedding(expected, Float64Array.from(x), Float64Array.from(cos), Float64Array.from(sin), p);
                  for (let i = 0; i < expected.length; i++) {
                    const error = Math.abs(out[i] - expected[i]);
                    if (!(error <= 2e-7 * Math.max(1, Math.abs(expected[i])))) {
                      assert.fail(`rotaryEmbedding ${JSON.stringify(p)}: out[${i}] = ${out[i]}, reference ${expected[i]}, |error| ${error.toExponential(2)}`);
                    }
                  }
                }
              }
            }
          }
        }
      });

      it('inverse undoes forward (a rotation and its transpose)', () => {
        const p: RotaryParams = { B: 2, NH: 4, T: 65, hs: 66, position: 7 };
        const { cos, sin } = tables(72, 33, 99);
        const x = randomArray(2 * 4 * 65 * 66, 98, 1);
        const turned = new Float32Array(x.length), back = new Float32Array(x.length);
        fast.rotaryEmbedding(turned, x, cos, sin, p);
        fast.rotaryEmbedding(back, turned, cos, sin, { ...p, inverse: true });
        for (let i = 0; i < x.length; i++) assert.ok(Math.abs(back[i] - x[i]) <= 3e-7, `index ${i}: ${back[i]} vs ${x[i]}`);
      });
    });
  }
}

describe('rotaryEmbedding (tensor op)', () => {
  it('float32: the same bits as the elementwise composition it replaced, forward and backward, on a transposed head view', () => {
    for (const [B, NH, T, hs, offset] of [[2, 3, 7, 8, 0], [1, 4, 33, 66, 5], [2, 2, 129, 64, 3], [1, 1, 1, 2, 9]]) {
      const data = randomArray(B * T * NH * hs, T * hs, 1);
      const upstream = new Tensor(randomArray(B * NH * T * hs, 7, 1), [B, NH, T, hs]);
      const leafFused = new Tensor(Float32Array.from(data), [B, T, NH, hs]).requiresGrad_();
      const leafComposed = new Tensor(Float32Array.from(data), [B, T, NH, hs]).requiresGrad_();
      const fused = applyRotaryEmbedding(leafFused.transpose(1, 2), offset); // (B, NH, T, hs) view of (B, T, NH, hs)
      const composed = composedRotaryEmbedding(leafComposed.transpose(1, 2), offset);
      assert.deepEqual(fused.contiguousData(), composed.contiguousData(), `forward (${B},${NH},${T},${hs}) at ${offset}`);
      fused.mul(upstream).sum().backward();
      composed.mul(upstream).sum().backward();
      assert.deepEqual(leafFused.grad!.contiguousData(), leafComposed.grad!.contiguousData(), `backward (${B},${NH},${T},${hs}) at ${offset}`);
    }
  });

  it('gradient by finite differences (float64), strided input and a table offset', () => {
    const half = 5;
    const angles = Float64Array.from(randomArray(12 * half, 3, Math.PI));
    const cos = new Tensor(angles.map(Math.cos), [12, half]);
    const sin = new Tensor(angles.map(Math.sin), [12, half]);
    const x = new Tensor(Float64Array.from(randomArray(2 * 3 * 4 * 10, 5, 1)), [2, 3, 4, 10]).requiresGrad_();
    gradcheck('rotaryEmbedding', (input) => rotaryEmbedding(input.transpose(1, 2), cos, sin, 7), [x]);
  });

  it('rejects a table of the wrong width, length or dtype', () => {
    const x = Tensor.zeros([1, 1, 4, 6]);
    assert.throws(() => rotaryEmbedding(x, Tensor.zeros([4, 2]), Tensor.zeros([4, 2]), 0), /cos must be a contiguous float32 \(≥ 4, 3\)/);
    assert.throws(() => rotaryEmbedding(x, Tensor.zeros([4, 3]), Tensor.zeros([4, 3]), 1), /≥ 5/);
    assert.throws(() => rotaryEmbedding(x, Tensor.zeros([4, 3]), Tensor.zeros([4, 3], { dtype: 'float64' }), 0), /sin must be/);
  });
});
