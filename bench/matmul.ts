/**
 * Matmul GFLOP/s, side by side on the same inputs in one run: the qkv TypeScript reference, the
 * qkv wasm and native kernels on 1 and 2 threads, TensorFlow.js's wasm backend, and
 * onnxruntime-node's MatMul (MLAS: the native reference, 2 intra-op threads), plus the ratios
 * qkv native 2 threads / onnxruntime and / qkv wasm 2 threads, and wasm / tfjs-wasm.
 */
import { createRequire } from 'node:module';
import { availableParallelism, loadavg } from 'node:os';
import { getKernelInfo, kernelBackend, matmul, setKernelBackend, setKernelThreads, waitForKernelThreads } from '../src/kernels/index.ts';
import { matmulReference } from '../src/kernels/reference/matmul.ts';
import type { BenchReport } from './report.ts';
import { timeMedianMs, timeMedianMsAsync } from './report.ts';

interface Shape {
  m: number;
  k: number;
  n: number;
  /** Label for the row, e.g. `512²`; the shape column gives MxKxN. */
  label: string;
}

const shapes: Shape[] = [
  { m: 128, k: 128, n: 128, label: '128²' },
  { m: 256, k: 256, n: 256, label: '256²' },
  { m: 512, k: 512, n: 512, label: '512²' },
  { m: 1024, k: 1024, n: 1024, label: '1024²' },
  // GPT MLP up-projection: (B·T, C) × (C, 4C) with B·T = 2048, C = 128.
  { m: 2048, k: 128, n: 512, label: 'gpt mlp' },
];

/** The TypeScript reference is ~1 GFLOP/s: one timed run above this many flops keeps the bench short. */
const REFERENCE_SINGLE_RUN_FLOPS = 5e8;
/** A second of runs per fast row: the median then holds up on a machine other jobs share. */
const FAST_TIMING = { warmup: 3, minRuns: 10, minTimeMs: 1000 };

export async function run(report: BenchReport): Promise<void> {
  const tf = await loadTfjsWasm();
  const ort = await loadOnnxRuntime();
  const native = nativeAvailable();
  setKernelBackend('wasm');

  for (const shape of shapes) {
    const { m, k, n } = shape;
    const flops = 2 * m * n * k;
    const shapeText = `${m}x${k}x${n}`;
    const a = randomArray(m * k, 1);
    const b = randomArray(k * n, 2);
    const out = new Float32Array(m * n);
    const params = { batch: 1, m, n, k };
    const gflops = (ms: number): number => flops / ms / 1e6;
    const row = (name: string, timeMs: number): number => {
      const value = gflops(timeMs);
      report.row({ name, shape: shapeText, timeMs, value, unit: 'GFLOP/s' });
      return value;
    };

    const referenceOptions = flops > REFERENCE_SINGLE_RUN_FLOPS ? { warmup: 0, minRuns: 1, minTimeMs: 0 } : { warmup: 1, minRuns: 3, minTimeMs: 200 };
    row(`${shape.label} qkv reference (ts)`, timeMedianMs(() => matmulReference(a, b, out, params), referenceOptions));

    setKernelThreads(1);
    row(`${shape.label} qkv wasm 1 thread`, timeMedianMs(() => matmul(a, b, out, params), FAST_TIMING));
    setKernelThreads(2);
    waitForKernelThreads();
    const twoThreads = row(`${shape.label} qkv wasm 2 threads`, timeMedianMs(() => matmul(a, b, out, params), FAST_TIMING));
    // Flops per CPU-second of this process: the kernel's own speed, whatever else shares the cores.
    report.row({ name: `${shape.label} qkv wasm 2t, per CPU-s`, shape: shapeText, value: flopsPerCpuSecond(() => matmul(a, b, out, params), flops) / 1e9, unit: 'GFLOP/cpu-s' });

    let native2: number | undefined;
    if (native) {
      setKernelBackend('native');
      setKernelThreads(1);
      row(`${shape.label} qkv native 1 thread`, timeMedianMs(() => matmul(a, b, out, params), FAST_TIMING));
      setKernelThreads(2);
      native2 = row(`${shape.label} qkv native 2 threads`, timeMedianMs(() => matmul(a, b, out, params), FAST_TIMING));
      report.row({ name: `${shape.label} qkv native 2t, per CPU-s`, shape: shapeText, value: flopsPerCpuSecond(() => matmul(a, b, out, params), flops) / 1e9, unit: 'GFLOP/cpu-s' });
      setKernelBackend('wasm');
      report.row({ name: `${shape.label} qkv native 2t / wasm 2t`, shape: shapeText, value: native2 / twoThreads, unit: 'x', ratio: native2 / twoThreads, baseline: `${shape.label} qkv wasm 2 threads` });
    }

    let tfjsValue: number | undefined;
    if (tf !== undefined) {
      const ta = tf.tensor2d(a, [m, k]);
      const tb = tf.tensor2d(b, [k, n]);
      tfjsValue = row(`${shape.label} tfjs-wasm`, timeMedianMs(() => {
        const product = tf.matMul(ta, tb);
        product.dataSync();
        product.dispose();
      }, FAST_TIMING));
      ta.dispose();
      tb.dispose();
    }

    let ortValue: number | undefined;
    if (ort !== undefined) {
      const session = await ort.createMatMulSession(m, k, n);
      const feeds = { A: new ort.Tensor('float32', a, [m, k]), B: new ort.Tensor('float32', b, [k, n]) };
      ortValue = row(`${shape.label} onnxruntime`, await timeMedianMsAsync(async () => {
        await session.run(feeds);
      }, FAST_TIMING));
      await session.release();
    }

    if (tfjsValue !== undefined) {
      report.row({ name: `${shape.label} qkv wasm 2t / tfjs-wasm`, shape: shapeText, value: twoThreads / tfjsValue, unit: 'x', ratio: twoThreads / tfjsValue, baseline: `${shape.label} tfjs-wasm` });
    }
    if (ortValue !== undefined && native2 !== undefined) {
      report.row({ name: `${shape.label} qkv native 2t / onnxruntime`, shape: shapeText, value: native2 / ortValue, unit: 'x', ratio: native2 / ortValue, baseline: `${shape.label} onnxruntime` });
    }
    if (ortValue !== undefined) {
      report.row({ name: `${shape.label} qkv wasm 2t / onnxruntime`, shape: shapeText, value: twoThreads / ortValue, unit: 'x', ratio: twoThreads / ortValue, baseline: `${shape.label} onnxruntime` });
    }
  }
  const info = getKernelInfo();
  report.row({ name: `qkv kernels: wasm ${info.simd ?? '-'} build`, value: info.threads, unit: 'threads' });
  if (native) {
    setKernelBackend('native');
    report.row({ name: `qkv kernels: native ${getKernelInfo().simd} build`, value: getKernelInfo().threads, unit: 'threads' });
  }
  setKernelBackend(defaultBackend);
  // Context for every number above: a load over the core count means the threads were shared.
  report.row({ name: `machine load, 1-min average (${availableParallelism()} cores)`, value: loadavg()[0], unit: 'load' });
}

const defaultBackend = getKernelInfo().backend;

/** Whether the native addon loads (else its rows are left out, with a note). */
function nativeAvailable(): boolean {
  try {
    kernelBackend('native');
    return true;
  } catch (error) {
    console.error(`bench matmul: qkv native kernels unavailable (${error instanceof Error ? error.message : String(error)})`);
    return false;
  }
}

/** Run `fn` for ~0.5 s and divide its flops by the CPU time all of this process's threads spent. */
function flopsPerCpuSecond(fn: () => void, flops: number): number {
  const start = process.cpuUsage();
  const until = performance.now() + 500;
  let runs = 0;
  while (runs < 3 || performance.now() < until) {
    fn();
    runs++;
  }
  const used = process.cpuUsage(start);
  return (flops * runs) / ((used.user + used.system) / 1e6);
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

// ---- baselines ----------------------------------------------------------------------------------

/** The slice of TensorFlow.js used here. */
interface TfTensor {
  dataSync(): unknown;
  dispose(): void;
}
interface Tfjs {
  tensor2d(values: Float32Array, shape: [number, number]): TfTensor;
  matMul(a: TfTensor, b: TfTensor): TfTensor;
}

/** TensorFlow.js on its WebAssembly backend, or undefined (with a note) when it cannot start. */
async function loadTfjsWasm(): Promise<Tfjs | undefined> {
  try {
    const tf = await import('@tensorflow/tfjs');
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setThreadsCount(2);
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
    await tf.ready();
    return tf as unknown as Tfjs;
  } catch (error) {
    console.error(`bench matmul: tfjs-wasm unavailable (${error instanceof Error ? error.message : String(error)})`);
    return undefined;
  }
}

interface OrtTensor { readonly dims: readonly number[] }
interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<unknown>;
  release(): Promise<void>;
}
interface OrtModule {
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => OrtTensor;
  InferenceSession: { create(model: Uint8Array, options: object): Promise<OrtSession> };
}
interface OnnxRuntime {
  Tensor: OrtModule['Tensor'];
  createMatMulSession(m: number, k: number, n: number): Promise<OrtSession>;
}

/** onnxruntime-node with a one-node MatMul graph built in memory, or undefined when it cannot start. */
async function loadOnnxRuntime(): Promise<OnnxRuntime | undefined> {
  try {
    const ort = createRequire(import.meta.url)('onnxruntime-node') as OrtModule;
    return {
      Tensor: ort.Tensor,
      createMatMulSession: (m, k, n) => ort.InferenceSession.create(matmulModel(m, k, n), { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all' }),
    };
  } catch (error) {
    console.error(`bench matmul: onnxruntime-node unavailable (${error instanceof Error ? error.message : String(error)})`);
    return undefined;
  }
}

/**
 * The protobuf bytes of an ONNX model with one MatMul node: C (m,n) = A (m,k) · B (k,n), float32.
 * Field numbers from onnx.proto (ModelProto, GraphProto, NodeProto, ValueInfoProto, TypeProto).
 */
function matmulModel(m: number, k: number, n: number): Uint8Array {
  const FLOAT = 1;
  const tensorValue = (name: string, dims: number[]): number[] => {
    const shape = dims.flatMap((d) => field(1, message(varintField(1, d)))); // TensorShapeProto.dim { dim_value }
    const tensorType = [...varintField(1, FLOAT), ...field(2, message(shape))]; // TypeProto.Tensor { elem_type, shape }
    return [...field(1, text(name)), ...field(2, message(field(1, message(tensorType))))]; // ValueInfoProto { name, type }
  };
  const node = [...field(1, text('A')), ...field(1, text('B')), ...field(2, text('C')), ...field(4, text('MatMul'))];
  const graph = [
    ...field(1, message(node)),
    ...field(2, text('matmul')),
    ...field(11, message(tensorValue('A', [m, k]))),
    ...field(11, message(tensorValue('B', [k, n]))),
    ...field(12, message(tensorValue('C', [m, n]))),
  ];
  const opset = [...field(1, text('')), ...varintField(2, 13)];
  const model = [...varintField(1, 8), ...field(7, message(graph)), ...field(8, message(opset))]; // ir_version 8, opset 13
  return Uint8Array.from(model);
}

function varint(value: number): number[] {
  const bytes: number[] = [];
  while (value >= 0x80) {
    bytes.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  bytes.push(value);
  return bytes;
}
function varintField(fieldNumber: number, value: number): number[] {
  return [...varint(fieldNumber << 3), ...varint(value)];
}
/** A length-delimited field (wire type 2). */
function field(fieldNumber: number, payload: number[]): number[] {
  return [...varint((fieldNumber << 3) | 2), ...varint(payload.length), ...payload];
}
function message(bytes: number[]): number[] {
  return bytes;
}
function text(value: string): number[] {
  return [...new TextEncoder().encode(value)];
}
