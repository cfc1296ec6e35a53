/**
 * Quantising a whole causal LM, and quantised model folders.
 *
 * `quantizeModel` replaces every Linear / Conv1D whose in_features is a multiple of the block
 * size by a `QuantizedLinear`; norms and biases stay float32. A tied LM head (GPT-2, tied Llama)
 * becomes a quantised copy of the token embedding, `tied_lm_head`, for the logits (the V×C matmul
 * that reads the whole table every token), and the token lookup moves onto the same packed rows
 * (`QuantizedEmbedding`): the float (V, C) table is dropped (at Q8_0, V·C·34/32 bytes instead of
 * V·C·4; 124M: 41 MB instead of 154 MB). The looked-up rows are then the dequantised ones, as in
 * llama.cpp; `{ embedding: 'float' }` keeps the float table for the lookup instead.
 *
 * A quantised model is inference-only (run it inside noGrad()): its layers have no gradient and a
 * forward with gradients on is refused by name. To fine-tune, train the float model and quantise.
 *
 * A quantised folder is the model's Hugging Face folder with two differences:
 *   config.json         gains `quantization_config: { quant_method: "qkv", format, modules }`
 *                       (modules: layer path → "linear" | "conv1d"; `tied_lm_head` is the
 *                       quantised tied head, (vocab, width))
 *   model.safetensors   holds `<layer>.qweight` as U8 (rows, rowBytes), the packed ggml blocks,
 *                       instead of `<layer>.weight`; no float token embedding when the lookup
 *                       reads the packed head (a folder that has one looks tokens up in it, as
 *                       folders written before did); everything else as before
 * `loadCausalLM` recognises it, so `qkv generate` and `qkv eval` read it like any other folder.
 *
 * @example
 * const { model, tokenizer } = loadCausalLM('runs/small');
 * quantizeModel(model, 'q8_0');
 * saveQuantizedCausalLM('runs/small-q8', model, tokenizer);
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic, formatJson } from '../io/atomic.ts';
import { isJsonObject, type JsonObject } from '../io/config.ts';
import { QkvFormatError } from '../io/errors.ts';
import { loadModelFolder, MODEL_FOLDER_FILES, untieStateDict } from '../io/model-folder.ts';
import { saveSafetensors, type SafeTensorInput } from '../io/safetensors.ts';
import { Conv1D } from '../nn/conv1d.ts';
import type { TokenTable } from '../nn/embedding.ts';
import { Linear } from '../nn/linear.ts';
import type { CausalLM } from '../models/causal-lm.ts';
import { GPT } from '../models/gpt.ts';
import { gptConfigFromJson, gptConfigToJson, normalizeGPTStateDict } from '../models/gpt-folder.ts';
import { Llama } from '../models/llama.ts';
import { llamaConfigFromJson, llamaConfigToJson, normalizeLlamaStateDict } from '../models/llama-folder.ts';
import type { LoadedCausalLM } from '../models/load.ts';
import { QkvValueError } from '../tensor/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { tokenizerFromJson, tokenizerToJson } from '../tokenizers/tokenizer-json.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { isQuantFormat, QUANT_FORMAT_INFO, QUANT_FORMATS, quantizeMatrix, quantizedRowBytes, type QuantFormat } from './formats.ts';
import { QuantizedEmbedding } from './quantized-embedding.ts';
import { QuantizedLinear, type QuantizedLayerKind } from './quantized-linear.ts';

/** `quantization_config.quant_method` of a qkv-quantised folder. */
export const QKV_QUANT_METHOD = 'qkv';

/** Module path of the quantised tied LM head (GPT.tied_lm_head, Llama.tied_lm_head). */
export const TIED_LM_HEAD = 'tied_lm_head';

/** The (vocab, width) token table a tied head projects on, with its module path, or null (untied Llama, adaptive GPT, other models). */
function tiedTable(model: CausalLM): { path: string; table: TokenTable } | null {
  if (model instanceof GPT) return model.adaptive_head === null ? { path: 'transformer.wte', table: model.transformer.wte } : null;
  if (model instanceof Llama) return model.lm_head === null ? { path: 'model.embed_tokens', table: model.model.embed_tokens } : null;
  return null;
}

/**
 * Moves the token lookup of a GPT / tied Llama onto its packed tied head and drops the float
 * table (see `QuantizedEmbedding`); false (nothing changed) when the model has no packed tied head.
 *
 * @example quantizeModel(model, 'q8_0', { embedding: 'float' }); packTokenEmbedding(model); // as the default does
 */
export function packTokenEmbedding(model: CausalLM): boolean {
  const tied = tiedTable(model);
  const head = model instanceof GPT || model instanceof Llama ? model.tied_lm_head : null;
  if (tied === null || !(head instanceof QuantizedLinear)) return false;
  if (!(tied.table instanceof QuantizedEmbedding)) model.setSubmodule(tied.path, new QuantizedEmbedding(head.qweight));
  return true;
}

/** Sets the tied head of a GPT or tied Llama (already checked to have one). */
function setTiedHead(model: CausalLM, head: QuantizedLinear): void {
  if (model instanceof GPT || model instanceof Llama) model.setTiedLmHead(head);
  else throw new QkvValueError(`quantizeModel: ${model.constructor.name} has no tied LM head`);
}

export interface QuantizeReport {
  format: QuantFormat;
  /** Layer paths quantised, with their kind. */
  modules: Record<string, QuantizedLayerKind>;
  /** Layers left in float32 because in_features is not a multiple of the block size. */
  skipped: string[];
  /** Parameters' float32 bytes before, and the model's bytes after (packed weights + float rest). */
  sizeBytesBefore: number;
  sizeBytesAfter: number;
}

/** Bytes of the model's state: float tensors at 4 bytes (tied ones once) plus packed weights. */
export function modelSizeBytes(model: CausalLM): number {
  let bytes = 0;
  for (const tensor of untieStateDict(model.stateDict()).unique.values()) bytes += tensor.size * 4;
  for (const [, module] of model.namedModules()) if (module instanceof QuantizedLinear) bytes += module.qweight.data.byteLength;
  return bytes;
}

/**
 * Replaces the model's Linear and Conv1D layers by quantised ones, in place; returns what was done.
 *
 * @example const report = quantizeModel(model, 'q4_0'); // the layers and the tied embedding shrink to ≈ 0.14 of f32
 * @example quantizeModel(model, 'q8_0', { tiedHead: false }); // logits stay h·Eᵀ in float32, the float table stays
 * @example quantizeModel(model, 'q8_0', { embedding: 'float' }); // packed head, float table kept for the lookup
 */
export function quantizeModel(model: CausalLM, format: QuantFormat, options: { tiedHead?: boolean; embedding?: 'packed' | 'float' } = {}): QuantizeReport {
  if (!isQuantFormat(format)) throw new QkvValueError(`quantizeModel: format must be one of ${QUANT_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  const sizeBytesBefore = modelSizeBytes(model);
  const modules: Record<string, QuantizedLayerKind> = {};
  const skipped: string[] = [];
  const { blockSize } = QUANT_FORMAT_INFO[format];
  for (const [name, module] of model.namedModules()) {
    if (!(module instanceof Linear || module instanceof Conv1D)) continue;
    if (module.inFeatures % blockSize !== 0) {
      skipped.push(name);
      continue;
    }
    const quantized = module instanceof Linear ? QuantizedLinear.fromLinear(module, format) : QuantizedLinear.fromConv1D(module, format);
    model.setSubmodule(name, quantized);
    modules[name] = quantized.kind;
  }
  const tied = options.tiedHead === false ? null : tiedTable(model);
  if (tied !== null) {
    const { numEmbeddings: V, embeddingDim: C } = tied.table;
    if (C % blockSize !== 0) skipped.push(TIED_LM_HEAD);
    else {
      // (V, C) is already the (out, in) row layout the head needs: logits = h·Eᵀ
      setTiedHead(model, new QuantizedLinear(quantizeMatrix(format, tied.table.weight.contiguousData(), V, C), null, 'linear'));
      modules[TIED_LM_HEAD] = 'linear';
      if (options.embedding !== 'float') packTokenEmbedding(model);
    }
  }
  return { format, modules, skipped, sizeBytesBefore, sizeBytesAfter: modelSizeBytes(model) };
}

/** The quantised layers of a model, by path. */
export function quantizedLayers(model: CausalLM): Map<string, QuantizedLinear> {
  const out = new Map<string, QuantizedLinear>();
  for (const [name, module] of model.namedModules()) if (module instanceof QuantizedLinear) out.set(name, module);
  return out;
}

function architectureConfig(model: CausalLM, tokenizer: Tokenizer): { config: JsonObject; ids: JsonObject } {
  const eos = tokenizer.tokenToId('<|endoftext|>');
  const ids = eos === undefined ? {} : { bos_token_id: eos, eos_token_id: eos };
  if (model instanceof GPT) return { config: gptConfigToJson(model.config, ids), ids };
  if (model instanceof Llama) return { config: llamaConfigToJson(model.config, ids), ids };
  throw new QkvValueError(`saveQuantizedCausalLM: no folder format for ${model.constructor.name} (supported: GPT, Llama)`);
}

/** Writes a quantised model folder (each file atomically, config.json last); returns the paths. */
export function saveQuantizedCausalLM(dir: string, model: CausalLM, tokenizer: Tokenizer, generationConfig: JsonObject = {}): string[] {
  const layers = quantizedLayers(model);
  if (layers.size === 0) throw new QkvValueError('saveQuantizedCausalLM: the model has no quantised layers (call quantizeModel first)');
  const formats = new Set([...layers.values()].map((layer) => layer.format));
  if (formats.size !== 1) throw new QkvValueError(`saveQuantizedCausalLM: one format per folder, found ${[...formats].join(', ')}`);
  const format = [...formats][0];
  mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, SafeTensorInput>(untieStateDict(model.stateDict()).unique);
  for (const [name, layer] of layers) {
    const { rows, cols, data } = layer.qweight;
    tensors.set(`${name}.qweight`, { dtype: 'U8', shape: [rows, quantizedRowBytes(format, cols)], data });
  }
  const files: string[] = [];
  const weightsPath = join(dir, MODEL_FOLDER_FILES.weights);
  saveSafetensors(weightsPath, tensors, { format: 'pt', quantization: format });
  files.push(weightsPath);
  const tokenizerPath = join(dir, MODEL_FOLDER_FILES.tokenizer);
  writeFileAtomic(tokenizerPath, formatJson(tokenizerToJson(tokenizer), tokenizerPath));
  files.push(tokenizerPath);
  const { config, ids } = architectureConfig(model, tokenizer);
  const generationPath = join(dir, MODEL_FOLDER_FILES.generationConfig);
  writeJsonAtomic(generationPath, { ...ids, ...generationConfig });
  files.push(generationPath);
  const modules = Object.fromEntries([...layers].map(([name, layer]) => [name, layer.kind]));
  const configPath = join(dir, MODEL_FOLDER_FILES.config);
  writeJsonAtomic(configPath, { ...config, quantization_config: { quant_method: QKV_QUANT_METHOD, format, modules } });
  files.push(configPath);
  return files;
}

/** True when config.json says the folder was quantised by qkv. */
export function isQuantizedConfig(config: JsonObject): boolean {
  const quantization = config.quantization_config;
  return isJsonObject(quantization) && quantization.quant_method === QKV_QUANT_METHOD;
}

/** Reads a folder written by `saveQuantizedCausalLM`; errors name the file and the tensor. */
export function loadQuantizedCausalLM(dir: string): LoadedCausalLM {
  const folder = loadModelFolder(dir, { requireTokenizer: true });
  const configPath = join(dir, MODEL_FOLDER_FILES.config);
  const weightsPath = join(dir, MODEL_FOLDER_FILES.weights);
  const quantization = folder.config.quantization_config;
  if (!isJsonObject(quantization) || !isQuantFormat(quantization.format) || !isJsonObject(quantization.modules)) {
    throw new QkvFormatError(configPath, `expected { quant_method: "qkv", format: one of ${QUANT_FORMATS.join(', ')}, modules: {…} }`, 'quantization_config');
  }
  const format = quantization.format;
  const modelType = folder.config.model_type ?? 'gpt2';
  let model: GPT | Llama;
  let tensors: Map<string, Tensor>;
  if (modelType === 'gpt2') {
    model = new GPT(gptConfigFromJson(folder.config, configPath));
    tensors = normalizeGPTStateDict(folder.tensors);
  } else if (modelType === 'llama') {
    const config = llamaConfigFromJson(folder.config, configPath);
    model = new Llama(config);
    tensors = normalizeLlamaStateDict(folder.tensors, config);
  } else {
    throw new QkvFormatError(configPath, `${JSON.stringify(modelType)} is not supported for quantised folders (gpt2, llama)`, 'model_type');
  }
  for (const [name, kind] of Object.entries(quantization.modules)) {
    if (kind !== 'linear' && kind !== 'conv1d') throw new QkvFormatError(configPath, `module "${name}" has kind ${JSON.stringify(kind)}; expected "linear" or "conv1d"`, 'quantization_config.modules');
    // GPT-2 names gain the `transformer.` prefix on load, as the float tensors do
    const key = `${name}.qweight`;
    const entry = folder.otherTensors.get(key) ?? folder.otherTensors.get(key.replace(/^transformer\./, ''));
    if (entry === undefined || entry.dtype !== 'U8' || entry.shape.length !== 2) {
      throw new QkvFormatError(weightsPath, `missing, or not a U8 (rows, rowBytes) tensor, for the ${format} layer "${name}"`, `tensor "${key}"`);
    }
    const isTiedHead = name === TIED_LM_HEAD;
    const tied = isTiedHead ? tiedTable(model) : null;
    if (isTiedHead && tied === null) throw new QkvFormatError(configPath, `"${name}" is listed but the model has no tied LM head`, 'quantization_config.modules');
    const original = isTiedHead ? null : model.getSubmodule(name) as Linear | Conv1D;
    const rows = original?.outFeatures ?? tied!.table.numEmbeddings;
    const cols = original?.inFeatures ?? tied!.table.embeddingDim;
    const rowBytes = quantizedRowBytes(format, cols, name);
    if (entry.shape[0] !== rows || entry.shape[1] !== rowBytes) {
      throw new QkvFormatError(weightsPath, `shape (${entry.shape.join(',')}) but ${format} (${rows}, ${cols}) needs (${rows},${rowBytes})`, `tensor "${key}"`);
    }
    const bias = tensors.get(`${name}.bias`) ?? null;
    const layer = new QuantizedLinear({ format, rows, cols, data: entry.data }, bias, kind);
    if (isTiedHead) setTiedHead(model, layer);
    else model.setSubmodule(name, layer);
  }
  // the lookup reads the packed head unless the folder holds a float table (folders written before)
  const tied = tiedTable(model);
  if (tied !== null && !tensors.has(`${tied.path}.weight`)) packTokenEmbedding(model);
  model.loadStateDict(tensors);
  const tokenizer = tokenizerFromJson(folder.tokenizer, join(dir, MODEL_FOLDER_FILES.tokenizer));
  return { model, tokenizer, generationConfig: folder.generationConfig ?? {} };
}
