/**
 * An ONNX model folder in the layout Transformers.js (and Optimum) read:
 *
 *   config.json              the model's Hugging Face config (model_type gpt2 or llama)
 *   generation_config.json   bos / eos ids
 *   tokenizer.json           the tokenizer; tokenizer_config.json beside it
 *   onnx/model.onnx          the forward graph with KV cache (./onnx-decoder.ts), or with
 *                            `quant`: onnx/model_quantized.onnx (q8, Q8_0 blocks) or
 *                            onnx/model_q4.onnx (q4, Q4_0 blocks), the files Transformers.js
 *                            opens for `dtype: 'q8'` / `'q4'`, weights packed as MatMulNBits
 *
 * Each file is written atomically, the graph first and config.json last, so an interrupted
 * export never leaves a folder that looks complete, and never replaces a good file with half
 * of one.
 *
 * @example
 * exportOnnxFolder('runs/small-onnx', model, tokenizer);
 * // Transformers.js: env.localModelPath = 'runs'; await pipeline('text-generation', 'small-onnx')
 */
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BertModel } from '../models/bert.ts';
import { BertForMaskedLM, BertForPreTraining, BertForSequenceClassification, type AnyBert } from '../models/bert-heads.ts';
import { bertArchitecture, bertConfigToJson } from '../models/bert-folder.ts';
import type { CausalLM } from '../models/causal-lm.ts';
import { GPT } from '../models/gpt.ts';
import { refuseAdaptiveHead } from '../models/gpt-adaptive.ts';
import { gptConfigToJson } from '../models/gpt-folder.ts';
import { Llama } from '../models/llama.ts';
import { llamaConfigToJson } from '../models/llama-folder.ts';
import { quantizeModel } from '../compress/quantize-model.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { tokenizerToJson } from '../tokenizers/tokenizer-json.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { formatJson, writeFileAtomic, writeJsonAtomic } from './atomic.ts';
import { exportOnnxModel } from './onnx-decoder.ts';
import { exportBertOnnx } from './onnx-encoder.ts';

function isBert(model: unknown): model is AnyBert {
  return model instanceof BertModel || model instanceof BertForPreTraining || model instanceof BertForMaskedLM || model instanceof BertForSequenceClassification;
}

/** Where Transformers.js looks for the fp32 graph. */
export const ONNX_MODEL_FILE = join('onnx', 'model.onnx');

/** Weight-only quantised graphs, by Transformers.js dtype: the qkv format and the file it opens. */
export const ONNX_QUANT = {
  q8: { format: 'q8_0', file: join('onnx', 'model_quantized.onnx') },
  q4: { format: 'q4_0', file: join('onnx', 'model_q4.onnx') },
} as const;
export type OnnxQuant = keyof typeof ONNX_QUANT;

/**
 * Writes the folder; returns the files written and their total size. A BERT gets its encoder
 * graph (hidden states, for Transformers.js `feature-extraction`) and a BertTokenizer config.
 * With `quant` (GPT / Llama), the model is quantised IN PLACE (`quantizeModel`, tied head
 * included) and the packed graph is written, so the caller's model is the one the file holds.
 */
export function exportOnnxFolder(dir: string, model: CausalLM | AnyBert, tokenizer: Tokenizer, options: { quant?: OnnxQuant } = {}): { files: string[]; sizeBytes: number } {
  if (!(model instanceof GPT || model instanceof Llama || isBert(model))) throw new QkvValueError(`exportOnnxFolder: no ONNX graph for ${(model as object).constructor.name} (GPT, Llama, BERT)`);
  const quant = options.quant === undefined ? null : ONNX_QUANT[options.quant];
  if (options.quant !== undefined && quant === undefined) throw new QkvValueError(`exportOnnxFolder: quant must be one of ${Object.keys(ONNX_QUANT).join(', ')}, got ${JSON.stringify(options.quant)}`);
  if (quant !== null && isBert(model)) throw new QkvValueError('exportOnnxFolder: quantised ONNX is for GPT and Llama (the BERT graph is float32)');
  if (model instanceof GPT) refuseAdaptiveHead(model.config, 'exportOnnxFolder'); // before quantising in place or writing a file
  if (quant !== null) quantizeModel(model as CausalLM, quant.format);
  const eos = tokenizer.tokenToId('<|endoftext|>');
  const ids = eos === undefined ? {} : { bos_token_id: eos, eos_token_id: eos };
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const files: string[] = [];
  const write = (name: string, data: string | Uint8Array): void => {
    const path = join(dir, name);
    writeFileAtomic(path, data);
    files.push(path);
  };
  if (isBert(model)) write(ONNX_MODEL_FILE, exportBertOnnx(model));
  else write(quant === null ? ONNX_MODEL_FILE : quant.file, exportOnnxModel(model as GPT | Llama, { packQuantized: quant !== null }));
  write('tokenizer.json', formatJson(tokenizerToJson(tokenizer), 'tokenizer.json'));
  if (isBert(model)) {
    write('tokenizer_config.json', formatJson({ tokenizer_class: 'BertTokenizer', model_max_length: model.config.max_position_embeddings, cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', mask_token: '[MASK]', unk_token: '[UNK]' }, 'tokenizer_config.json'));
    writeJsonAtomic(join(dir, 'config.json'), bertConfigToJson(model.config, bertArchitecture(model)));
    files.push(join(dir, 'config.json'));
    return { files, sizeBytes: files.reduce((sum, file) => sum + statSync(file).size, 0) };
  }
  const special = eos === undefined ? {} : { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>' };
  write('tokenizer_config.json', formatJson({ tokenizer_class: 'GPT2Tokenizer', model_max_length: model.contextLength, add_prefix_space: false, ...special }, 'tokenizer_config.json'));
  writeJsonAtomic(join(dir, 'generation_config.json'), ids);
  files.push(join(dir, 'generation_config.json'));
  const config = model instanceof GPT ? gptConfigToJson(model.config, ids) : llamaConfigToJson(model.config, ids);
  writeJsonAtomic(join(dir, 'config.json'), { ...config, use_cache: true });
  files.push(join(dir, 'config.json'));
  return { files, sizeBytes: files.reduce((sum, file) => sum + statSync(file).size, 0) };
}
