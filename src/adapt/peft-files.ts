/**
 * LoRA adapters on disk in Hugging Face PEFT's layout, so `PeftModel.from_pretrained(base, dir)`
 * reads what qkv writes and qkv reads what PEFT writes:
 *
 *   adapter_config.json          LoraConfig fields (`peft_type: "LORA"`, `r`, `lora_alpha`, …)
 *   adapter_model.safetensors    `base_model.model.<module path>.lora_A.weight` (r, in_features)
 *                                `base_model.model.<module path>.lora_B.weight` (out_features, r)
 *
 * The adapter name is not in the keys (PEFT drops `.default` on save). Weights are written first
 * and the config last, each atomically, so an interrupted save leaves no adapter_config.json.
 *
 * @example
 * saveLoraAdapter('out/adapter', lora, { baseModelNameOrPath: 'runs/small' });
 * const lora2 = loadLoraAdapter(model, 'out/adapter'); // wraps the targets and loads A, B
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../io/atomic.ts';
import { readJsonObject, optionalBoolean, optionalString, requireInteger, requireNumber, type JsonObject } from '../io/config.ts';
import { QkvFileNotFoundError, QkvFormatError } from '../io/errors.ts';
import { loadSafetensors, saveSafetensors, toTensor } from '../io/safetensors.ts';
import type { Module } from '../nn/module.ts';
import { formatShape } from '../tensor/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { LoraModel, validateLoraConfig, type LoraConfig } from './lora.ts';

export const ADAPTER_FILES = { config: 'adapter_config.json', weights: 'adapter_model.safetensors' } as const;

/** PEFT's prefix for a causal LM's modules (`PeftModelForCausalLM.base_model.model`). */
export const PEFT_KEY_PREFIX = 'base_model.model.';

/** PEFT's key for one LoRA matrix: `base_model.model.<path>.lora_A.weight`. */
export function peftKey(modulePath: string, matrix: 'lora_A' | 'lora_B'): string {
  return `${PEFT_KEY_PREFIX}${modulePath}.${matrix}.weight`;
}

/** Adapter `name`'s A and B under PEFT's keys, in module order. */
export function adapterStateDict(lora: LoraModel, name = lora.activeAdapter ?? 'default'): Map<string, Tensor> {
  lora.config(name);
  const out = new Map<string, Tensor>();
  for (const [path, layer] of lora.layers) {
    const a = layer.lora_A.get(name);
    const b = layer.lora_B.get(name);
    if (!a || !b) continue;
    out.set(peftKey(path, 'lora_A'), a.weight.detach()); // (r, in)
    out.set(peftKey(path, 'lora_B'), b.weight.detach()); // (out, r)
  }
  return out;
}

/** The `adapter_config.json` object PEFT writes for a LoRA adapter (every field PEFT 0.13 writes). */
export function adapterConfigJson(config: LoraConfig, options: { fanInFanOut: boolean; baseModelNameOrPath: string | null; taskType?: string }): JsonObject {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: options.baseModelNameOrPath,
    bias: 'none',
    fan_in_fan_out: options.fanInFanOut,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: config.lora_alpha,
    lora_dropout: config.lora_dropout,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    peft_type: 'LORA',
    r: config.r,
    rank_pattern: {},
    revision: null,
    target_modules: config.target_modules,
    task_type: options.taskType ?? 'CAUSAL_LM',
    use_dora: false,
    use_rslora: config.use_rslora ?? false,
  };
}

/** Writes adapter `name` (default: the active one) as a PEFT folder; returns the files written. */
export function saveLoraAdapter(dir: string, lora: LoraModel, options: { adapterName?: string; baseModelNameOrPath?: string | null; taskType?: string } = {}): string[] {
  const name = options.adapterName ?? lora.activeAdapter ?? 'default';
  const config = lora.config(name);
  mkdirSync(dir, { recursive: true });
  const weightsPath = join(dir, ADAPTER_FILES.weights);
  saveSafetensors(weightsPath, adapterStateDict(lora, name), { format: 'pt' });
  const configPath = join(dir, ADAPTER_FILES.config);
  writeJsonAtomic(configPath, adapterConfigJson(config, { fanInFanOut: lora.fanInFanOut, baseModelNameOrPath: options.baseModelNameOrPath ?? null, taskType: options.taskType }));
  return [weightsPath, configPath];
}

/** Reads and checks `adapter_config.json`; anything qkv cannot honour is refused, naming the field. */
export function readAdapterConfig(dir: string): LoraConfig & { base_model_name_or_path: string | null; fan_in_fan_out: boolean } {
  const path = join(dir, ADAPTER_FILES.config);
  if (!existsSync(path)) throw new QkvFileNotFoundError(path, `missing: not a PEFT adapter folder (it holds ${Object.values(ADAPTER_FILES).join(' and ')})`);
  const json = readJsonObject(path);
  const peftType = optionalString(json, 'peft_type', path);
  if (peftType !== 'LORA') throw new QkvFormatError(path, `expected "LORA", found ${JSON.stringify(peftType ?? null)}`, 'field "peft_type"');
  const bias = optionalString(json, 'bias', path) ?? 'none';
  if (bias !== 'none') throw new QkvFormatError(path, `only "none" is supported, found "${bias}"`, 'field "bias"');
  if (optionalBoolean(json, 'use_dora', path)) throw new QkvFormatError(path, 'DoRA adapters are not supported', 'field "use_dora"');
  for (const field of ['rank_pattern', 'alpha_pattern'] as const) {
    const value = json[field];
    if (value !== undefined && value !== null && (typeof value !== 'object' || Object.keys(value).length > 0)) {
      throw new QkvFormatError(path, 'per-layer ranks/alphas are not supported', `field "${field}"`);
    }
  }
  if (json.modules_to_save !== undefined && json.modules_to_save !== null) throw new QkvFormatError(path, 'modules_to_save is not supported', 'field "modules_to_save"');
  const targets = json.target_modules;
  if (!(typeof targets === 'string' || (Array.isArray(targets) && targets.every((t) => typeof t === 'string')))) {
    throw new QkvFormatError(path, 'expected a list of module names or a regular expression', 'field "target_modules"');
  }
  const config = {
    r: requireInteger(json, 'r', path, { min: 1 }),
    lora_alpha: requireNumber(json, 'lora_alpha', path),
    lora_dropout: typeof json.lora_dropout === 'number' ? json.lora_dropout : 0,
    target_modules: targets as string[] | string,
    use_rslora: optionalBoolean(json, 'use_rslora', path) ?? false,
    base_model_name_or_path: optionalString(json, 'base_model_name_or_path', path) ?? null,
    fan_in_fan_out: optionalBoolean(json, 'fan_in_fan_out', path) ?? false,
  };
  validateLoraConfig(config, path);
  return config;
}

/**
 * Adds the adapter in `dir` to `model` (wrapping its targets) as `adapterName` and loads A and B,
 * checking every key and shape against the model before anything is copied; returns the handle
 * with that adapter active. Pass an existing `LoraModel` as `lora` to add a second adapter.
 */
export function loadLoraAdapter(model: Module, dir: string, options: { adapterName?: string; lora?: LoraModel } = {}): LoraModel {
  const config = readAdapterConfig(dir);
  const weightsPath = join(dir, ADAPTER_FILES.weights);
  if (!existsSync(weightsPath)) throw new QkvFileNotFoundError(weightsPath, 'missing from the adapter folder');
  const { tensors } = loadSafetensors(weightsPath);
  const name = options.adapterName ?? 'default';
  const lora = options.lora ?? new LoraModel(model);
  lora.addAdapter(name, { r: config.r, lora_alpha: config.lora_alpha, lora_dropout: config.lora_dropout, target_modules: config.target_modules, use_rslora: config.use_rslora });
  const expected = adapterStateDict(lora, name);
  const problems: string[] = [];
  const missing = [...expected.keys()].filter((key) => !tensors.has(key));
  const unexpected = [...tensors.keys()].filter((key) => !expected.has(key));
  if (missing.length > 0) problems.push(`missing keys: ${missing.join(', ')}`);
  if (unexpected.length > 0) problems.push(`unexpected keys: ${unexpected.join(', ')}`);
  for (const [key, target] of expected) {
    const entry = tensors.get(key);
    if (entry && formatShape(entry.shape) !== formatShape(target.shape)) problems.push(`${key} expected ${formatShape(target.shape)} got ${formatShape(entry.shape)}`);
  }
  if (problems.length > 0) {
    lora.deleteAdapter(name);
    throw new QkvFormatError(weightsPath, problems.join('; '));
  }
  for (const [key, target] of expected) target.data.set(toTensor(tensors.get(key)!, key).contiguousData());
  lora.setAdapter(name);
  return lora;
}
