/**
 * 16-bit Linear / Conv1D products for mixed-precision training, as torch.autocast does on CPU:
 * under bf16 or fp16 each layer's matmul takes 16-bit copies of its weight (cast from the fp32
 * master on every forward, i.e. once per step per micro-batch) and of its input, multiplies with
 * fp32 accumulation, and keeps for backward only the 16-bit copies (Uint16Array): the input a
 * Linear holds until backward costs 2 bytes an element instead of 4.
 *
 * The graph does not hold the fp32 input either (see {@link graphInputOf}): as in PyTorch, where
 * the autograd graph references the op that made a tensor and not the tensor, the fp32 input
 * (a LayerNorm or GELU output, say) is garbage as soon as the model's code lets go of it, during
 * the forward, instead of living until backward beside its 16-bit copy.
 *
 * What is 16-bit: the saved input and the weight copy (storage), and every operand of the
 * forward and backward products (the incoming gradient is rounded too, as in torch.autocast).
 * What is not: the products' fp32 outputs and accumulation, every non-matmul op, master
 * weights, gradients and AdamW state.
 *
 * On the native backend the products run on the 16-bit GEMM (src/kernels/native/gemm16.cc:
 * AVX-512 BF16 dot products, F16C conversion while packing), which reads the Uint16Array copies
 * directly; elsewhere on the fp32 kernels over operands widened in transient scratch buffers.
 *
 * @example
 * withLinearPrecision('bf16', () => model.forward(ids, { targets }).loss!.backward());
 */
import { attachGrad, isGradEnabled } from '../tensor/autograd.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { getMatmulKernel, matmul } from '../tensor/ops/matmul.ts';
import { readDense } from '../tensor/ops/strided.ts';
import { bufferPoolStats, givePooled } from '../tensor/buffer-pool.ts';
import { allocateOverwritten, Tensor } from '../tensor/tensor.ts';
import { decodeBfloat16Into, decodeFloat16Into } from '../io/half.ts';
import { currentBackend } from '../kernels/index.ts';
import { nativeEncode16, nativeGemm16 } from '../kernels/native/gemm16.ts';
import { PRECISIONS, type Precision } from '../train/precision.ts';

let activePrecision: Precision = 'fp32';

/** Bytes the Linear/Conv1D layers held for backward since the last reset (see {@link resetLinearSavedBytes}). */
let savedBytes = 0;

export function getLinearPrecision(): Precision {
  return activePrecision;
}

/** Sets the precision of every Linear/Conv1D product from now on ('fp32' restores the plain matmul). */
export function setLinearPrecision(precision: Precision): void {
  if (!PRECISIONS.includes(precision)) throw new QkvValueError(`precision must be one of ${PRECISIONS.join(', ')}, got "${precision}"`);
  activePrecision = precision;
}

export interface LinearPrecisionScope {
  /**
   * `fn` runs forward AND backward, and no graph it builds is used after it returns (the
   * trainer's step): the 16-bit copies it made go back to a pool for the next step instead of to
   * the garbage collector (fresh multi-megabyte arrays each step cost page faults and GC time).
   */
  recycle?: boolean;
}

/**
 * Inside a `recycle` scope (a training step: the optimiser runs outside it, so no weight changes
 * inside), each weight's 16-bit copy is made once and shared by every product that uses it (a
 * weight used twice, the same layer over two inputs), keyed by the weight tensor, its storage
 * and the precision. Null outside such a scope: every product rounds the weight it is given.
 */
let weightCopies: Map<Tensor, { data: Tensor['data']; precision: 'bf16' | 'fp16'; bits: Uint16Array }> | null = null;

/** Runs `fn` with the Linear precision set, restoring the previous one after. */
export function withLinearPrecision<T>(precision: Precision, fn: () => T, scope: LinearPrecisionScope = {}): T {
  const previous = activePrecision;
  const outerRecycling = recycling;
  const outerWeightCopies = weightCopies;
  setLinearPrecision(precision);
  if (scope.recycle) {
    recycling = [];
    weightCopies = new Map();
  }
  try {
    return fn();
  } finally {
    activePrecision = previous;
    if (scope.recycle) {
      for (const buffer of recycling!) give16(buffer);
      recycling = outerRecycling;
      weightCopies = outerWeightCopies;
    }
  }
}

// ---- a pool of 16-bit buffers ------------------------------------------------------------------

const pool16 = new Map<number, Uint16Array[]>();
let pooled16Bytes = 0;
/** Enough for a step's copies at the bench size many times over; beyond it arrays go to GC. */
const MAX_POOLED16_BYTES = 256 * 1024 * 1024;
/** Copies made inside a `recycle` scope, returned to the pool when it ends (null: not in one). */
let recycling: Uint16Array[] | null = null;

/** A Uint16Array of `length` whose old contents the caller overwrites entirely. */
function take16(length: number): Uint16Array {
  const buffer = pool16.get(length)?.pop();
  if (buffer === undefined) return new Uint16Array(length);
  pooled16Bytes -= buffer.byteLength;
  return buffer;
}

function give16(buffer: Uint16Array): void {
  if (buffer.length < 1024 || pooled16Bytes + buffer.byteLength > MAX_POOLED16_BYTES) return;
  const bucket = pool16.get(buffer.length);
  if (bucket === undefined) pool16.set(buffer.length, [buffer]);
  else bucket.push(buffer);
  pooled16Bytes += buffer.byteLength;
}

/** Bytes of 16-bit buffers waiting in the pool (for the tests). */
export function pooledLinear16Bytes(): number {
  return pooled16Bytes;
}

/**
 * Bytes of inputs (and 16-bit weight copies) that the Linear/Conv1D products kept for backward
 * since the last reset: the activation memory this module changes, counted the same way in every
 * precision (fp32 keeps the input's 4 bytes an element; the weight is the parameter itself).
 */
export function linearSavedBytes(): number {
  return savedBytes;
}

export function resetLinearSavedBytes(): void {
  savedBytes = 0;
}

/** Rounds float32 values to bfloat16 bit patterns, to nearest even; NaN stays a (quiet) NaN. */
export function encodeBfloat16Fast(values: Float32Array): Uint16Array {
  const aligned = values.byteOffset % 4 === 0 ? values : values.slice();
  const words = new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.length);
  const out = new Uint16Array(words.length);
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if ((w & 0x7fffffff) > 0x7f800000) out[i] = (w >>> 16) | 0x40; // NaN: keep the sign, quiet
    else out[i] = (w + 0x7fff + ((w >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** Rounds float32 values to IEEE binary16 bit patterns, to nearest even (overflow → ±inf). */
export function encodeFloat16Fast(values: Float32Array): Uint16Array {
  const aligned = values.byteOffset % 4 === 0 ? values : values.slice();
  const words = new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.length);
  const out = new Uint16Array(words.length);
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const sign = (w >>> 16) & 0x8000;
    const abs = w & 0x7fffffff;
    if (abs > 0x7f800000) out[i] = sign | 0x7e00 | ((abs >>> 13) & 0x3ff); // NaN, quiet
    else if (abs >= 0x477ff000) out[i] = sign | 0x7c00; // ≥ 65520 rounds past 65504: inf
    else if (abs >= 0x38800000) out[i] = sign | ((abs - 0x38000000 + 0xfff + ((abs >>> 13) & 1)) >>> 13); // normal: rebias 127 → 15
    else {
      // Subnormal: units of 2^-24; Math.round takes .5 up, so pull odd ties back to even.
      const v = Math.abs(aligned[i]) * 16777216;
      let r = Math.round(v);
      if (r - v === 0.5 && (r & 1) === 1) r -= 1;
      out[i] = sign | r;
    }
  }
  return out;
}

/**
 * `values` as 16-bit patterns of `precision` (natively on the thread pool where the addon is
 * built: bit for bit the same), into `out` when given (same length).
 */
export function encode16(values: Float32Array, precision: 'bf16' | 'fp16', out?: Uint16Array): Uint16Array {
  const native = nativeEncode16();
  if (native !== null) {
    const target = out ?? new Uint16Array(values.length);
    native(precision, values, target);
    return target;
  }
  const encoded = precision === 'bf16' ? encodeBfloat16Fast(values) : encodeFloat16Fast(values);
  if (out === undefined) return encoded;
  out.set(encoded);
  return out;
}

/** encode16 into a pooled buffer; inside a `recycle` scope the buffer goes back when it ends. */
function encodeKept(values: Float32Array, precision: 'bf16' | 'fp16'): Uint16Array {
  const bits = encode16(values, precision, take16(values.length));
  recycling?.push(bits);
  return bits;
}

/** 16-bit patterns widened to float32 into `out` (exact). */
export function decode16Into(bits: Uint16Array, out: Float32Array, precision: 'bf16' | 'fp16'): Float32Array {
  return precision === 'bf16' ? decodeBfloat16Into(bits, out) : decodeFloat16Into(bits, out);
}

/**
 * The product a Linear or Conv1D layer computes, x (*, K) times its weight, in the active
 * precision. `weightLayout` 'out-in' is Linear's (N, K) weight (y = x·Wᵀ), 'in-out' Conv1D's
 * (K, N) (y = x·W). fp32 (or any float64 operand: gradient checks) is the plain matmul.
 */
export function linearMatmul(x: Tensor, weight: Tensor, weightLayout: 'out-in' | 'in-out'): Tensor {
  const precision = activePrecision;
  const plain = precision === 'fp32' || x.dtype !== 'float32' || weight.dtype !== 'float32';
  if (plain) {
    savedBytes += x.size * x.data.BYTES_PER_ELEMENT;
    return matmul(x, weightLayout === 'out-in' ? weight.transpose(0, 1) : weight);
  }
  return matmul16(x, weight, weightLayout, precision);
}

/**
 * The 16-bit product out (M, N) = op(A) · op(B), fp32 accumulate: the native gemm16 kernel on
 * the native backend (vdpbf16ps / F16C panels, no widened copies), else (wasm, reference, no
 * addon) the active fp32 kernel over operands widened into transient scratch buffers: the same
 * values multiplied, so the two differ only in the order of the fp32 additions.
 */
function product16(precision: 'bf16' | 'fp16', a: Uint16Array, b: Uint16Array, out: Float32Array,
  p: { m: number; n: number; k: number; transA?: boolean; transB?: boolean }): void {
  const gemm = currentBackend().name === 'native' ? nativeGemm16() : null;
  if (gemm !== null) return gemm(precision, a, b, out, p);
  const wide = (bits: Uint16Array) => decode16Into(bits, new Float32Array(bits.length), precision);
  getMatmulKernel()(wide(a), wide(b), out, { batch: 1, ...p });
}

/**
 * x (*, K) · W in 16-bit operands, fp32 accumulate; saves only the 16-bit copies for backward.
 * Backward rounds the incoming gradient to 16 bits too (as torch.autocast's matmul backward
 * does), so every product of the layer is 16-bit · 16-bit; that is where fp16 needs loss scaling.
 */
export function matmul16(x: Tensor, weight: Tensor, weightLayout: 'out-in' | 'in-out', precision: 'bf16' | 'fp16'): Tensor {
  const K = x.shape[x.ndim - 1];
  const N = weightLayout === 'out-in' ? weight.shape[0] : weight.shape[1];
  const M = K === 0 ? 0 : x.size / K;
  const xShape = x.shape; // the closure below must not capture x: that would keep its fp32 storage alive
  const x16 = encodeInput(x, precision); // (M, K), kept for backward
  const w16 = weightCopy(weight, precision); // (N, K) or (K, N), kept
  savedBytes += x16.byteLength;
  const transW = weightLayout === 'out-in';

  const out = allocateOverwritten('float32', M * N) as Float32Array; // pooled: written whole by the kernel
  product16(precision, x16, w16, out, { m: M, n: N, k: K, transB: transW }); // (M, K)·(K, N) → (M, N)

  const result = attachGrad(new Tensor(out, [...xShape.slice(0, -1), N]), 'linear16', [graphInputOf(x), weight], (grad, needs) => {
    const g = readDense(grad) as Float32Array;
    const g16 = encode16(g, precision, take16(g.length)); // (M, N), only for this closure
    let dx: Tensor | null = null;
    let dw: Tensor | null = null;
    if (needs[0]) {
      const values = allocateOverwritten('float32', M * K) as Float32Array;
      // dx = g·Wᵀ: 'out-in' W is (N, K) → g·W; 'in-out' W is (K, N) → g·Wᵀ.
      product16(precision, g16, w16, values, { m: M, n: K, k: N, transB: !transW });
      dx = new Tensor(values, xShape);
    }
    if (needs[1]) {
      const values = allocateOverwritten('float32', N * K) as Float32Array;
      // 'out-in': dW (N, K) = gᵀ·x;  'in-out': dW (K, N) = xᵀ·g.
      if (transW) product16(precision, g16, x16, values, { m: N, n: K, k: M, transA: true });
      else product16(precision, x16, g16, values, { m: K, n: N, k: M, transA: true });
      dw = new Tensor(values, weight.shape);
    }
    give16(g16);
    return [dx, dw];
  });
  if (result.gradFn !== null) savedInputs.set(result.gradFn, x16);
  return result;
}

/** x's values as 16-bit patterns (a pooled buffer), the fp32 dense copy of a strided x handed back at once. */
function encodeInput(x: Tensor, precision: 'bf16' | 'fp16'): Uint16Array {
  const dense = readDense(x) as Float32Array;
  const bits = encodeKept(dense, precision);
  if (dense.buffer !== x.data.buffer) givePooled(dense); // a temporary only this function saw
  return bits;
}

/** The weight's 16-bit copy: once per `recycle` scope (see weightCopies), else made now. */
function weightCopy(weight: Tensor, precision: 'bf16' | 'fp16'): Uint16Array {
  const cached = weightCopies?.get(weight);
  if (cached !== undefined && cached.data === weight.data && cached.precision === precision) return cached.bits;
  const bits = encodeKept(readDense(weight) as Float32Array, precision);
  savedBytes += bits.byteLength;
  weightCopies?.set(weight, { data: weight.data, precision, bits });
  return bits;
}

/** The 16-bit input each 16-bit product saved for backward, by its output's gradFn (for tests and the bench). */
const savedInputs = new WeakMap<object, Uint16Array>();

/**
 * The 16-bit copy of its input that the 16-bit product which made `output` keeps for backward
 * (a Uint16Array of bf16 or fp16 patterns), or null when `output` was not made by one (fp32, no
 * gradient, or its graph already freed by backward).
 */
export function linear16SavedInput(output: Tensor): Uint16Array | null {
  return (output.gradFn !== null && savedInputs.get(output.gradFn)) || null;
}

// ---- the graph holds the op that made the input, not the fp32 input -----------------------------

/** The storage of every stand-in: one NaN, as a view (so no pool ever takes it: givePooled wants whole buffers). */
const STAND_IN_STORAGE = new Float32Array(new ArrayBuffer(8), 4, 1).fill(NaN);
/** x → its stand-in, so the products sharing an input (Llama's q/k/v) share one graph node. Weak: x can still die. */
const standIns = new WeakMap<Tensor, Tensor>();
/** Every stand-in made, weakly: releaseLinear16Activations recognises them. */
const isStandIn = new WeakSet<Tensor>();

/**
 * What a 16-bit product records as its input in the graph. Backward never reads x's values (it
 * has the 16-bit copy), only needs the path to the op that made x; so for an x made by an op the
 * graph gets a stand-in: x's shape, x's gradFn, no fp32 storage (one shared NaN behind zero
 * strides). Backward reaches x's gradFn through it exactly as through x, and nothing in the graph
 * keeps x's Float32Array: once the model's code is done with x it is garbage, mid-forward, the
 * way PyTorch frees a LayerNorm output that only an autocast matmul read.
 *
 * x itself where it must be: a leaf that requires grad (its .grad is accumulated on the object).
 * If x is also read by another op, the graph then has x and its stand-in with one gradFn, which
 * backward runs once for each with its share of the gradient (backward closures are linear in the
 * gradient: same sum, twice the work); releaseLinear16Activations folds them back into one node.
 */
function graphInputOf(x: Tensor): Tensor {
  if (!isGradEnabled() || (x.gradFn === null && x.requiresGrad)) return x;
  const known = standIns.get(x);
  if (known !== undefined && known.gradFn === x.gradFn) return known;
  const standIn = new Tensor(STAND_IN_STORAGE, x.shape, x.shape.map(() => 0), 0, x.requiresGrad);
  standIn.gradFn = x.gradFn;
  standIns.set(x, standIn);
  isStandIn.add(standIn);
  return standIn;
}

// ---- handing fp32 activations back before backward -----------------------------------------------

/** Ops whose backward reads none of their inputs' values (only shapes): add, sub (src/tensor/ops/elementwise.ts). */
const INPUTS_UNREAD_BY_BACKWARD = new Set(['add', 'sub']);

/**
 * Between forward and backward of a training step, where nothing but the loss is read afterwards
 * (the `releaseActivations` contract), two things the graph alone cannot do:
 *   - a 16-bit product's fp32 output that only add/sub consume (the bias, the residual) is read
 *     by no backward (the product's backward has its 16-bit copies, add's reads only shapes): its
 *     storage goes to the buffer pool now, when its buffer is nobody else's in the graph, so
 *     backward's gradient buffers reuse it and the backward's peak drops by those bytes;
 *   - an input that a 16-bit product and another op both read is in the graph twice, as itself
 *     and as the product's stand-in (see graphInputOf): the stand-in is replaced by the tensor,
 *     so backward runs its producer once, as in fp32.
 * Pass the returned tensors as `keep` to `backward({ releaseActivations })` so they are not handed
 * back twice. (The fp32 inputs the products copied are not in the graph at all: nothing to do.)
 *
 * @example
 * const released = releaseLinear16Activations(loss); loss.backward({ releaseActivations: true, keep: released });
 */
export function releaseLinear16Activations(root: Tensor): Tensor[] {
  const consumers = new Map<Tensor, string[]>(); // the op names reading each tensor
  const tensorsOfBuffer = new Map<ArrayBufferLike, number>();
  const tensorOfGradFn = new Map<object, Tensor>(); // each gradFn's real (not stand-in) output in the graph
  const standInSlots: { inputs: Tensor[]; slot: number }[] = [];
  const visited = new Set<Tensor>([root]);
  const stack = [root];
  while (stack.length > 0) {
    const tensor = stack.pop()!;
    tensorsOfBuffer.set(tensor.data.buffer, (tensorsOfBuffer.get(tensor.data.buffer) ?? 0) + 1);
    const gradFn = tensor.gradFn;
    if (gradFn === null) continue;
    if (!isStandIn.has(tensor)) tensorOfGradFn.set(gradFn, tensor);
    gradFn.inputs.forEach((input, i) => {
      if (isStandIn.has(input) && input.gradFn !== null) standInSlots.push({ inputs: gradFn.inputs as Tensor[], slot: i });
      const list = consumers.get(input);
      if (list === undefined) consumers.set(input, [gradFn.name]);
      else list.push(gradFn.name);
      if (!visited.has(input)) {
        visited.add(input);
        stack.push(input);
      }
    });
  }
  for (const { inputs, slot } of standInSlots) {
    const real = tensorOfGradFn.get(inputs[slot].gradFn!);
    if (real !== undefined) inputs[slot] = real; // same shape, same gradFn: one node again
  }
  if (!bufferPoolStats().enabled) return [];
  const released: Tensor[] = [];
  for (const [x, uses] of consumers) {
    if (x === root || x.gradFn?.name !== 'linear16' || !uses.every((use) => INPUTS_UNREAD_BY_BACKWARD.has(use))) continue;
    const data = x.data;
    if (!(data instanceof Float32Array) || tensorsOfBuffer.get(data.buffer) !== 1 || data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) continue;
    givePooled(data);
    released.push(x);
  }
  return released;
}
