/**
 * The Tensor: Float32Array (or, for gradient checks, Float64Array) storage seen through a
 * shape, strides and an offset, plus the autograd fields.
 *
 * Views (reshape of a contiguous tensor, permute, transpose, expand, narrow) share storage and
 * differ only in shape/strides/offset. Ops read any strided layout and write contiguous
 * outputs. Ops live in `./ops/*`, one concern per file, each forward beside its backward; the
 * methods here only delegate, so `x.matmul(w).add(b).relu()` reads like PyTorch.
 */
import { attachGrad, runBackward, type BackwardOptions, type GradFn } from './autograd.ts';
import { noteAllocation, takePooled } from './buffer-pool.ts';
import { takeFromBuildSlab } from './build-slab.ts';
import { QkvValueError, formatShape } from './errors.ts';
import { defaultRng, type Rng } from './random.ts';
import { contiguousStrides, numel, resolveShape, type Shape } from './shape.ts';
import * as elementwise from './ops/elementwise.ts';
import * as reduce from './ops/reduce.ts';
import * as shapeOps from './ops/shape.ts';
import { copyStrided } from './ops/strided.ts';
import { addInto } from './ops/broadcast.ts';
import * as indexing from './ops/indexing.ts';
import * as linalg from './ops/matmul.ts';
import * as softmaxOps from './ops/softmax.ts';

export type DType = 'float32' | 'float64';
export type Storage = Float32Array | Float64Array;

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

/** `size` zeros of `dtype`: a reused buffer when the pool has one (./buffer-pool.ts), else a fresh one. */
export function allocate(dtype: DType, size: number): Storage {
  const pooled = takePooled(dtype, size, true) ?? takeFromBuildSlab(dtype, size);
  if (pooled !== undefined) return pooled;
  const fresh = dtype === 'float64' ? new Float64Array(size) : new Float32Array(size);
  noteAllocation(fresh);
  return fresh;
}

/**
 * Like `allocate`, but a pooled buffer keeps its old values: only for a caller that writes every
 * element before anything reads it (a kernel's full output), which saves the zero-fill.
 */
export function allocateOverwritten(dtype: DType, size: number): Storage {
  const pooled = takePooled(dtype, size, false);
  if (pooled !== undefined) return pooled;
  const fresh = dtype === 'float64' ? new Float64Array(size) : new Float32Array(size);
  noteAllocation(fresh);
  return fresh;
}

export function dtypeOf(storage: Storage): DType {
  return storage instanceof Float64Array ? 'float64' : 'float32';
}

export class Tensor {
  /** Storage, shared by views; read it through shape/strides/offset (or call `toFloat32Array()`). */
  readonly data: Storage;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  /** Whether gradients flow to this tensor. Set it on parameters (leaves). */
  requiresGrad: boolean;
  /** Accumulated gradient of a leaf after `backward()`; null before. */
  grad: Tensor | null = null;
  /** The op that produced this tensor (null for leaves). */
  gradFn: GradFn | null = null;

  constructor(data: Storage, shape: Shape, strides?: readonly number[], offset = 0, requiresGrad = false) {
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
    this.offset = offset;
    this.requiresGrad = requiresGrad;
    if (!strides && offset === 0 && numel(shape) !== data.length) {
      throw new QkvValueError(`Tensor: ${data.length} values cannot have shape ${formatShape(shape)} (${numel(shape)} elements)`);
    }
  }

  get dtype(): DType {
    return dtypeOf(this.data);
  }
  /** Number of elements. */
  get size(): number {
    return numel(this.shape);
  }
  get ndim(): number {
    return this.shape.length;
  }

  /** True when the elements lie in row-major order from `offset` with no gaps. */
  isContiguous(): boolean {
    let expected = 1;
    for (let axis = this.shape.length - 1; axis >= 0; axis--) {
      if (this.shape[axis] !== 1 && this.strides[axis] !== expected) return false;
      expected *= this.shape[axis];
    }
    return true;
  }

  /** The elements in row-major order, as a new array of this tensor's dtype. */
  contiguousData(): Storage {
    const size = this.size;
    if (this.isContiguous()) return this.data.slice(this.offset, this.offset + size);
    const out = allocateOverwritten(this.dtype, size); // the copy writes every element
    copyStrided(out, 0, contiguousStrides(this.shape), this);
    return out;
  }

  /** A new contiguous tensor with the same values, outside any graph. */
  contiguousCopy(): Tensor {
    return new Tensor(this.contiguousData(), this.shape);
  }

  /** Same values in contiguous layout (returns `this` when already contiguous). Differentiable. */
  contiguous(): Tensor {
    if (this.isContiguous() && this.offset === 0 && this.data.length === this.size) return this;
    const out = new Tensor(this.contiguousData(), this.shape);
    return attachGrad(out, 'contiguous', [this], (grad) => [grad]);
  }

  /** Row-major values as a Float32Array (a copy). */
  toFloat32Array(): Float32Array {
    const values = this.contiguousData();
    return values instanceof Float32Array ? values : Float32Array.from(values);
  }

  /** Row-major values as a plain array. */
  toArray(): number[] {
    return Array.from(this.contiguousData());
  }

  /** Values as nested arrays shaped like the tensor (a number for a scalar). */
  tolist(): NestedArray {
    const flat = this.toArray();
    const build = (axis: number, start: number): NestedArray => {
      if (axis === this.shape.length) return flat[start];
      const step = numel(this.shape.slice(axis + 1));
      const out: NestedArray[] = [];
      for (let i = 0; i < this.shape[axis]; i++) out.push(build(axis + 1, start + i * step));
      return out;
    };
    return build(0, 0);
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new QkvValueError(`item: tensor of shape ${formatShape(this.shape)} has ${this.size} elements, not 1`);
    return this.data[this.offset];
  }

  /** Element at a full index, e.g. `t.get(0, 2)`. */
  get(...index: number[]): number {
    if (index.length !== this.shape.length) {
      throw new QkvValueError(`get: index of length ${index.length} for a tensor of rank ${this.shape.length}`);
    }
    let position = this.offset;
    for (let axis = 0; axis < index.length; axis++) {
      const i = index[axis] < 0 ? index[axis] + this.shape[axis] : index[axis];
      if (!(i >= 0 && i < this.shape[axis])) {
        throw new QkvValueError(`get: index ${index[axis]} is out of range for axis ${axis} of size ${this.shape[axis]}`);
      }
      position += i * this.strides[axis];
    }
    return this.data[position];
  }

  /**
   * Backpropagates from this tensor (a scalar unless `gradient` is given), accumulating into
   * `.grad` of every leaf that requires grad, then frees the graph.
   */
  backward(options: BackwardOptions = {}): void {
    runBackward(this, options, (like) => Tensor.ones(like.shape, { dtype: like.dtype }), elementwise.add, addInto);
  }

  /** A tensor sharing storage with this one, cut out of the graph (no grad). */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, this.strides, this.offset, false);
  }

  /** Sets requiresGrad in place and returns this (like `requires_grad_()`). */
  requiresGrad_(value = true): this {
    this.requiresGrad = value;
    return this;
  }

  /** A contiguous copy converted to `dtype`, differentiable. */
  to(dtype: DType): Tensor {
    if (dtype === this.dtype) return this;
    const values = this.contiguousData();
    const out = new Tensor(dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values), this.shape);
    const sourceDtype = this.dtype;
    return attachGrad(out, 'to', [this], (grad) => [grad.to(sourceDtype)]);
  }

  toString(): string {
    return `Tensor(shape=${formatShape(this.shape)}, dtype=${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  // ---- creation ----------------------------------------------------------------------------

  static zeros(shape: Shape, options: TensorOptions = {}): Tensor {
    const dims = resolveShape('zeros', shape);
    return new Tensor(allocate(options.dtype ?? 'float32', numel(dims)), dims, undefined, 0, options.requiresGrad ?? false);
  }

  static ones(shape: Shape, options: TensorOptions = {}): Tensor {
    return Tensor.full(shape, 1, options);
  }

  static full(shape: Shape, value: number, options: TensorOptions = {}): Tensor {
    const out = Tensor.zeros(shape, options);
    out.data.fill(value);
    return out;
  }

  /** A scalar (shape `()`) tensor. */
  static scalar(value: number, options: TensorOptions = {}): Tensor {
    return Tensor.full([], value, options);
  }

  /**
   * From nested arrays (`[[1, 2], [3, 4]]`) or flat values plus a shape.
   * @example Tensor.from([1, 2, 3, 4], [2, 2])
   */
  static from(values: NestedArray | ArrayLike<number>, shape?: Shape, options: TensorOptions = {}): Tensor {
    const dtype = options.dtype ?? 'float32';
    let flat: number[];
    let dims: number[];
    if (shape !== undefined) {
      flat = Array.from(values as ArrayLike<number>);
      dims = resolveShape('Tensor.from', shape, flat.length);
      if (numel(dims) !== flat.length) {
        throw new QkvValueError(`Tensor.from: ${flat.length} values cannot have shape ${formatShape(dims)}`);
      }
    } else {
      ({ flat, dims } = flattenNested(values as NestedArray));
    }
    const storage = allocate(dtype, flat.length);
    storage.set(flat);
    return new Tensor(storage, dims, undefined, 0, options.requiresGrad ?? false);
  }

  /** 0, 1, …, n-1 (or start..end by step). */
  static arange(start: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
    if (end === undefined) [start, end] = [0, start];
    const count = Math.max(0, Math.ceil((end - start) / step));
    const out = Tensor.zeros([count], options);
    for (let i = 0; i < count; i++) out.data[i] = start + i * step;
    return out;
  }

  /** Standard normal values (times `std`, plus `mean`) from `rng` (default: the global seeded one). */
  static randn(shape: Shape, options: TensorOptions & { rng?: Rng; mean?: number; std?: number } = {}): Tensor {
    const out = Tensor.zeros(shape, options);
    const rng = options.rng ?? defaultRng;
    const mean = options.mean ?? 0;
    const std = options.std ?? 1;
    for (let i = 0; i < out.data.length; i++) out.data[i] = rng.normal(mean, std);
    return out;
  }

  /** Uniform values in [low, high) (default [0, 1)). */
  static rand(shape: Shape, options: TensorOptions & { rng?: Rng; low?: number; high?: number } = {}): Tensor {
    const out = Tensor.zeros(shape, options);
    const rng = options.rng ?? defaultRng;
    const low = options.low ?? 0;
    const high = options.high ?? 1;
    for (let i = 0; i < out.data.length; i++) out.data[i] = rng.uniformRange(low, high);
    return out;
  }

  static zerosLike(like: Tensor, options: TensorOptions = {}): Tensor {
    return Tensor.zeros(like.shape, { dtype: like.dtype, ...options });
  }

  static onesLike(like: Tensor, options: TensorOptions = {}): Tensor {
    return Tensor.ones(like.shape, { dtype: like.dtype, ...options });
  }

  // ---- elementwise (./ops/elementwise.ts) ---------------------------------------------------
  add(other: Tensor | number): Tensor { return elementwise.add(this, other); }
  sub(other: Tensor | number): Tensor { return elementwise.sub(this, other); }
  mul(other: Tensor | number): Tensor { return elementwise.mul(this, other); }
  div(other: Tensor | number): Tensor { return elementwise.div(this, other); }
  pow(exponent: Tensor | number): Tensor { return elementwise.pow(this, exponent); }
  neg(): Tensor { return elementwise.neg(this); }
  exp(): Tensor { return elementwise.exp(this); }
  log(): Tensor { return elementwise.log(this); }
  sqrt(): Tensor { return elementwise.sqrt(this); }
  rsqrt(): Tensor { return elementwise.rsqrt(this); }
  abs(): Tensor { return elementwise.abs(this); }
  tanh(): Tensor { return elementwise.tanh(this); }
  sigmoid(): Tensor { return elementwise.sigmoid(this); }
  relu(): Tensor { return elementwise.relu(this); }
  leakyRelu(negativeSlope = 0.01): Tensor { return elementwise.leakyRelu(this, negativeSlope); }
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor { return elementwise.gelu(this, approximate); }
  silu(): Tensor { return elementwise.silu(this); }

  // ---- reductions (./ops/reduce.ts) ---------------------------------------------------------
  sum(axis?: number | number[], keepdim = false): Tensor { return reduce.sum(this, axis, keepdim); }
  mean(axis?: number | number[], keepdim = false): Tensor { return reduce.mean(this, axis, keepdim); }
  /** Population variance by default (`unbiased: false`), like LayerNorm uses. */
  var(axis?: number | number[], options: { keepdim?: boolean; unbiased?: boolean } = {}): Tensor { return reduce.variance(this, axis, options); }
  max(axis: number, keepdim = false): { values: Tensor; indices: Tensor } { return reduce.max(this, axis, keepdim); }
  argmax(axis: number, keepdim = false): Tensor { return reduce.max(this, axis, keepdim).indices; }

  // ---- shape (./ops/shape.ts) ---------------------------------------------------------------
  reshape(...shape: number[] | [Shape]): Tensor { return shapeOps.reshape(this, flattenShapeArgs(shape)); }
  view(...shape: number[] | [Shape]): Tensor { return shapeOps.view(this, flattenShapeArgs(shape)); }
  permute(...axes: number[] | [readonly number[]]): Tensor { return shapeOps.permute(this, flattenShapeArgs(axes)); }
  transpose(axis0 = -2, axis1 = -1): Tensor { return shapeOps.transpose(this, axis0, axis1); }
  expand(...shape: number[] | [Shape]): Tensor { return shapeOps.expand(this, flattenShapeArgs(shape)); }
  narrow(axis: number, start: number, length: number): Tensor { return shapeOps.narrow(this, axis, start, length); }
  squeeze(axis?: number): Tensor { return shapeOps.squeeze(this, axis); }
  unsqueeze(axis: number): Tensor { return shapeOps.unsqueeze(this, axis); }
  flatten(startAxis = 0, endAxis = -1): Tensor { return shapeOps.flatten(this, startAxis, endAxis); }
  split(sizeOrSizes: number | number[], axis = 0): Tensor[] { return shapeOps.split(this, sizeOrSizes, axis); }

  // ---- indexing (./ops/indexing.ts) ---------------------------------------------------------
  indexSelect(axis: number, indices: IndexLike): Tensor { return indexing.indexSelect(this, axis, indices); }
  maskedFill(mask: Tensor, value: number): Tensor { return indexing.maskedFill(this, mask, value); }

  // ---- linear algebra and softmax -----------------------------------------------------------
  matmul(other: Tensor): Tensor { return linalg.matmul(this, other); }
  softmax(axis = -1): Tensor { return softmaxOps.softmax(this, axis); }
  logSoftmax(axis = -1): Tensor { return softmaxOps.logSoftmax(this, axis); }
}

export type NestedArray = number | NestedArray[];

/** Indices for gather-like ops: a tensor holding integer values, or a flat integer array. */
export type IndexLike = Tensor | Int32Array | readonly number[];

function flattenShapeArgs(args: number[] | [Shape] | [readonly number[]]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? [...(args[0] as readonly number[])] : (args as number[]);
}

function flattenNested(values: NestedArray): { flat: number[]; dims: number[] } {
  const dims: number[] = [];
  let probe: NestedArray = values;
  while (Array.isArray(probe)) {
    dims.push(probe.length);
    probe = probe[0];
  }
  const flat: number[] = [];
  const walk = (node: NestedArray, axis: number): void => {
    if (axis === dims.length) {
      if (typeof node !== 'number') throw new QkvValueError('Tensor.from: nested arrays are ragged (a number was expected)');
      flat.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== dims[axis]) {
      throw new QkvValueError(`Tensor.from: nested arrays are ragged at depth ${axis} (expected length ${dims[axis]})`);
    }
    for (const child of node) walk(child, axis + 1);
  };
  walk(values, 0);
  return { flat, dims };
}
