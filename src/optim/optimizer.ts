/**
 * The optimiser base class: parameter groups, per-parameter state, `step()` / `zeroGrad()`,
 * and a state dict that makes a resumed run continue bit for bit.
 *
 * It follows torch.optim.Optimizer. Parameters come as a flat list or as groups that override
 * the defaults (the usual reason: no weight decay for biases and norm gains):
 *
 *   new AdamW([
 *     { params: weights },
 *     { params: biasesAndNorms, weightDecay: 0 },
 *   ], { lr: 3e-4, weightDecay: 0.1 });
 *
 * Each subclass supplies the names of its per-parameter buffers and one update that works on
 * raw typed arrays (`adamUpdate`, `sgdUpdate`, …), so a WebAssembly kernel can replace the
 * loop without touching the bookkeeping here. Parameters are updated in place on `param.data`;
 * a parameter whose `.grad` is null is skipped, and its step count does not advance.
 */
import { givePooled } from '../tensor/buffer-pool.ts';
import { QkvShapeError, QkvValueError, formatShape } from '../tensor/errors.ts';
import { allocate, type Storage, type Tensor } from '../tensor/tensor.ts';

/** Every optimiser has a learning rate; subclasses add their own fields. */
export interface Hyperparameters {
  lr: number;
}

/** A group as the optimiser holds it: the parameters and every hyperparameter, filled in. */
export type ParamGroup<H extends Hyperparameters> = H & { params: Tensor[] };

/** A group as the caller passes it: the parameters and the hyperparameters it overrides. */
export type ParamGroupOptions<H extends Hyperparameters> = Partial<H> & { params: Tensor[] };

/** What the optimiser keeps for one parameter between steps. */
export interface ParameterState {
  /** Steps this parameter has taken (it starts at 0 and the first update sees 1). */
  step: number;
  /** Named buffers of the parameter's size and dtype: `expAvg`, `momentumBuffer`, … */
  buffers: Record<string, Storage>;
}

/**
 * Everything needed to resume: per-parameter state by global parameter index (groups in
 * order, parameters in order within each group; null for a parameter that never stepped) and
 * every group's hyperparameters with its parameters as indices, as in PyTorch.
 */
export interface OptimizerStateDict<H extends Hyperparameters = Hyperparameters> {
  /** The class that wrote it (`AdamW`), so a state dict is not loaded into the wrong optimiser. */
  optimizer: string;
  state: (ParameterState | null)[];
  paramGroups: (H & { params: number[] })[];
}

export abstract class Optimizer<H extends Hyperparameters> {
  readonly paramGroups: ParamGroup<H>[];
  /** The hyperparameters a group gets for the fields it does not set. */
  readonly defaults: H;
  private readonly state = new Map<Tensor, ParameterState>();
  private readonly parameterIndex = new Map<Tensor, number>();

  /**
   * @param params a flat list of parameters (one group), or groups with overrides.
   * @param defaults every hyperparameter; a group's own fields take precedence.
   */
  protected constructor(params: readonly Tensor[] | readonly ParamGroupOptions<H>[], defaults: H) {
    if (params.length === 0) throw new QkvValueError(`${new.target.name}: got an empty parameter list`);
    this.defaults = cloneHyperparameters(defaults) as unknown as H;
    this.paramGroups = [];
    const groupOptions = isTensorList(params) ? [{ params: [...params] } as ParamGroupOptions<H>] : params;
    for (const options of groupOptions) this.addParamGroup(options);
  }

  /**
   * Adds a group of parameters (to unfreeze layers part-way through fine-tuning, say); the
   * fields it leaves out take the optimiser's defaults.
   */
  addParamGroup(options: ParamGroupOptions<H>): void {
    const groupIndex = this.paramGroups.length;
    const group = { ...cloneHyperparameters(this.defaults), ...cloneHyperparameters(options), params: [...options.params] } as ParamGroup<H>;
    if (group.params.length === 0) throw new QkvValueError(`${this.constructor.name}: parameter group ${groupIndex} has no parameters`);
    this.validateGroup(group, groupIndex);
    const seen = new Set<Tensor>();
    group.params.forEach((param, j) => {
      const index = this.parameterIndex.size + j;
      if (this.parameterIndex.has(param) || seen.has(param)) {
        throw new QkvValueError(`${this.constructor.name}: a parameter appears twice (again as parameter ${index}, in group ${groupIndex})`);
      }
      // Updates run over param.data directly, so it must hold exactly the parameter's elements.
      if (!param.isContiguous() || param.offset !== 0 || param.data.length !== param.size) {
        throw new QkvValueError(`${this.constructor.name}: parameter ${index} (shape ${formatShape(param.shape)}) is a view; parameters must own contiguous storage`);
      }
      seen.add(param);
    });
    for (const param of group.params) this.parameterIndex.set(param, this.parameterIndex.size);
    this.paramGroups.push(group);
  }

  /** Names of the per-parameter buffers this group needs (created zero-filled on first use). */
  protected abstract bufferNames(group: H): readonly string[];

  /** Applies one update to `param` in place; `state.step` already counts this step. */
  protected abstract updateParameter(param: Storage, grad: Storage, state: ParameterState, group: H): void;

  /** Throws QkvValueError when a hyperparameter is out of its domain. */
  protected validateGroup(group: H, groupIndex: number): void {
    this.requireNonNegative(group.lr, 'lr', groupIndex);
  }

  /** Updates every parameter that has a gradient. */
  step(): void {
    for (const group of this.paramGroups) {
      for (const param of group.params) {
        if (param.grad === null) continue;
        const grad = this.gradientValues(param, param.grad);
        const state = this.stateFor(param, group);
        state.step += 1;
        this.updateParameter(param.data, grad, state, group);
      }
    }
  }

  /**
   * Drops every parameter's gradient (sets `.grad` to null), so the next backward starts fresh.
   *
   * With `recycle`, each gradient's buffer also goes back to the buffer pool, where the next
   * backward takes it instead of allocating (a bench GPT step otherwise makes ~9 MiB of fresh
   * gradient arrays for the collector). Only for a caller that keeps no `.grad` it read, as the
   * trainer: the next backward overwrites the buffer.
   */
  zeroGrad(options: { recycle?: boolean } = {}): void {
    // No buffer is given twice: the constructor refuses a parameter listed twice, and backward
    // gives each leaf a gradient buffer of its own.
    for (const group of this.paramGroups) {
      for (const param of group.params) {
        const grad = param.grad;
        param.grad = null;
        if (options.recycle === true && grad !== null) givePooled(grad.data);
      }
    }
  }

  /** Learning rate of the first group (the only one, usually). */
  get lr(): number {
    return this.paramGroups[0].lr;
  }

  /** Sets the learning rate of every group. */
  set lr(value: number) {
    for (let g = 0; g < this.paramGroups.length; g++) this.setLr(value, g);
  }

  getLr(groupIndex = 0): number {
    return this.group(groupIndex).lr;
  }

  setLr(value: number, groupIndex = 0): void {
    const group = this.group(groupIndex);
    this.requireNonNegative(value, 'lr', groupIndex);
    group.lr = value;
  }

  /** The state of one parameter (undefined before its first step). Read-only by convention. */
  stateOf(param: Tensor): Readonly<ParameterState> | undefined {
    return this.state.get(param);
  }

  /** A deep copy of the state and hyperparameters; see `OptimizerStateDict`. */
  stateDict(): OptimizerStateDict<H> {
    const state: (ParameterState | null)[] = [];
    const paramGroups: (H & { params: number[] })[] = [];
    for (const group of this.paramGroups) {
      const indices: number[] = [];
      for (const param of group.params) {
        indices.push(state.length);
        const current = this.state.get(param);
        state.push(current === undefined ? null : { step: current.step, buffers: copyBuffers(current.buffers) });
      }
      paramGroups.push({ ...cloneHyperparameters(group), params: indices } as H & { params: number[] });
    }
    return { optimizer: this.constructor.name, state, paramGroups };
  }

  /**
   * Restores state and hyperparameters written by `stateDict()` of the same optimiser class
   * over the same parameters. Everything is checked before anything is changed; a mismatch
   * throws QkvValueError naming the group or parameter index and the sizes.
   */
  loadStateDict(dict: OptimizerStateDict<H>): void {
    const where = `${this.constructor.name}.loadStateDict`;
    if (dict.optimizer !== this.constructor.name) {
      throw new QkvValueError(`${where}: the state dict was written by ${dict.optimizer}, not ${this.constructor.name}`);
    }
    if (dict.paramGroups.length !== this.paramGroups.length) {
      throw new QkvValueError(`${where}: the state dict has ${dict.paramGroups.length} parameter groups, the optimizer has ${this.paramGroups.length}`);
    }
    const total = this.parameterIndex.size;
    if (dict.state.length !== total) {
      throw new QkvValueError(`${where}: the state dict has state for ${dict.state.length} parameters, the optimizer has ${total}`);
    }
    const restoredGroups = dict.paramGroups.map((saved, groupIndex) => {
      const group = this.paramGroups[groupIndex];
      if (saved.params.length !== group.params.length) {
        throw new QkvValueError(`${where}: group ${groupIndex} has ${saved.params.length} parameters in the state dict, ${group.params.length} in the optimizer`);
      }
      group.params.forEach((param, j) => {
        const index = this.parameterIndex.get(param)!;
        if (saved.params[j] !== index) {
          throw new QkvValueError(`${where}: group ${groupIndex} position ${j} is parameter ${saved.params[j]} in the state dict, ${index} in the optimizer`);
        }
      });
      const hyperparameters = cloneHyperparameters(saved) as unknown as H;
      this.validateGroup(hyperparameters, groupIndex);
      return hyperparameters;
    });
    const restoredState = new Map<Tensor, ParameterState>();
    this.paramGroups.forEach((group, groupIndex) => {
      for (const param of group.params) {
        const index = this.parameterIndex.get(param)!;
        const saved = dict.state[index];
        if (saved === null || saved === undefined) continue;
        restoredState.set(param, restoreParameterState(where, param, index, saved, this.bufferNames(restoredGroups[groupIndex])));
      }
    });
    this.paramGroups.forEach((group, groupIndex) => Object.assign(group, restoredGroups[groupIndex]));
    this.state.clear();
    for (const [param, state] of restoredState) this.state.set(param, state);
  }

  protected requireNonNegative(value: number, field: string, groupIndex: number): void {
    if (!(Number.isFinite(value) && value >= 0)) {
      throw new QkvValueError(`${this.constructor.name}: ${field} must be a finite number ≥ 0, got ${value} (group ${groupIndex})`);
    }
  }

  protected requireUnitInterval(value: number, field: string, groupIndex: number): void {
    if (!(value >= 0 && value < 1)) {
      throw new QkvValueError(`${this.constructor.name}: ${field} must be in [0, 1), got ${value} (group ${groupIndex})`);
    }
  }

  private group(groupIndex: number): ParamGroup<H> {
    const group = this.paramGroups[groupIndex];
    if (group === undefined) {
      throw new QkvValueError(`${this.constructor.name}: no parameter group ${groupIndex} (there are ${this.paramGroups.length})`);
    }
    return group;
  }

  private stateFor(param: Tensor, group: H): ParameterState {
    let state = this.state.get(param);
    if (state === undefined) {
      state = { step: 0, buffers: {} };
      this.state.set(param, state);
    }
    // Checked every step: a group may switch on momentum (say) after training has started.
    for (const name of this.bufferNames(group)) {
      if (state.buffers[name] === undefined) state.buffers[name] = allocate(param.dtype, param.size);
    }
    return state;
  }

  private gradientValues(param: Tensor, grad: Tensor): Storage {
    if (grad.size !== param.size) {
      throw new QkvShapeError(
        `${this.constructor.name}.step: parameter ${this.parameterIndex.get(param)} has shape ${formatShape(param.shape)} but its grad has shape ${formatShape(grad.shape)}`,
      );
    }
    return grad.isContiguous() && grad.offset === 0 && grad.data.length === grad.size ? grad.data : grad.contiguousData();
  }
}

/** `defaults` overridden by the fields of `options` that are not undefined. */
export function withDefaults<H extends Hyperparameters>(defaults: H, options: Partial<H>): H {
  return { ...defaults, ...cloneHyperparameters(options) } as H;
}

/** A checked copy of one parameter's saved state, in the parameter's dtype. */
function restoreParameterState(where: string, param: Tensor, index: number, saved: ParameterState, required: readonly string[]): ParameterState {
  if (!Number.isInteger(saved.step) || saved.step < 0) {
    throw new QkvValueError(`${where}: parameter ${index}: step must be a non-negative integer, got ${saved.step}`);
  }
  const savedBuffers = saved.buffers ?? {};
  for (const name of required) {
    // A missing buffer would be recreated as zeros: the run would go on, but not as it was.
    if (savedBuffers[name] === undefined) throw new QkvValueError(`${where}: parameter ${index}: buffer ${name} is missing`);
  }
  const buffers: Record<string, Storage> = {};
  for (const [name, values] of Object.entries(savedBuffers)) {
    if (values.length !== param.size) {
      throw new QkvValueError(
        `${where}: parameter ${index}: buffer ${name} has ${values.length} values, the parameter has ${param.size} (shape ${formatShape(param.shape)})`,
      );
    }
    const copy = allocate(param.dtype, param.size);
    copy.set(values);
    buffers[name] = copy;
  }
  return { step: saved.step, buffers };
}

function isTensorList(params: readonly unknown[]): params is readonly Tensor[] {
  const first = params[0] as { params?: unknown };
  return !Array.isArray(first.params);
}

/** Hyperparameters without `params`, arrays (betas) copied so groups never share them. */
function cloneHyperparameters(source: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(source)) {
    if (key === 'params' || value === undefined) continue;
    out[key] = Array.isArray(value) ? [...value] : value;
  }
  return out;
}

function copyBuffers(buffers: Record<string, Storage>): Record<string, Storage> {
  const out: Record<string, Storage> = {};
  for (const [name, values] of Object.entries(buffers)) out[name] = values.slice();
  return out;
}
