/**
 * One LoRA-wrapped layer and the LoRA config (see lora.ts for the model-level handle).
 *
 * LoRA (Hu et al. 2021), as Hugging Face PEFT does it: a frozen layer W plus a low-rank update,
 *
 *   y = W x + b + (α/r)·B(A(dropout(x)))        A (r, in) Kaiming-uniform, B (out, r) zeros,
 *
 * so the adapted model starts exactly equal to the base and only A and B are trained
 * (r·(in + out) parameters per wrapped layer instead of in·out).
 *
 * Legend: in = in_features, out = out_features, r = rank, α = lora_alpha.
 *
 * `applyLora` wraps the target layers (Linear, as in Llama/BERT, or GPT-2's Conv1D whose weight
 * is stored (in, out): PEFT's `fan_in_fan_out`) in place with a `LoraLayer`. The wrapper keeps the
 * base layer's own `weight`/`bias` Parameters under the same names, so `model.stateDict()` still
 * has `transformer.h.0.attn.c_attn.weight`, and adds PEFT's in-memory names
 * `…c_attn.lora_A.<adapter>.weight` / `…lora_B.<adapter>.weight`. Several adapters can live on
 * the same layers; one is active at a time, and all can be switched off (the base model, e.g. as
 * DPO's reference with no second copy in memory). The layer's forward is the one forward, so the
 * KV-cache generation path sees the adapter like any other.
 *
 * @example
 * const layer = new LoraLayer(new Linear(64, 64));
 * layer.addAdapter('default', { r: 4, lora_alpha: 8, lora_dropout: 0, target_modules: ['q_proj'] });
 * layer.forward(x); // equal to the Linear's output until B is trained
 */
import { QkvValueError } from '../tensor/errors.ts';
import { noGrad } from '../tensor/autograd.ts';
import { biasGelu } from '../tensor/ops/fused.ts';
import { matmul } from '../tensor/ops/matmul.ts';
import { defaultRng, type Rng } from '../tensor/random.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { Conv1D } from '../nn/conv1d.ts';
import { Dropout } from '../nn/dropout.ts';
import { zeros_ } from '../nn/init.ts';
import { Linear } from '../nn/linear.ts';
import { Module } from '../nn/module.ts';
import type { Parameter } from '../nn/parameter.ts';

/** PEFT's `LoraConfig` fields that qkv uses (names as in `adapter_config.json`). */
export interface LoraConfig {
  /** Rank r of the update (PEFT default 8). */
  r: number;
  /** α: the update is scaled by α/r (PEFT default 8; 2r is a common choice). */
  lora_alpha: number;
  /** Dropout on the adapter's input only (PEFT default 0). */
  lora_dropout: number;
  /**
   * Which layers to wrap: a list of names matched against the end of each module path
   * (`c_attn` matches `transformer.h.0.attn.c_attn`), or one regular expression that must match
   * the whole path (PEFT's rule for a string).
   */
  target_modules: string[] | string;
  /** Scale by α/√r instead of α/r (rsLoRA); default false. */
  use_rslora?: boolean;
}

export const LORA_DEFAULTS: Omit<LoraConfig, 'target_modules'> = { r: 8, lora_alpha: 16, lora_dropout: 0.05 };

/** PEFT's default `target_modules` per `model_type` (its TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING). */
export const PEFT_DEFAULT_TARGET_MODULES: Readonly<Record<string, readonly string[]>> = {
  gpt2: ['c_attn'],
  llama: ['q_proj', 'v_proj'],
  bert: ['query', 'value'],
};

/** α/r, or α/√r with rsLoRA. */
export function loraScaling(config: Pick<LoraConfig, 'r' | 'lora_alpha' | 'use_rslora'>): number {
  return config.use_rslora ? config.lora_alpha / Math.sqrt(config.r) : config.lora_alpha / config.r;
}

export function validateLoraConfig(config: LoraConfig, where = 'LoraConfig'): void {
  if (!Number.isInteger(config.r) || config.r <= 0) throw new QkvValueError(`${where}: r must be a positive integer, got ${config.r}`);
  if (!Number.isFinite(config.lora_alpha) || config.lora_alpha <= 0) throw new QkvValueError(`${where}: lora_alpha must be > 0, got ${config.lora_alpha}`);
  if (!(config.lora_dropout >= 0 && config.lora_dropout < 1)) throw new QkvValueError(`${where}: lora_dropout must be in [0, 1), got ${config.lora_dropout}`);
  const targets = config.target_modules;
  if (typeof targets !== 'string' && (!Array.isArray(targets) || targets.length === 0)) {
    throw new QkvValueError(`${where}: target_modules must be a non-empty list of names or a regular expression`);
  }
}

/** PEFT's `check_target_module_exists`: a string is a full-match regex, a list matches by suffix. */
export function matchesTarget(path: string, targets: string[] | string): boolean {
  if (typeof targets === 'string') return new RegExp(`^(?:${targets})$`).test(path);
  return targets.some((target) => path === target || path.endsWith(`.${target}`));
}

/** Named submodules keyed by adapter name (PEFT's `ModuleDict`): `lora_A.default`, `lora_A.safety`. */
export class AdapterDict<M extends Module> extends Module {
  readonly #entries = new Map<string, M>();

  get(name: string): M | undefined {
    return this.#entries.get(name);
  }
  set(name: string, module: M): void {
    this.#entries.set(name, module);
  }
  delete(name: string): boolean {
    return this.#entries.delete(name);
  }
  names(): string[] {
    return [...this.#entries.keys()];
  }
  override namedChildren(): [string, Module][] {
    return [...this.#entries];
  }
}

/** The layers LoRA can wrap. */
export type LoraTarget = Linear | Conv1D;

/**
 * A Linear or Conv1D with LoRA adapters: the base layer's `weight`/`bias` (frozen, shared with
 * it), `lora_A.<name>` (in → r) and `lora_B.<name>` (r → out) per adapter.
 */
export class LoraLayer extends Module {
  /** The base layer's own Parameter: (out, in) for Linear, (in, out) for Conv1D. */
  weight: Parameter;
  bias: Parameter | null;
  readonly lora_A = new AdapterDict<Linear>();
  readonly lora_B = new AdapterDict<Linear>();
  readonly lora_dropout = new AdapterDict<Dropout>();
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** True for Conv1D: W is stored (in, out), so the update B·A is added transposed. */
  readonly fanInFanOut: boolean;
  /** The adapter used by forward; null: the base layer only (adapters disabled). */
  activeAdapter: string | null = null;
  readonly #scaling = new Map<string, number>();
  /** Adapters whose update is currently added into `weight`. */
  readonly #merged = new Set<string>();
  readonly #base: LoraTarget;

  constructor(base: LoraTarget) {
    super();
    this.#base = base;
    this.weight = base.weight;
    this.bias = base.bias;
    this.inFeatures = base.inFeatures;
    this.outFeatures = base.outFeatures;
    this.fanInFanOut = base instanceof Conv1D;
    this.train(base.training); // the wrapper joins the model in its current mode
  }

  /** The wrapped layer (its weight holds any merged update). */
  get baseLayer(): LoraTarget {
    return this.#base;
  }

  get mergedAdapters(): string[] {
    return [...this.#merged];
  }

  /** Adds adapter `name`: A Kaiming-uniform (a = √5, PEFT's `reset_lora_parameters`), B zeros. */
  addAdapter(name: string, config: LoraConfig, rng: Rng = defaultRng): void {
    if (this.lora_A.get(name) !== undefined) throw new QkvValueError(`LoraLayer: adapter '${name}' already exists`);
    const loraA = new Linear(this.inFeatures, config.r, { bias: false, rng, dtype: this.weight.dtype }); // Linear's init is kaiming_uniform(a=√5)
    const loraB = new Linear(config.r, this.outFeatures, { bias: false, rng, dtype: this.weight.dtype });
    zeros_(loraB.weight);
    this.lora_A.set(name, loraA);
    this.lora_B.set(name, loraB);
    // The new modules take the layer's mode: an adapter added to a model in eval mode must not drop.
    for (const module of [loraA, loraB, this.lora_A, this.lora_B, this.lora_dropout]) module.training = this.training;
    const dropout = new Dropout(config.lora_dropout);
    dropout.training = this.training;
    this.lora_dropout.set(name, dropout);
    this.#scaling.set(name, loraScaling(config));
    if (this.activeAdapter === null) this.activeAdapter = name;
  }

  deleteAdapter(name: string): void {
    if (this.#merged.has(name)) throw new QkvValueError(`LoraLayer: unmerge adapter '${name}' before deleting it`);
    this.lora_A.delete(name);
    this.lora_B.delete(name);
    this.lora_dropout.delete(name);
    this.#scaling.delete(name);
    if (this.activeAdapter === name) this.activeAdapter = null;
  }

  scaling(name: string): number {
    const scale = this.#scaling.get(name);
    if (scale === undefined) throw new QkvValueError(`LoraLayer: no adapter named '${name}' (have: ${this.lora_A.names().join(', ') || 'none'})`);
    return scale;
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, fan_in_fan_out=${this.fanInFanOut}, active=${this.activeAdapter}`;
  }

  /** x (*, in) → (*, out). */
  forward(x: Tensor): Tensor {
    const out = this.addUpdate(x, this.baseMatmul(x));
    return this.bias === null ? out : out.add(this.bias);
  }

  /** Conv1D's fused `forward` + tanh GELU (GPT-2's MLP calls it on c_fc), with the update inside. */
  forwardGelu(x: Tensor): Tensor {
    const preActivation = this.addUpdate(x, this.baseMatmul(x));
    return this.bias === null ? preActivation.gelu('tanh') : biasGelu(preActivation, this.bias);
  }

  private baseMatmul(x: Tensor): Tensor {
    return this.fanInFanOut ? matmul(x, this.weight) : matmul(x, this.weight.transpose(0, 1)); // (*, in) → (*, out)
  }

  /** y + (α/r)·B(A(dropout(x))) for the active adapter, unless it is off or already merged into W. */
  private addUpdate(x: Tensor, y: Tensor): Tensor {
    const name = this.activeAdapter;
    if (name === null || this.#merged.has(name)) return y;
    const loraA = this.lora_A.get(name)!;
    const loraB = this.lora_B.get(name)!;
    const update = loraB.forward(loraA.forward(this.lora_dropout.get(name)!.forward(x))); // (*, in) → (*, r) → (*, out)
    return y.add(update.mul(this.scaling(name)));
  }

  /** (α/r)·B·A laid out as `weight`: (out, in), or (in, out) for fan_in_fan_out. */
  deltaWeight(name: string): Tensor {
    return noGrad(() => {
      const delta = matmul(this.lora_B.get(name)!.weight, this.lora_A.get(name)!.weight).mul(this.scaling(name)); // (out, r)·(r, in)
      return this.fanInFanOut ? delta.transpose(0, 1).contiguous() : delta;
    });
  }

  /** W ← W + (α/r)·B·A (in place; the base layer sees it). */
  merge(name: string): void {
    if (this.#merged.has(name)) return;
    this.addToWeight(this.deltaWeight(name), 1);
    this.#merged.add(name);
  }

  /** W ← W − (α/r)·B·A, undoing `merge`. */
  unmerge(name: string): void {
    if (!this.#merged.has(name)) return;
    this.addToWeight(this.deltaWeight(name), -1);
    this.#merged.delete(name);
  }

  private addToWeight(delta: Tensor, sign: 1 | -1): void {
    const values = delta.contiguousData();
    const weight = this.weight.data; // dense from offset 0 (see parameter.ts)
    for (let i = 0; i < weight.length; i++) weight[i] += sign * values[i];
  }
}

