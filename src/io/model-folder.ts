/**
 * A model folder, laid out as Hugging Face `save_pretrained` lays it out, so that
 * `GPT2LMHeadModel.from_pretrained(dir)` and `AutoTokenizer.from_pretrained(dir)` read what qkv
 * writes, and qkv reads what they write:
 *
 *   config.json              architecture and sizes (`n_layer`, `n_embd`, …)
 *   model.safetensors        the weights, with metadata {"format": "pt"} (transformers refuses
 *                            safetensors weights whose metadata has another format)
 *   tokenizer.json           the tokenizer (optional)
 *   generation_config.json   default sampling settings (optional)
 *
 * Each file is written atomically, weights first and config.json last, so a first save that was
 * interrupted leaves no config.json and the folder is not taken for a model. Files not given (a
 * tokenizer, a generation config) are left as they are. Training state beside the folder
 * (`optimizer.safetensors`, `trainer_state.json`) is the trainer's: see `src/train/checkpoint.ts`.
 *
 * Tied weights: a state dict may hold the same Tensor under two names (GPT-2's `lm_head.weight`
 * is `wte.weight`). As in Hugging Face, only the first name is saved and nothing records the
 * second: HF GPT-2 checkpoints omit `lm_head.weight`, and the model re-ties it on load from
 * `tie_word_embeddings` in its config. So put the embedding before the head in the state dict.
 *
 * @example
 *   saveModelFolder('out/gpt', { config: { model_type: 'gpt2', n_embd: 128 }, stateDict: model.stateDict() });
 *   const { config, tensors, tokenizer } = loadModelFolder('out/gpt', { requireTokenizer: true });
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { shapesEqual } from '../tensor/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { formatJson, writeFileAtomic, writeJsonAtomic } from './atomic.ts';
import { expectJsonObject, parseJsonText, readJsonObject, type JsonObject } from './config.ts';
import { QkvFileNotFoundError } from './errors.ts';
import {
  loadSafetensors,
  saveSafetensors,
  toTensor,
  type SafeTensorEntry,
  type SafetensorsMetadata,
} from './safetensors.ts';

/** The file names of a model folder (Hugging Face's). */
export const MODEL_FOLDER_FILES = {
  config: 'config.json',
  weights: 'model.safetensors',
  tokenizer: 'tokenizer.json',
  generationConfig: 'generation_config.json',
} as const;

export interface ModelFolderContents {
  /** Written as `config.json`. */
  config: JsonObject;
  /** Parameter name → tensor, in order; a Tensor that appears twice (tied) is saved under its first name only. */
  stateDict: Record<string, Tensor> | Map<string, Tensor>;
  /** `tokenizer.json`: text is written as given, an object as pretty JSON. */
  tokenizerJson?: string | JsonObject;
  /** Written as `generation_config.json`. */
  generationConfig?: JsonObject;
  /** Extra safetensors metadata, added to `{ format: 'pt' }`. */
  metadata?: SafetensorsMetadata;
}

export interface SavedModelFolder {
  /** Paths written, in the order written. */
  files: string[];
  /** Tied names left out of `model.safetensors` → the name saved in their place. */
  tiedNames: Map<string, string>;
}

/** Same storage seen the same way: one parameter under two names. */
function sameTensor(a: Tensor, b: Tensor): boolean {
  return a === b || (a.data === b.data && a.offset === b.offset && shapesEqual(a.shape, b.shape) && shapesEqual(a.strides, b.strides));
}

/** The state dict without the later names of tied tensors, and which names were dropped for which. */
export function untieStateDict(stateDict: Record<string, Tensor> | Map<string, Tensor>): {
  unique: Map<string, Tensor>;
  tiedNames: Map<string, string>;
} {
  const unique = new Map<string, Tensor>();
  const tiedNames = new Map<string, string>();
  const savedByStorage = new Map<Tensor['data'], Array<[string, Tensor]>>();
  const entries = stateDict instanceof Map ? [...stateDict] : Object.entries(stateDict);
  for (const [name, tensor] of entries) {
    const sharing = savedByStorage.get(tensor.data) ?? [];
    const first = sharing.find(([, saved]) => sameTensor(saved, tensor));
    if (first) {
      tiedNames.set(name, first[0]);
      continue;
    }
    sharing.push([name, tensor]);
    savedByStorage.set(tensor.data, sharing);
    unique.set(name, tensor);
  }
  return { unique, tiedNames };
}

/**
 * Writes a model folder (creating the directory): `model.safetensors`, then `tokenizer.json` and
 * `generation_config.json` when given, then `config.json`. Each file is atomic.
 *
 * @example saveModelFolder('out/gpt', { config, stateDict, tokenizerJson: tokenizer.toJSON(), generationConfig: { max_new_tokens: 100 } })
 */
export function saveModelFolder(dir: string, contents: ModelFolderContents): SavedModelFolder {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const { unique, tiedNames } = untieStateDict(contents.stateDict);

  const weightsPath = join(dir, MODEL_FOLDER_FILES.weights);
  // `format` first and always 'pt': transformers refuses to load safetensors weights with any other format.
  saveSafetensors(weightsPath, unique, Object.assign({ format: 'pt' }, contents.metadata, { format: 'pt' }));
  files.push(weightsPath);

  if (contents.tokenizerJson !== undefined) {
    const tokenizerPath = join(dir, MODEL_FOLDER_FILES.tokenizer);
    const text = typeof contents.tokenizerJson === 'string' ? contents.tokenizerJson : formatJson(contents.tokenizerJson, tokenizerPath);
    writeFileAtomic(tokenizerPath, text);
    files.push(tokenizerPath);
  }
  if (contents.generationConfig !== undefined) {
    const generationPath = join(dir, MODEL_FOLDER_FILES.generationConfig);
    writeJsonAtomic(generationPath, contents.generationConfig);
    files.push(generationPath);
  }
  const configPath = join(dir, MODEL_FOLDER_FILES.config);
  writeJsonAtomic(configPath, contents.config);
  files.push(configPath);
  return { files, tiedNames };
}

export interface LoadModelFolderOptions {
  /** Throw (naming the file) when `tokenizer.json` is missing, instead of returning no tokenizer. */
  requireTokenizer?: boolean;
}

export interface LoadedModelFolder {
  config: JsonObject;
  /** The float tensors (F32, F16, BF16 as float32; F64 as float64), in file order. */
  tensors: Map<string, Tensor>;
  /** Integer and BOOL tensors, as read (GPT-2 has none; some checkpoints keep buffers this way). */
  otherTensors: Map<string, SafeTensorEntry>;
  /** `model.safetensors` metadata (`{ format: 'pt' }` from qkv and transformers). */
  metadata: SafetensorsMetadata;
  /** `tokenizer.json` as text (what a tokenizer's `fromJSON` takes) and parsed; absent if the folder has none. */
  tokenizerJson?: string;
  tokenizer?: JsonObject;
  generationConfig?: JsonObject;
}

function missingFileError(dir: string, file: string, hint = ''): QkvFileNotFoundError {
  const names = Object.values(MODEL_FOLDER_FILES).join(', ');
  return new QkvFileNotFoundError(join(dir, file), `missing from the model folder (a model folder holds ${names})${hint}`);
}

/** Why `model.safetensors` is missing, when the folder shows it (sharded or PyTorch-pickle weights). */
function weightsHint(dir: string): string {
  if (existsSync(join(dir, 'model.safetensors.index.json'))) {
    return '; this folder has sharded weights (model.safetensors.index.json), which qkv does not read yet';
  }
  if (existsSync(join(dir, 'pytorch_model.bin'))) {
    return '; this folder has pytorch_model.bin (PyTorch pickle), which qkv does not read: save it with safe_serialization=True';
  }
  return '';
}

/** A model folder's small files, read, and where its weights are (not read). */
export interface ModelFolderFiles extends Omit<LoadedModelFolder, 'tensors' | 'otherTensors' | 'metadata'> {
  /** `dir/model.safetensors`, checked to exist. */
  weightsPath: string;
}

/**
 * Reads everything of a model folder but the weights: `config.json` (required), whether
 * `model.safetensors` is there (required), and `tokenizer.json` and `generation_config.json` when
 * present. For loaders that read the weights straight into a model (`loadSafetensorsInto`).
 *
 * @example const { config, weightsPath } = readModelFolderFiles('out/gpt');
 */
export function readModelFolderFiles(dir: string, options: LoadModelFolderOptions = {}): ModelFolderFiles {
  if (!existsSync(dir)) throw new QkvFileNotFoundError(dir, 'model folder not found');
  if (!statSync(dir).isDirectory()) throw new QkvFileNotFoundError(dir, 'is a file, not a model folder');

  const configPath = join(dir, MODEL_FOLDER_FILES.config);
  if (!existsSync(configPath)) throw missingFileError(dir, MODEL_FOLDER_FILES.config);
  const config = readJsonObject(configPath);

  const weightsPath = join(dir, MODEL_FOLDER_FILES.weights);
  if (!existsSync(weightsPath)) throw missingFileError(dir, MODEL_FOLDER_FILES.weights, weightsHint(dir));

  const files: ModelFolderFiles = { config, weightsPath };
  const tokenizerPath = join(dir, MODEL_FOLDER_FILES.tokenizer);
  if (existsSync(tokenizerPath)) {
    files.tokenizerJson = readFileSync(tokenizerPath, 'utf8');
    files.tokenizer = expectJsonObject(parseJsonText(files.tokenizerJson, tokenizerPath), tokenizerPath);
  } else if (options.requireTokenizer) {
    throw missingFileError(dir, MODEL_FOLDER_FILES.tokenizer);
  }
  const generationPath = join(dir, MODEL_FOLDER_FILES.generationConfig);
  if (existsSync(generationPath)) files.generationConfig = readJsonObject(generationPath);
  return files;
}

/**
 * Reads a model folder: `config.json` and `model.safetensors` must be there (an error names the
 * missing file); `tokenizer.json` and `generation_config.json` are read when present. The tensors
 * are views into one buffer holding the file (see `loadSafetensors`), so this costs the file's
 * size once; to load into a model without even that, see `readModelFolderFiles` and
 * `loadSafetensorsInto`.
 *
 * @example const { config, tensors } = loadModelFolder('out/gpt');
 */
export function loadModelFolder(dir: string, options: LoadModelFolderOptions = {}): LoadedModelFolder {
  const { weightsPath, ...files } = readModelFolderFiles(dir, options);
  const { tensors: entries, metadata } = loadSafetensors(weightsPath);
  const tensors = new Map<string, Tensor>();
  const otherTensors = new Map<string, SafeTensorEntry>();
  for (const [name, entry] of entries) {
    if (entry.data instanceof Float32Array || entry.data instanceof Float64Array) tensors.set(name, toTensor(entry, name));
    else otherTensors.set(name, entry);
  }
  return { ...files, tensors, otherTensors, metadata };
}
