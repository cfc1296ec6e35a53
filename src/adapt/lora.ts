/**
 * The model-level LoRA handle: wraps target layers by name or regex (PEFT's rule), adds,
 * switches, disables and deletes adapters, counts and freezes parameters, merges and unloads.
 * The layer itself (y = W x + b + (α/r)·B(A(dropout(x)))) is in lora-layer.ts.
 *
 * @example
 * const lora = applyLora(model, { r: 8, lora_alpha: 16, lora_dropout: 0.05, target_modules: ['c_attn'] });
 * lora.trainableParameters(); // 4·r·C per block for GPT-2's c_attn (C → 3C)
 * lora.withAdaptersDisabled(() => model.forward(ids)); // the base model's logits
 * lora.mergeAndUnload(); // a plain model again, W ← W + (α/r)·B·A
 */
import { QkvValueError } from '../tensor/errors.ts';
import { defaultRng, type Rng } from '../tensor/random.ts';
import { Conv1D } from '../nn/conv1d.ts';
import { Linear } from '../nn/linear.ts';
import type { Module } from '../nn/module.ts';
import type { Parameter } from '../nn/parameter.ts';
import { LoraLayer, matchesTarget, validateLoraConfig, type LoraConfig } from './lora-layer.ts';

export * from './lora-layer.ts';

/** Every wrapped layer of a model, by module path, and the adapters on them. */
export class LoraModel {
  readonly #layers = new Map<string, LoraLayer>();
  readonly #configs = new Map<string, LoraConfig>();
  #active: string | null = null;
  #disabled = false;

  constructor(readonly model: Module) {
    for (const [path, module] of model.namedModules()) if (module instanceof LoraLayer) this.#layers.set(path, module);
  }

  /** Module paths of the wrapped layers (`transformer.h.0.attn.c_attn`, …). */
  get layerPaths(): string[] {
    return [...this.#layers.keys()];
  }
  get layers(): ReadonlyMap<string, LoraLayer> {
    return this.#layers;
  }
  get adapterNames(): string[] {
    return [...this.#configs.keys()];
  }
  get activeAdapter(): string | null {
    return this.#active;
  }
  config(name: string): LoraConfig {
    const config = this.#configs.get(name);
    if (config === undefined) throw new QkvValueError(`LoraModel: no adapter named '${name}' (have: ${this.adapterNames.join(', ') || 'none'})`);
    return config;
  }
  /** True when some wrapped layer is a Conv1D (GPT-2), recorded as PEFT's `fan_in_fan_out`. */
  get fanInFanOut(): boolean {
    return [...this.#layers.values()].some((layer) => layer.fanInFanOut);
  }

  /**
   * Adds adapter `name` on every layer whose path matches `config.target_modules`, wrapping
   * layers not wrapped yet; the new adapter becomes active. Throws naming the targets when
   * nothing matches, or when a match is neither a Linear nor a Conv1D.
   */
  addAdapter(name: string, config: LoraConfig, options: { rng?: Rng } = {}): this {
    validateLoraConfig(config);
    if (this.#configs.has(name)) throw new QkvValueError(`LoraModel: adapter '${name}' already exists`);
    const matched: string[] = [];
    for (const [path, module] of this.model.namedModules()) {
      if (path === '' || /\.lora_(A|B|dropout)(\.|$)/.test(path) || !matchesTarget(path, config.target_modules)) continue;
      if (module instanceof LoraLayer) matched.push(path);
      else if (module instanceof Linear || module instanceof Conv1D) {
        this.model.setSubmodule(path, new LoraLayer(module));
        matched.push(path);
      } else {
        throw new QkvValueError(`LoRA: target '${path}' is a ${module.constructor.name}; only Linear and Conv1D layers can be adapted`);
      }
    }
    if (matched.length === 0) {
      throw new QkvValueError(`LoRA: target modules ${JSON.stringify(config.target_modules)} not found in the model (layers: ${this.adaptableLayerNames().join(', ')})`);
    }
    const rng = options.rng ?? defaultRng;
    for (const path of matched) {
      const layer = this.model.getSubmodule(path) as LoraLayer;
      this.#layers.set(path, layer);
      layer.addAdapter(name, config, rng);
    }
    this.#configs.set(name, { ...config });
    this.setAdapter(name);
    return this;
  }

  /** Distinct last names of the Linear/Conv1D layers, for error messages and `--target` help. */
  adaptableLayerNames(): string[] {
    const names = new Set<string>();
    for (const [path, module] of this.model.namedModules()) {
      if (module instanceof Linear || module instanceof Conv1D || module instanceof LoraLayer) {
        if (!/\.lora_(A|B)\./.test(path)) names.add(path.split('.').pop()!);
      }
    }
    return [...names];
  }

  /** Makes `name` the adapter every wrapped layer uses (and re-enables adapters). */
  setAdapter(name: string): void {
    this.config(name);
    for (const layer of this.#layers.values()) layer.activeAdapter = layer.lora_A.get(name) ? name : null;
    this.#active = name;
    this.#disabled = false;
  }

  /** Base model only: every adapter off (merged adapters must be unmerged first). */
  disableAdapters(): void {
    for (const layer of this.#layers.values()) {
      if (layer.mergedAdapters.length > 0) throw new QkvValueError('LoraModel: unmerge the adapters before disabling them (a merged update is part of W)');
      layer.activeAdapter = null;
    }
    this.#disabled = true;
  }

  enableAdapters(): void {
    if (this.#active !== null) this.setAdapter(this.#active);
  }

  get adaptersDisabled(): boolean {
    return this.#disabled;
  }

  /** Runs `fn` on the base model (adapters off), then restores them: DPO's reference without a copy. */
  withAdaptersDisabled<T>(fn: () => T): T {
    const wasDisabled = this.#disabled;
    this.disableAdapters();
    try {
      return fn();
    } finally {
      if (!wasDisabled) this.enableAdapters();
    }
  }

  deleteAdapter(name: string): void {
    this.config(name);
    for (const layer of this.#layers.values()) if (layer.lora_A.get(name)) layer.deleteAdapter(name);
    this.#configs.delete(name);
    if (this.#active === name) this.#active = null;
  }

  /** A and B of adapter `name` (or the active one), in module order. */
  adapterParameters(name = this.#active): Parameter[] {
    if (name === null) return [];
    const out: Parameter[] = [];
    for (const layer of this.#layers.values()) {
      const a = layer.lora_A.get(name);
      const b = layer.lora_B.get(name);
      if (a && b) out.push(a.weight, b.weight);
    }
    return out;
  }

  /** Σ over wrapped layers of r·(in + out): the adapter's parameter count. */
  trainableParameters(name = this.#active): number {
    return this.adapterParameters(name).reduce((total, parameter) => total + parameter.size, 0);
  }

  /** Freezes everything but the active adapter's A and B (PEFT's `mark_only_lora_as_trainable`). */
  markOnlyAdapterTrainable(): void {
    this.model.requiresGrad_(false);
    for (const parameter of this.adapterParameters()) parameter.requiresGrad = true;
  }

  /** Adds the active adapter's update into each W; forward then skips it (same output, faster). */
  merge(name = this.#active): void {
    if (name === null) throw new QkvValueError('LoraModel: no adapter to merge');
    for (const layer of this.#layers.values()) if (layer.lora_A.get(name)) layer.merge(name);
  }

  /** Subtracts every merged update from W again. */
  unmerge(): void {
    for (const layer of this.#layers.values()) for (const name of layer.mergedAdapters) layer.unmerge(name);
  }

  /**
   * Merges the active adapter and puts the plain base layers back (PEFT's `merge_and_unload`):
   * the model is an ordinary model again, with W + (α/r)·B·A, and saves as a plain folder.
   */
  mergeAndUnload(): Module {
    if (this.#active !== null && !this.#disabled) this.merge(this.#active);
    for (const [path, layer] of this.#layers) {
      // The wrapper's Parameters are the ones kept up to date (Module.to() may have replaced them).
      const base = layer.baseLayer;
      base.weight = layer.weight;
      if (layer.bias !== null) base.bias = layer.bias;
      this.model.setSubmodule(path, base);
    }
    this.#layers.clear();
    this.#configs.clear();
    this.#active = null;
    return this.model;
  }
}

/**
 * Wraps `model`'s target layers with a new LoRA adapter and freezes everything else, returning
 * the handle that switches, merges and saves adapters.
 *
 * @example const lora = applyLora(llama, { r: 4, lora_alpha: 8, lora_dropout: 0, target_modules: ['q_proj', 'v_proj'] });
 */
export function applyLora(model: Module, config: LoraConfig, options: { adapterName?: string; rng?: Rng } = {}): LoraModel {
  const lora = new LoraModel(model);
  lora.addAdapter(options.adapterName ?? 'default', config, { rng: options.rng });
  lora.markOnlyAdapterTrainable();
  return lora;
}
