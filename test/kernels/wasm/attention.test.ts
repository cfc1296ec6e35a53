// Fused attention (wasm) against a naive float64 oracle written here from the definition, whose
// backward is itself checked by finite differences. Causal and key-padding masks, fully padded
// rows (zeros, not NaN), awkward T and hs, 1 and 2 threads.
//
// Tolerance: |fast − oracle| ≤ 2e-4 · (1 + |oracle|) · √T: float32 sums over T keys (and hs
// channels) in the products plus the exp polynomial's ~1e-7 relative error.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attentionBackwardWasm, attentionForwardWasm } from '../../../src/kernels/wasm/attention.ts';
import type { AttentionParams } from '../../../src/kernels/wasm/attention.ts';
import { setWasmThreads, waitForWasmWorkers, wasmWorkerChunks } from '../../../src/kernels/wasm/runtime.ts';

function randomArray(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

interface Oracle { out: Float64Array; lse: Float64Array; dq: Float64Array; dk: Float64Array; dv: Float64Array }

/** Attention forward and backward in float64, straight from the formulas. */
function naiveAttention(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, dout: ArrayLike<number>, p: AttentionParams): Oracle {
  const { B, NH, T, hs } = p;
  const scale = p.scale ?? 1 / Math.sqrt(hs);
  const size = B * NH * T * hs;
  const o: Oracle = { out: new Float64Array(size), lse: new Float64Array(B * NH * T), dq: new Float64Array(size), dk: new Float64Array(size), dv: new Float64Array(size) };
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      const base = (b * NH + h) * T * hs;
      for (let i = 0; i < T; i++) {
        const scores = new Float64Array(T).fill(-Infinity);
        for (let j = 0; j < T; j++) {
          if (p.causal && j > i) continue;
          if (p.keyPadding !== undefined && p.keyPadding[b * T + j] !== 0) continue;
          let dot = 0;
          for (let c = 0; c < hs; c++) dot += q[base + i * hs + c] * k[base + j * hs + c];
          scores[j] = scale * dot;
        }
        const max = Math.max(...scores);
        const row = (b * NH + h) * T + i;
        if (max === -Infinity) {
          o.lse[row] = -Infinity;
          continue;
        }
        let sum = 0;
        for (let j = 0; j < T; j++) sum += Math.exp(scores[j] - max);
        o.lse[row] = max + Math.log(sum);
        const probs = scores.map((s) => Math.exp(s - max) / sum);
        for (let j = 0; j < T; j++) for (let c = 0; c < hs; c++) o.out[base + i * hs + c] += probs[j] * v[base + j * hs + c];
        // Backward of this row: dP = dO·Vᵀ, dS = P ⊙ (dP − Σ P·dP).
        const dP = new Float64Array(T);
        let D = 0;
        for (let j = 0; j < T; j++) {
          for (let c = 0; c < hs; c++) dP[j] += dout[base + i * hs + c] * v[base + j * hs + c];
          D += probs[j] * dP[j];
        }
        for (let j = 0; j < T; j++) {
          const dS = probs[j] * (dP[j] - D);
          for (let c = 0; c < hs; c++) {
            o.dv[base + j * hs + c] += probs[j] * dout[base + i * hs + c];
            o.dq[base + i * hs + c] += scale * dS * k[base + j * hs + c];
            o.dk[base + j * hs + c] += scale * dS * q[base + i * hs + c];
          }
        }
      }
    }
  }
  return o;
}

function assertClose(name: string, fast: Float32Array, oracle: Float64Array, p: AttentionParams): void {
  const tolerance = 2e-4 * Math.sqrt(Math.max(p.T, 1));
  for (let i = 0; i < oracle.length; i++) {
    if (oracle[i] === -Infinity && fast[i] === -Infinity) continue;
    const error = Math.abs(fast[i] - oracle[i]);
    if (!(error <= tolerance * (1 + Math.abs(oracle[i])))) {
      assert.fail(`attention wasm ${name} ${JSON.stringify({ ...p, keyPadding: p.keyPadding ? 'yes' : 'no' })}: ${name}[${i}] = ${fast[i]}, oracle ${oracle[i]}, |error| ${error.toExponential(3)}`);
    }
  }
}

function checkCase(p: AttentionParams, seed: number): void {
  const size = p.B * p.NH * p.T * p.hs;
  const q = randomArray(size, seed), k = randomArray(size, seed + 1), v = randomArray(size, seed + 2), dout = randomArray(size, seed + 3);
  const oracle = naiveAttention(q, k, v, dout, p);
  const out = new Float32Array(size), lse = new Float32Array(p.B * p.NH * p.T);
  attentionForwardWasm(out, lse, q, k, v, p);
  assertClose('out', out, oracle.out, p);
  assertClose('lse', lse, oracle.lse, p);
  const dq = new Float32Array(size).fill(7), dk = new Float32Array(size).fill(7), dv = new Float32Array(size).fill(7);
  attentionBackwardWasm(dq, dk, dv, dout, q, k, v, out, lse, p);
  assertClose('dq', dq, oracle.dq, p);
  assertClose('dk', dk, oracle.dk, p);
  assertClose('dv', dv, oracle.dv, p);
}

/** Batch 0 pads its last 3 keys; later batches pad every key (all their rows fully masked) unless `partial`. */
function padding(B: number, T: number, partial = false): Uint8Array {
  const mask = new Uint8Array(B * T);
  for (let b = 0; b < B; b++) {
    if (b === 0 || partial) mask.fill(1, b * T + Math.max(0, T - 3 - b), (b + 1) * T);
    else mask.fill(1, b * T, (b + 1) * T);
  }
  return mask;
}

describe('attention oracle', () => {
  it('has a backward that matches finite differences of Σ dout·out', () => {
    const p: AttentionParams = { B: 1, NH: 1, T: 5, hs: 3, causal: true, keyPadding: Uint8Array.from([0, 0, 0, 0, 1]) };
    const q = Array.from(randomArray(15, 11)), k = Array.from(randomArray(15, 12)), v = Array.from(randomArray(15, 13)), dout = Array.from(randomArray(15, 14));
    const loss = (): number => naiveAttention(q, k, v, dout, p).out.reduce((sum, value, i) => sum + value * dout[i], 0);
    const grads = naiveAttention(q, k, v, dout, p);
    for (const [name, values, grad] of [['q', q, grads.dq], ['k', k, grads.dk], ['v', v, grads.dv]] as const) {
      for (let i = 0; i < values.length; i++) {
        const saved = values[i];
        values[i] = saved + 1e-6;
        const up = loss();
        values[i] = saved - 1e-6;
        const down = loss();
        values[i] = saved;
        const numeric = (up - down) / 2e-6;
        assert.ok(Math.abs(numeric - grad[i]) < 1e-6, `oracle d${name}[${i}] = ${grad[i]}, finite difference ${numeric}`);
      }
    }
  });
});

for (const threads of [1, 2]) {
  describe(`attention wasm, ${threads} thread${threads > 1 ? 's' : ''}`, () => {
    it('starts its workers', () => {
      setWasmThreads(threads);
      assert.equal(waitForWasmWorkers(), true);
    });

    it('matches the oracle: causal × key padding, awkward T and hs, fully padded rows', () => {
      let seed = 1;
      for (const [T, hs] of [[1, 4], [7, 5], [33, 8], [65, 16]]) {
        for (const causal of [false, true]) {
          checkCase({ B: 2, NH: 2, T, hs, causal }, seed++);
          checkCase({ B: 2, NH: 2, T, hs, causal, keyPadding: padding(2, T) }, seed++);
        }
      }
      checkCase({ B: 1, NH: 2, T: 9, hs: 4, scale: 1 }, seed++);
    });

    it('splits heads across threads on a larger case', () => {
      const p: AttentionParams = { B: 2, NH: 4, T: 129, hs: 16, causal: true, keyPadding: padding(2, 129, true) };
      checkCase(p, 99);
      if (threads > 1) {
        // A busy machine may wake the worker late for one small call; give it up to 5 s of calls.
        const before = wasmWorkerChunks();
        const size = 2 * 4 * 129 * 16;
        const q = randomArray(size, 5);
        const deadline = performance.now() + 5000;
        while (wasmWorkerChunks() === before && performance.now() < deadline) attentionForwardWasm(new Float32Array(size), new Float32Array(2 * 4 * 129), q, q, q, p);
        assert.ok(wasmWorkerChunks() > before, 'no attention chunk ran on a worker in 5 s of calls');
      }
    });
  });
}

describe('attention wasm, errors', () => {
  it('names the array that is too short', () => {
    const p: AttentionParams = { B: 1, NH: 1, T: 4, hs: 2 };
    assert.throws(() => attentionForwardWasm(new Float32Array(8), new Float32Array(4), new Float32Array(7), new Float32Array(8), new Float32Array(8), p), /q needs B·NH·T·hs = 8 elements, found 7/);
    assert.throws(() => attentionForwardWasm(new Float32Array(8), new Float32Array(3), new Float32Array(8), new Float32Array(8), new Float32Array(8), p), /lse needs/);
  });
});
