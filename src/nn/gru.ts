/**
 * The gated recurrent unit (Cho et al. 2014), from tensor ops so autograd covers it, in PyTorch's
 * convention and parameter names (`weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`, gates stacked
 * in the order r, z, n), so `torch.nn.GRUCell` weights load unchanged:
 *
 *   r  = σ(W_ir x + b_ir + W_hr h + b_hr)          reset gate
 *   z  = σ(W_iz x + b_iz + W_hz h + b_hz)          update gate
 *   n  = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)) candidate
 *   h' = (1 − z) ⊙ n + z ⊙ h
 *
 * Reference: the PyTorch `nn.GRUCell` documentation (the formulas above are copied from it).
 * Legend: B = batch, T = time, I = input width, H = hidden size.
 *
 * `GRU` runs one cell over a sequence, with an optional (B, T) mask: on a padded step the state is
 * carried over unchanged, so the final state of each row is the state after its last real token.
 */
import { QkvShapeError, QkvValueError, formatShape } from '../tensor/errors.ts';
import { matmul } from '../tensor/ops/matmul.ts';
import { stack } from '../tensor/ops/shape.ts';
import { defaultRng, type Rng } from '../tensor/random.ts';
import { Tensor, type DType } from '../tensor/tensor.ts';
import { uniform_ } from './init.ts';
import { Module } from './module.ts';
import { Parameter } from './parameter.ts';

export interface GRUCellOptions {
  /** Learn the two bias vectors (default true, as PyTorch). */
  bias?: boolean;
  rng?: Rng;
  dtype?: DType;
}

/**
 * One GRU step.
 *
 * @example
 * const cell = new GRUCell(16, 32);
 * const h1 = cell.forward(x, h0); // x (B, 16), h0 (B, 32) → (B, 32)
 */
export class GRUCell extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  /** (3H, I): W_ir, W_iz, W_in stacked. */
  weight_ih: Parameter;
  /** (3H, H): W_hr, W_hz, W_hn stacked. */
  weight_hh: Parameter;
  bias_ih: Parameter | null;
  bias_hh: Parameter | null;

  constructor(inputSize: number, hiddenSize: number, options: GRUCellOptions = {}) {
    super();
    for (const [name, value] of [['inputSize', inputSize], ['hiddenSize', hiddenSize]] as const) {
      if (!Number.isInteger(value) || value <= 0) throw new QkvValueError(`GRUCell: ${name} must be a positive integer, got ${value}`);
    }
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    const dtype = options.dtype ?? 'float32';
    const rng = options.rng ?? defaultRng;
    this.weight_ih = new Parameter(Tensor.zeros([3 * hiddenSize, inputSize], { dtype }));
    this.weight_hh = new Parameter(Tensor.zeros([3 * hiddenSize, hiddenSize], { dtype }));
    const withBias = options.bias ?? true;
    this.bias_ih = withBias ? new Parameter(Tensor.zeros([3 * hiddenSize], { dtype })) : null;
    this.bias_hh = withBias ? new Parameter(Tensor.zeros([3 * hiddenSize], { dtype })) : null;
    // PyTorch: every weight and bias ~ U(−1/√H, 1/√H).
    const bound = 1 / Math.sqrt(hiddenSize);
    for (const parameter of [this.weight_ih, this.weight_hh, this.bias_ih, this.bias_hh]) {
      if (parameter !== null) uniform_(parameter, -bound, bound, rng);
    }
  }

  override extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}, bias=${this.bias_ih !== null}`;
  }

  /** x·W_ihᵀ + b_ih for inputs of any leading shape (*, I) → (*, 3H); precomputed once for a whole sequence by `GRU`. */
  projectInput(x: Tensor): Tensor {
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inputSize) {
      throw new QkvShapeError(`GRUCell: expected input (*, ${this.inputSize}), got ${formatShape(x.shape)}`);
    }
    const projected = matmul(x, this.weight_ih.transpose(0, 1)); // (*, I) · (I, 3H) → (*, 3H)
    return this.bias_ih === null ? projected : projected.add(this.bias_ih);
  }

  /** One step from an already projected input (B, 3H) and the state h (B, H) → (B, H). */
  stepProjected(projectedInput: Tensor, h: Tensor): Tensor {
    const H = this.hiddenSize;
    let hidden = matmul(h, this.weight_hh.transpose(0, 1)); // (B, H) · (H, 3H) → (B, 3H)
    if (this.bias_hh !== null) hidden = hidden.add(this.bias_hh);
    const [inputR, inputZ, inputN] = projectedInput.split(H, 1); // 3 × (B, H)
    const [hiddenR, hiddenZ, hiddenN] = hidden.split(H, 1);
    const reset = inputR.add(hiddenR).sigmoid();
    const update = inputZ.add(hiddenZ).sigmoid();
    // The reset gate scales W_hn h + b_hn (PyTorch and cuDNN), not h before the product (the 2014 paper).
    const candidate = inputN.add(reset.mul(hiddenN)).tanh();
    return candidate.add(update.mul(h.sub(candidate))); // (1 − z)·n + z·h, with one product fewer
  }

  /** x (B, I), h (B, H; default zeros) → h' (B, H). */
  forward(x: Tensor, h?: Tensor): Tensor {
    if (x.ndim !== 2) throw new QkvShapeError(`GRUCell: expected x (B, ${this.inputSize}), got ${formatShape(x.shape)}`);
    const state = h ?? Tensor.zeros([x.shape[0], this.hiddenSize], { dtype: this.weight_hh.dtype });
    if (state.ndim !== 2 || state.shape[0] !== x.shape[0] || state.shape[1] !== this.hiddenSize) {
      throw new QkvShapeError(`GRUCell: expected h (${x.shape[0]}, ${this.hiddenSize}), got ${formatShape(state.shape)}`);
    }
    return this.stepProjected(this.projectInput(x), state);
  }
}

export interface GRUForwardResult {
  /** (B, T, H): the state after each step (on padded steps, the carried-over state). */
  outputs: Tensor;
  /** (B, H): the state after each row's last real step. */
  last: Tensor;
}

/**
 * A one-layer GRU over a batch-first sequence (`torch.nn.GRU(batch_first=True)` with one layer;
 * its parameters are the cell's, under `cell.`).
 *
 * @example
 * const gru = new GRU(16, 32);
 * const { outputs, last } = gru.forward(x, { mask }); // x (B, T, 16), mask (B, T) → (B, T, 32), (B, 32)
 */
export class GRU extends Module {
  readonly cell: GRUCell;

  constructor(inputSize: number, hiddenSize: number, options: GRUCellOptions = {}) {
    super();
    this.cell = new GRUCell(inputSize, hiddenSize, options);
  }

  get hiddenSize(): number {
    return this.cell.hiddenSize;
  }

  /** x (B, T, I); `initial` (B, H) defaults to zeros; `mask` (B, T) is 1 for real steps, 0 for padding. */
  forward(x: Tensor, options: { initial?: Tensor; mask?: Tensor | null } = {}): GRUForwardResult {
    if (x.ndim !== 3) throw new QkvShapeError(`GRU: expected x (B, T, ${this.cell.inputSize}), got ${formatShape(x.shape)}`);
    const [B, T] = x.shape;
    const mask = options.mask ?? null;
    if (mask !== null && (mask.ndim !== 2 || mask.shape[0] !== B || mask.shape[1] !== T)) {
      throw new QkvShapeError(`GRU: mask must be (B, T) = (${B}, ${T}), got ${formatShape(mask.shape)}`);
    }
    const projected = this.cell.projectInput(x); // (B, T, 3H), all steps in one matmul
    let h = options.initial ?? Tensor.zeros([B, this.hiddenSize], { dtype: this.cell.weight_hh.dtype });
    const outputs: Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const next = this.cell.stepProjected(projected.narrow(1, t, 1).reshape([B, 3 * this.hiddenSize]), h);
      if (mask === null) {
        h = next;
      } else {
        const keep = mask.narrow(1, t, 1); // (B, 1): 1 takes the new state, 0 carries the old one over
        h = h.add(keep.mul(next.sub(h)));
      }
      outputs.push(h);
    }
    return { outputs: stack(outputs, 1), last: h }; // T × (B, H) → (B, T, H)
  }
}
