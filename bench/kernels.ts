/**
 * The fused elementwise kernels, qkv-native and qkv-wasm against qkv-reference on the same inputs, each at the
 * GPT training benchmark's shapes (B·T = 1024 rows, C = 128, the MLP's 4C = 512, V = 96 and 1024):
 *   tanh GELU forward and backward (the `gelu(x, 'tanh')` op, so allocation and the copies in and
 *   out of wasm memory count), layerNorm forward and backward, cross-entropy forward and
 *   backward, and one AdamW step over a parameter's arrays; rmsNorm forward and backward, the
 *   MLP's fused bias + tanh GELU (the `biasGelu` op) and the embedding's backward scatter-add.
 * Each pair runs through the same entry point with the kernel backend switched
 * (`setKernelBackend`), so the ratio is what the tensor engine gains by default.
 */
import { getKernelInfo, kernelBackend, setKernelBackend } from '../src/kernels/index.ts';
import type { KernelBackendName } from '../src/kernels/index.ts';
import { crossEntropyBackward, crossEntropyForward, layerNormBackward, layerNormForward, rmsNormBackward, rmsNormForward } from '../src/kernels/index.ts';
import { adamUpdate, ADAMW_DEFAULTS } from '../src/optim/adam.ts';
import { gelu } from '../src/tensor/ops/elementwise.ts';
import { biasGelu } from '../src/tensor/ops/fused.ts';
import { embedding } from '../src/tensor/ops/indexing.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import type { BenchReport } from './report.ts';
import { timeMedianMs } from './report.ts';

const TIMING = { warmup: 3, minRuns: 10, minTimeMs: 400 };
const ROWS = 1024;

/** One kernel on one shape: `prepare` sets up its inputs, the closure it returns is what is timed. */
interface Case {
  name: string;
  shape: string;
  /** Elements processed per call, for the throughput column. */
  elements: number;
  prepare(): () => void;
}

export async function run(report: BenchReport): Promise<void> {
  const defaultBackend = getKernelInfo().backend;
  const fast: KernelBackendName[] = (['wasm', 'native'] as const).filter((name) => {
    try {
      kernelBackend(name);
      return true;
    } catch (error) {
      console.error(`bench kernels: qkv ${name} kernels unavailable (${error instanceof Error ? error.message : String(error)})`);
      return false;
    }
  });
  for (const kernel of cases()) {
    const timeMs = {} as Record<KernelBackendName, number>;
    for (const backend of ['reference', ...fast] as const) {
      setKernelBackend(backend);
      timeMs[backend] = timeMedianMs(kernel.prepare(), TIMING);
    }
    setKernelBackend(defaultBackend);
    const referenceName = `${kernel.name} qkv-reference`;
    report.row({ name: referenceName, shape: kernel.shape, timeMs: timeMs.reference, value: kernel.elements / timeMs.reference / 1e3, unit: 'Melem/s' });
    for (const backend of fast) {
      report.row({
        name: `${kernel.name} qkv-${backend}`, shape: kernel.shape, timeMs: timeMs[backend], value: kernel.elements / timeMs[backend] / 1e3, unit: 'Melem/s',
        ratio: timeMs.reference / timeMs[backend], baseline: referenceName,
      });
    }
  }
}

function cases(): Case[] {
  const list: Case[] = [];
  for (const C of [128, 512]) {
    const shape = `${ROWS}x${C}`;
    const n = ROWS * C;
    list.push({
      name: 'gelu tanh fwd', shape, elements: n,
      prepare: () => {
        const x = new Tensor(randomArray(n, 1, 4), [ROWS, C]);
        x.requiresGrad = true;
        return () => void gelu(x, 'tanh');
      },
    });
    list.push({
      name: 'gelu tanh bwd', shape, elements: n,
      prepare: () => {
        const x = new Tensor(randomArray(n, 1, 4), [ROWS, C]);
        x.requiresGrad = true;
        const gradient = new Tensor(randomArray(n, 2, 1), [ROWS, C]);
        const y = gelu(x, 'tanh');
        return () => {
          x.grad = null;
          y.backward({ gradient, retainGraph: true });
        };
      },
    });
  }

  const C = 128;
  const n = ROWS * C;
  const inp = randomArray(n, 3, 2), weight = randomArray(C, 4, 1), bias = randomArray(C, 5, 1), dout = randomArray(n, 6, 1);
  const out = new Float32Array(n), dinp = new Float32Array(n);
  const mean = new Float64Array(ROWS), rstd = new Float64Array(ROWS);
  const dweight = new Float64Array(C), dbias = new Float64Array(C);
  list.push({
    name: 'layerNorm fwd', shape: `${ROWS}x${C}`, elements: n,
    prepare: () => () => layerNormForward(out, mean, rstd, inp, weight, bias, ROWS, C, 1e-5),
  });
  list.push({
    name: 'layerNorm bwd', shape: `${ROWS}x${C}`, elements: n,
    prepare: () => {
      layerNormForward(out, mean, rstd, inp, weight, bias, ROWS, C, 1e-5);
      return () => layerNormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, ROWS, C);
    },
  });

  for (const V of [96, 1024]) {
    const logits = randomArray(ROWS * V, 7, 3);
    const targets = Int32Array.from({ length: ROWS }, (_, i) => (i * 7919) % V);
    const losses = new Float32Array(ROWS), lse = new Float64Array(ROWS), dlogits = new Float32Array(ROWS * V);
    const scales = new Float64Array(ROWS).fill(1 / ROWS);
    list.push({
      name: 'crossEntropy fwd', shape: `${ROWS}x${V}`, elements: ROWS * V,
      prepare: () => () => crossEntropyForward(losses, lse, logits, targets, ROWS, V, -100, 0),
    });
    list.push({
      name: 'crossEntropy bwd', shape: `${ROWS}x${V}`, elements: ROWS * V,
      prepare: () => {
        crossEntropyForward(losses, lse, logits, targets, ROWS, V, -100, 0);
        return () => crossEntropyBackward(dlogits, logits, lse, targets, scales, ROWS, V, -100, 0);
      },
    });
  }

  // One step over a (C, 4C) weight, and over the GPT benchmark model's ~0.8M parameters as one array.
  for (const size of [128 * 512, 800_000]) {
    list.push({
      name: 'adamW step', shape: `${size}`, elements: size,
      prepare: () => {
        const param = randomArray(size, 8, 0.1), grad = randomArray(size, 9, 0.01);
        const expAvg = new Float32Array(size), expAvgSq = new Float32Array(size);
        const hyper = { ...ADAMW_DEFAULTS, lr: 3e-3, weightDecay: 0.1 };
        let step = 0;
        return () => adamUpdate(param, grad, expAvg, expAvgSq, hyper, ++step, true);
      },
    });
  }
  // rmsNorm at the same shape as layerNorm (Llama-style models use it in layerNorm's place).
  const rrms = new Float64Array(ROWS);
  list.push({
    name: 'rmsNorm fwd', shape: `${ROWS}x${C}`, elements: n,
    prepare: () => () => rmsNormForward(out, rrms, inp, weight, ROWS, C, 1e-6),
  });
  list.push({
    name: 'rmsNorm bwd', shape: `${ROWS}x${C}`, elements: n,
    prepare: () => {
      rmsNormForward(out, rrms, inp, weight, ROWS, C, 1e-6);
      return () => rmsNormBackward(dinp, dweight, dout, inp, weight, rrms, ROWS, C);
    },
  });

  // The MLP's bias + tanh GELU (the `biasGelu` op, allocation and copies included), at (B·T, 4C).
  {
    const C4 = 4 * C, size = ROWS * C4;
    const shape = `${ROWS}x${C4}`;
    list.push({
      name: 'biasGelu fwd', shape, elements: size,
      prepare: () => {
        const x = new Tensor(randomArray(size, 10, 4), [ROWS, C4]), b = new Tensor(randomArray(C4, 11, 1), [C4]);
        x.requiresGrad = true;
        return () => void biasGelu(x, b);
      },
    });
    list.push({
      name: 'biasGelu bwd', shape, elements: size,
      prepare: () => {
        const x = new Tensor(randomArray(size, 10, 4), [ROWS, C4]), b = new Tensor(randomArray(C4, 11, 1), [C4]);
        x.requiresGrad = true;
        b.requiresGrad = true;
        const gradient = new Tensor(randomArray(size, 12, 1), [ROWS, C4]);
        const y = biasGelu(x, b);
        return () => {
          x.grad = null;
          b.grad = null;
          y.backward({ gradient, retainGraph: true });
        };
      },
    });
  }

  // The embedding's backward (scatter-add of B·T rows into the (V, C) table's gradient, through
  // the `embedding` op) for the character vocabulary and a GPT-2-sized one; its forward gather
  // stays in TypeScript, so it has no row here.
  for (const [V, width] of [[96, 128], [50257, 768]]) {
    list.push({
      name: 'embedding bwd', shape: `${ROWS}x${width} V${V}`, elements: ROWS * width,
      prepare: () => {
        const table = new Tensor(randomArray(V * width, 13, 0.02), [V, width]);
        table.requiresGrad = true;
        const ids = Int32Array.from({ length: ROWS }, (_, i) => (i * 7919) % V);
        const gradient = new Tensor(randomArray(ROWS * width, 14, 1), [ROWS, width]);
        const rows = embedding(table, ids);
        return () => {
          table.grad = null;
          rows.backward({ gradient, retainGraph: true });
        };
      },
    });
  }
  return list;
}

function randomArray(length: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = scale * (state / 2 ** 31 - 1);
  }
  return out;
}
