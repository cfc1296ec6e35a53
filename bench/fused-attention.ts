/**
 * Fused attention forward+backward (one wasm kernel per head, ./src/kernels/attention-wasm.ts)
 * against the unfused composition the tensor engine would otherwise run on the same inputs: the
 * batched wasm matmul for the four products, a JavaScript pass for scale and causal mask, and the
 * reference softmax forward/backward kernels. Both on the default thread count; causal, like GPT.
 */
import { attentionBackwardWasm, attentionForwardWasm } from '../src/kernels/wasm/attention.ts';
import type { AttentionParams } from '../src/kernels/types.ts';
import { matmul, setKernelBackend } from '../src/kernels/index.ts';
import { softmaxBackward, softmaxForward } from '../src/kernels/reference/softmax.ts';
import type { BenchReport } from './report.ts';
import { timeMedianMs } from './report.ts';

const TIMING = { warmup: 2, minRuns: 5, minTimeMs: 1000 };

export async function run(report: BenchReport): Promise<void> {
  setKernelBackend('wasm');
  for (const T of [128, 256]) {
    const p: AttentionParams = { B: 8, NH: 4, T, hs: 32, causal: true };
    const shape = `B8 NH4 T${T} hs32`;
    const size = p.B * p.NH * T * p.hs;
    const q = randomArray(size, 1), k = randomArray(size, 2), v = randomArray(size, 3), dout = randomArray(size, 4);
    const out = new Float32Array(size), lse = new Float32Array(p.B * p.NH * T);
    const dq = new Float32Array(size), dk = new Float32Array(size), dv = new Float32Array(size);

    const fusedMs = timeMedianMs(() => {
      attentionForwardWasm(out, lse, q, k, v, p);
      attentionBackwardWasm(dq, dk, dv, dout, q, k, v, out, lse, p);
    }, TIMING);
    const unfused = new UnfusedAttention(p);
    const unfusedMs = timeMedianMs(() => unfused.forwardBackward(q, k, v, dout), TIMING);

    // Flops counted dense, as if nothing were masked (so causal skipping shows as speed): 2 T²·hs
    // products forward (QKᵀ, PV), 4 backward (dV, dP, dQ, dK), 2 flops per multiply-add; the
    // fused backward's recomputed QKᵀ is not counted.
    const flops = 2 * p.B * p.NH * T * T * p.hs * 6;
    const fusedName = `attention T=${T} fused fwd+bwd`;
    const unfusedName = `attention T=${T} unfused fwd+bwd`;
    report.row({ name: fusedName, shape, timeMs: fusedMs, value: flops / fusedMs / 1e6, unit: 'GFLOP/s' });
    report.row({ name: unfusedName, shape, timeMs: unfusedMs, value: flops / unfusedMs / 1e6, unit: 'GFLOP/s' });
    report.row({ name: `attention T=${T} fused / unfused`, shape, value: unfusedMs / fusedMs, unit: 'x', ratio: unfusedMs / fusedMs, baseline: unfusedName });
  }
}

/** The same attention as separate ops over (B·NH, T, T) score tensors. */
class UnfusedAttention {
  private readonly heads: number;
  private readonly scores: Float32Array;
  private readonly probs: Float32Array;
  private readonly out: Float32Array;
  private readonly dProbs: Float32Array;
  private readonly dScores: Float32Array;
  private readonly grads: Float32Array[];

  constructor(private readonly p: AttentionParams) {
    this.heads = p.B * p.NH;
    const tile = this.heads * p.T * p.T;
    const size = this.heads * p.T * p.hs;
    this.scores = new Float32Array(tile);
    this.probs = new Float32Array(tile);
    this.out = new Float32Array(size);
    this.dProbs = new Float32Array(tile);
    this.dScores = new Float32Array(tile);
    this.grads = [new Float32Array(size), new Float32Array(size), new Float32Array(size)];
  }

  forwardBackward(q: Float32Array, k: Float32Array, v: Float32Array, dout: Float32Array): void {
    const { T, hs } = this.p;
    const scale = 1 / Math.sqrt(hs);
    const batch = this.heads;
    const [dq, dk, dv] = this.grads;
    matmul(q, k, this.scores, { batch, m: T, n: T, k: hs, transB: true }); // S = Q·Kᵀ
    for (let h = 0; h < batch; h++) {
      for (let i = 0; i < T; i++) {
        const row = (h * T + i) * T;
        for (let j = 0; j < T; j++) this.scores[row + j] = j > i ? -Infinity : this.scores[row + j] * scale;
      }
    }
    softmaxForward(this.probs, this.scores, batch * T, T, 1);
    matmul(this.probs, v, this.out, { batch, m: T, n: hs, k: T }); // out = P·V
    matmul(this.probs, dout, dv, { batch, m: T, n: hs, k: T, transA: true }); // dV = Pᵀ·dO
    matmul(dout, v, this.dProbs, { batch, m: T, n: T, k: hs, transB: true }); // dP = dO·Vᵀ
    softmaxBackward(this.dScores, this.dProbs, this.probs, batch * T, T, 1);
    for (let i = 0; i < this.dScores.length; i++) this.dScores[i] *= scale;
    matmul(this.dScores, k, dq, { batch, m: T, n: hs, k: T }); // dQ = dS·K
    matmul(this.dScores, q, dk, { batch, m: T, n: hs, k: T, transA: true }); // dK = dSᵀ·Q
  }
}

function randomArray(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}
