/**
 * qkv models as GGUF files for llama.cpp, and back: llama.cpp's tensor names and metadata for
 * the `gpt2` and `llama` architectures (as `convert_hf_to_gguf.py` writes them), the tokenizer
 * included (`tokenizer.ggml.*`, model "gpt2" = byte-level BPE, plus the whole tokenizer.json
 * under `tokenizer.huggingface.json`).
 *
 * Layout changes on the way (undone on the way back):
 * - GPT-2's Conv1D weights (in, out) are transposed to ggml's (out, in) rows.
 * - Llama's q_proj / k_proj rows are permuted per head from Hugging Face's rotate-half RoPE
 *   pairing (i, i + hs/2) to ggml's interleaved pairs (2i, 2i + 1), as convert_hf_to_gguf.py's
 *   `LlamaModel.permute` does.
 * Norms and biases stay F32 (llama.cpp requires it); 2-D weights take the requested type where
 * ne[0] is a multiple of 32, else stay F32. A layer already quantised by qkv in the requested
 * format is copied block for block (the bytes are ggml's).
 *
 * @example
 * exportGguf('model-q8_0.gguf', model, tokenizer, { type: 'q8_0' });
 * const { model: back, tokenizer: tok } = loadGgufModel('model-q8_0.gguf'); // Q8_0 layers stay packed
 *
 * A packed Q8_0 / Q4_0 token embedding of a tied model (gpt2 always; llama without output.weight)
 * stays packed: it is the tied logits head (`tied_lm_head`) and the token lookup reads the same
 * rows (`QuantizedEmbedding`), so no float (V, C) table is built, as in llama.cpp; it is written
 * back block for block. `{ embedding: 'float' }` dequantises a float table for the lookup instead.
 */
import { Conv1D } from '../nn/conv1d.ts';
import { Linear } from '../nn/linear.ts';
import type { TokenTable } from '../nn/embedding.ts';
import type { Module } from '../nn/module.ts';
import { GPT } from '../models/gpt.ts';
import { refuseAdaptiveHead } from '../models/gpt-adaptive.ts';
import { Llama } from '../models/llama.ts';
import type { CausalLM } from '../models/causal-lm.ts';
import { dequantizeMatrix, quantizeMatrix, type QuantFormat } from '../compress/formats.ts';
import { QuantizedEmbedding } from '../compress/quantized-embedding.ts';
import { QuantizedLinear } from '../compress/quantized-linear.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { Tensor } from '../tensor/tensor.ts';
import { tokenizerFromJson, tokenizerToJson } from '../tokenizers/tokenizer-json.ts';
import { tokenizerFromGgufMetadata } from '../tokenizers/gguf-import.ts';
import { TemplateProcessing } from '../tokenizers/post-processor.ts';
import { SentencePieceBpeModel, SentencePieceNormalizer } from '../tokenizers/sentencepiece.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { formatJson } from './atomic.ts';
import { parseJsonText } from './config.ts';
import { QkvFormatError } from './errors.ts';
import { GGML_TYPE_SIZE, LLAMA_FILE_TYPE, type GgmlTypeName, type GgufReadValue, type GgufValue } from './gguf-format.ts';
import { readGguf, type GgufTensor } from './gguf-reader.ts';
import { writeGguf, type GgufTensorToWrite } from './gguf-writer.ts';
import { decodeFloat16, encodeFloat16 } from './half.ts';

/** `--quant` choices of `qkv export --format gguf`. */
export const GGUF_EXPORT_TYPES = ['f32', 'f16', 'q8_0', 'q4_0'] as const;
export type GgufExportType = (typeof GGUF_EXPORT_TYPES)[number];

const GGML_NAME: Record<GgufExportType, GgmlTypeName> = { f32: 'F32', f16: 'F16', q8_0: 'Q8_0', q4_0: 'Q4_0' };

const u32 = (value: number): GgufValue => ({ type: 'UINT32', value });
const f32 = (value: number): GgufValue => ({ type: 'FLOAT32', value });

function bytesOf(values: Float32Array | Uint16Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** A (rows, cols) row-major matrix in ggml's row order, as float32 or still packed. */
type Matrix = { rows: number; cols: number; values: () => Float32Array; packed?: { format: QuantFormat; data: Uint8Array } };

function matrixOfLayer(module: Module, name: string): Matrix {
  if (module instanceof QuantizedLinear) {
    const q = module.qweight;
    return { rows: q.rows, cols: q.cols, values: () => dequantizeMatrix(q), packed: { format: q.format, data: q.data } };
  }
  if (module instanceof Linear) return { rows: module.outFeatures, cols: module.inFeatures, values: () => Float32Array.from(module.weight.contiguousData()) };
  if (module instanceof Conv1D) return { rows: module.outFeatures, cols: module.inFeatures, values: () => Float32Array.from(module.weight.transpose(0, 1).contiguousData()) };
  throw new QkvValueError(`exportGguf: "${name}" is a ${module.constructor.name}, not a Linear, Conv1D or QuantizedLinear`);
}

function matrixOfTensor(tensor: Tensor): Matrix {
  const [rows, cols] = tensor.shape;
  return { rows, cols, values: () => Float32Array.from(tensor.contiguousData()) };
}

/**
 * The token embedding, with the tied head's packed bytes when it has them (written as they are in
 * that format); a packed table (no float copy) is dequantised only if another type is asked for.
 */
function embeddingMatrix(table: TokenTable, tiedHead: Module | null): Matrix {
  const packed = tiedHead instanceof QuantizedLinear ? tiedHead.qweight : table instanceof QuantizedEmbedding ? table.qweight : null;
  const matrix: Matrix = { rows: table.numEmbeddings, cols: table.embeddingDim, values: () => Float32Array.from(table.weight.contiguousData()) };
  return packed === null ? matrix : { ...matrix, packed: { format: packed.format, data: packed.data } };
}

/** Rows of each head reordered from rotate-half pairs to interleaved pairs (or back, with `inverse`). */
export function permuteRotaryRows(values: Float32Array, heads: number, cols: number, inverse = false): Float32Array {
  const rowsPerHead = values.length / cols / heads;
  const half = rowsPerHead / 2;
  const out = new Float32Array(values.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < half; j++) {
        const hf = h * rowsPerHead + i * half + j; // HF: pair (j, j + half)
        const gg = h * rowsPerHead + j * 2 + i; // ggml: pair (2j, 2j + 1)
        const [from, to] = inverse ? [gg, hf] : [hf, gg];
        out.set(values.subarray(from * cols, (from + 1) * cols), to * cols);
      }
    }
  }
  return out;
}

function weightTensor(name: string, matrix: Matrix, type: GgmlTypeName, permute?: (v: Float32Array) => Float32Array): GgufTensorToWrite {
  const { rows, cols } = matrix;
  const chosen: GgmlTypeName = cols % GGML_TYPE_SIZE[type].blockSize === 0 ? type : 'F32';
  const data = (): Uint8Array => {
    const wanted = chosen === 'Q8_0' ? 'q8_0' : chosen === 'Q4_0' ? 'q4_0' : null;
    if (wanted !== null && matrix.packed?.format === wanted && permute === undefined) return matrix.packed.data;
    let values = matrix.values();
    if (permute) values = permute(values);
    if (wanted !== null) return quantizeMatrix(wanted, values, rows, cols).data;
    return chosen === 'F16' ? bytesOf(encodeFloat16(values)) : bytesOf(values);
  };
  return { name, type: chosen, dims: [cols, rows], data };
}

function vectorTensor(name: string, tensor: Tensor): GgufTensorToWrite {
  return { name, type: 'F32', dims: [tensor.size], data: () => bytesOf(Float32Array.from(tensor.contiguousData())) };
}

/**
 * `tokenizer.ggml.*` of model "llama" for a SentencePiece tokenizer (one imported from a GGUF):
 * the pieces, scores and types as they came, and the flags its pipeline runs with. No
 * tokenizer.huggingface.json: the ggml keys are the whole tokenizer.
 */
function sentencePieceMetadata(tokenizer: Tokenizer, model: SentencePieceBpeModel, vocabSize: number): Record<string, GgufValue> {
  if (model.vocabSize !== vocabSize) throw new QkvValueError(`exportGguf: the SentencePiece vocabulary has ${model.vocabSize} pieces but the model ${vocabSize} rows`);
  const byte = /^<0x[0-9A-F]{2}>$/;
  const added = new Map(tokenizer.addedTokens.map((t) => [t.id, t]));
  const types = model.options.tokenTypes ?? model.pieces.map((piece, id) =>
    id === model.options.unkId ? 2 : added.has(id) ? (added.get(id)!.special ? 3 : 4) : byte.test(piece) ? 6 : 1);
  const processor = tokenizer.postProcessor;
  const single = processor instanceof TemplateProcessing ? processor.single : [];
  const first = single[0], last = single[single.length - 1];
  const addBos = first !== undefined && 'special' in first;
  const addEos = single.length > 1 && last !== undefined && 'special' in last;
  const idOf = (item: typeof first): number | undefined => (item !== undefined && 'special' in item ? (processor as TemplateProcessing).specialTokens.get(item.special) : undefined);
  const bos = addBos ? idOf(first) : model.tokenToId('<s>');
  const eos = addEos ? idOf(last) : model.tokenToId('</s>');
  return {
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.tokens': { type: 'ARRAY', itemType: 'STRING', value: model.pieces },
    'tokenizer.ggml.scores': { type: 'ARRAY', itemType: 'FLOAT32', value: Array.from(model.scores) },
    'tokenizer.ggml.token_type': { type: 'ARRAY', itemType: 'INT32', value: types },
    ...(bos === undefined ? {} : { 'tokenizer.ggml.bos_token_id': u32(bos) }),
    ...(eos === undefined ? {} : { 'tokenizer.ggml.eos_token_id': u32(eos) }),
    ...(model.options.unkId === null ? {} : { 'tokenizer.ggml.unknown_token_id': u32(model.options.unkId) }),
    'tokenizer.ggml.add_bos_token': addBos,
    'tokenizer.ggml.add_eos_token': addEos,
    'tokenizer.ggml.add_space_prefix': tokenizer.normalizer instanceof SentencePieceNormalizer && tokenizer.normalizer.addSpacePrefix,
  };
}

/** `tokenizer.ggml.*` for a byte-level BPE tokenizer (llama.cpp's "gpt2" tokenizer model), or a SentencePiece one ("llama"). */
function tokenizerMetadata(tokenizer: Tokenizer, vocabSize: number): Record<string, GgufValue> {
  if (tokenizer.model instanceof SentencePieceBpeModel) return sentencePieceMetadata(tokenizer, tokenizer.model, vocabSize);
  const json = tokenizerToJson(tokenizer);
  const model = json.model as { type?: string; vocab?: Record<string, number>; merges?: (string | string[])[] };
  if (model.type !== 'BPE' || model.vocab === undefined) {
    throw new QkvValueError(`exportGguf: only byte-level BPE tokenizers go into GGUF (llama.cpp's "gpt2" model); this one is ${JSON.stringify(model.type)}`);
  }
  const tokens: string[] = new Array(vocabSize);
  const types: number[] = new Array(vocabSize).fill(1); // 1 = NORMAL
  for (const [token, id] of Object.entries(model.vocab)) if (id < vocabSize) tokens[id] = token;
  for (const added of tokenizer.addedTokens) {
    if (added.id >= vocabSize) continue;
    tokens[added.id] = added.content;
    types[added.id] = added.special ? 3 : 4; // CONTROL / USER_DEFINED
  }
  for (let id = 0; id < vocabSize; id++) {
    if (tokens[id] === undefined) {
      tokens[id] = `[PAD${id}]`;
      types[id] = 5; // UNUSED: the model has more rows than the tokenizer has tokens
    }
  }
  const merges = (model.merges ?? []).map((merge) => (Array.isArray(merge) ? merge.join(' ') : merge));
  const eos = tokenizer.tokenToId('<|endoftext|>');
  return {
    'tokenizer.ggml.model': 'gpt2',
    // GPT-2's pre-tokenizer regex, the one qkv's byte-level BPE splits with
    'tokenizer.ggml.pre': 'gpt-2',
    'tokenizer.ggml.tokens': { type: 'ARRAY', itemType: 'STRING', value: tokens },
    'tokenizer.ggml.token_type': { type: 'ARRAY', itemType: 'INT32', value: types },
    'tokenizer.ggml.merges': { type: 'ARRAY', itemType: 'STRING', value: merges },
    ...(eos === undefined ? {} : { 'tokenizer.ggml.bos_token_id': u32(eos), 'tokenizer.ggml.eos_token_id': u32(eos) }),
    'tokenizer.ggml.add_bos_token': false,
    'tokenizer.huggingface.json': formatJson(json, 'tokenizer.json'),
  };
}

function gpt2Contents(model: GPT, type: GgmlTypeName): { metadata: Record<string, GgufValue>; tensors: GgufTensorToWrite[] } {
  const c = model.config;
  if (c.position !== 'learned') throw new QkvValueError(`exportGguf: llama.cpp's gpt2 has learned positions only; this GPT uses position "${c.position}"`);
  const t = model.transformer;
  const tensors: GgufTensorToWrite[] = [
    weightTensor('token_embd.weight', embeddingMatrix(t.wte, model.tied_lm_head), type),
    weightTensor('position_embd.weight', matrixOfTensor(t.wpe!.weight), 'F32'),
  ];
  t.h.forEach((block, i) => {
    const p = `transformer.h.${i}`;
    tensors.push(
      vectorTensor(`blk.${i}.attn_norm.weight`, block.ln_1.weight!),
      vectorTensor(`blk.${i}.attn_norm.bias`, block.ln_1.bias!),
      weightTensor(`blk.${i}.attn_qkv.weight`, matrixOfLayer(block.attn.c_attn, `${p}.attn.c_attn`), type),
      vectorTensor(`blk.${i}.attn_qkv.bias`, (block.attn.c_attn as Conv1D).bias),
      weightTensor(`blk.${i}.attn_output.weight`, matrixOfLayer(block.attn.c_proj, `${p}.attn.c_proj`), type),
      vectorTensor(`blk.${i}.attn_output.bias`, (block.attn.c_proj as Conv1D).bias),
      vectorTensor(`blk.${i}.ffn_norm.weight`, block.ln_2.weight!),
      vectorTensor(`blk.${i}.ffn_norm.bias`, block.ln_2.bias!),
      weightTensor(`blk.${i}.ffn_up.weight`, matrixOfLayer(block.mlp.c_fc, `${p}.mlp.c_fc`), type),
      vectorTensor(`blk.${i}.ffn_up.bias`, (block.mlp.c_fc as Conv1D).bias),
      weightTensor(`blk.${i}.ffn_down.weight`, matrixOfLayer(block.mlp.c_proj, `${p}.mlp.c_proj`), type),
      vectorTensor(`blk.${i}.ffn_down.bias`, (block.mlp.c_proj as Conv1D).bias),
    );
  });
  tensors.push(vectorTensor('output_norm.weight', t.ln_f.weight!), vectorTensor('output_norm.bias', t.ln_f.bias!));
  const metadata: Record<string, GgufValue> = {
    'general.architecture': 'gpt2',
    'gpt2.context_length': u32(c.n_positions),
    'gpt2.embedding_length': u32(c.n_embd),
    'gpt2.feed_forward_length': u32(4 * c.n_embd),
    'gpt2.block_count': u32(c.n_layer),
    'gpt2.attention.head_count': u32(c.n_head),
    'gpt2.attention.layer_norm_epsilon': f32(c.layer_norm_epsilon),
  };
  return { metadata, tensors };
}

function llamaContents(model: Llama, type: GgmlTypeName): { metadata: Record<string, GgufValue>; tensors: GgufTensorToWrite[] } {
  const c = model.config;
  const NH = c.num_attention_heads;
  const NKV = c.num_key_value_heads;
  const C = c.hidden_size;
  const tensors: GgufTensorToWrite[] = [weightTensor('token_embd.weight', embeddingMatrix(model.model.embed_tokens, model.tied_lm_head), type)];
  model.model.layers.forEach((layer, i) => {
    const p = `model.layers.${i}`;
    const a = layer.self_attn;
    tensors.push(
      vectorTensor(`blk.${i}.attn_norm.weight`, layer.input_layernorm.weight!),
      weightTensor(`blk.${i}.attn_q.weight`, matrixOfLayer(a.q_proj!, `${p}.self_attn.q_proj`), type, (v) => permuteRotaryRows(v, NH, C)),
      weightTensor(`blk.${i}.attn_k.weight`, matrixOfLayer(a.k_proj!, `${p}.self_attn.k_proj`), type, (v) => permuteRotaryRows(v, NKV, C)),
      weightTensor(`blk.${i}.attn_v.weight`, matrixOfLayer(a.v_proj!, `${p}.self_attn.v_proj`), type),
      weightTensor(`blk.${i}.attn_output.weight`, matrixOfLayer(a.o_proj, `${p}.self_attn.o_proj`), type),
      vectorTensor(`blk.${i}.ffn_norm.weight`, layer.post_attention_layernorm.weight!),
      weightTensor(`blk.${i}.ffn_gate.weight`, matrixOfLayer(layer.mlp.gate_proj, `${p}.mlp.gate_proj`), type),
      weightTensor(`blk.${i}.ffn_up.weight`, matrixOfLayer(layer.mlp.up_proj, `${p}.mlp.up_proj`), type),
      weightTensor(`blk.${i}.ffn_down.weight`, matrixOfLayer(layer.mlp.down_proj, `${p}.mlp.down_proj`), type),
    );
  });
  tensors.push(vectorTensor('output_norm.weight', model.model.norm.weight!));
  if (model.lm_head !== null) tensors.push(weightTensor('output.weight', matrixOfLayer(model.lm_head, 'lm_head'), type));
  const metadata: Record<string, GgufValue> = {
    'general.architecture': 'llama',
    'llama.vocab_size': u32(c.vocab_size),
    'llama.context_length': u32(c.max_position_embeddings),
    'llama.embedding_length': u32(C),
    'llama.feed_forward_length': u32(c.intermediate_size),
    'llama.block_count': u32(c.num_hidden_layers),
    'llama.attention.head_count': u32(NH),
    'llama.attention.head_count_kv': u32(NKV),
    'llama.attention.layer_norm_rms_epsilon': f32(c.rms_norm_eps),
    'llama.rope.freq_base': f32(c.rope_theta),
    'llama.rope.dimension_count': u32(C / NH),
  };
  return { metadata, tensors };
}

export interface GgufExportOptions {
  /** Weight type of the 2-D matrices (default f32). */
  type?: GgufExportType;
  /** `general.name`. */
  name?: string;
}

/**
 * Writes `model` and `tokenizer` as one GGUF file (atomically); returns its size in bytes.
 *
 * @example exportGguf('runs/small.gguf', model, tokenizer, { type: 'q8_0' });
 */
export function exportGguf(path: string, model: CausalLM, tokenizer: Tokenizer, options: GgufExportOptions = {}): number {
  const exportType = options.type ?? 'f32';
  if (!(GGUF_EXPORT_TYPES as readonly string[]).includes(exportType)) throw new QkvValueError(`exportGguf: type must be one of ${GGUF_EXPORT_TYPES.join(', ')}, got ${JSON.stringify(exportType)}`);
  const type = GGML_NAME[exportType];
  let contents;
  if (model instanceof GPT) {
    refuseAdaptiveHead(model.config, 'exportGguf'); // llama.cpp's gpt2 ties output to token_embd
    contents = gpt2Contents(model, type);
  } else if (model instanceof Llama) contents = llamaContents(model, type);
  else throw new QkvValueError(`exportGguf: no GGUF architecture for ${model.constructor.name} (supported: GPT → gpt2, Llama → llama)`);
  const quantized = type === 'Q8_0' || type === 'Q4_0';
  const metadata: Record<string, GgufValue> = {
    'general.architecture': contents.metadata['general.architecture'],
    'general.name': options.name ?? 'qkv',
    'general.file_type': u32(LLAMA_FILE_TYPE[type]),
    ...(quantized ? { 'general.quantization_version': u32(2) } : {}),
    ...contents.metadata,
    ...tokenizerMetadata(tokenizer, model.vocabSize),
  };
  return writeGguf(path, { metadata, tensors: contents.tensors });
}

// ---- reading back ---------------------------------------------------------------------------

function requireNumber(metadata: Map<string, GgufReadValue>, key: string, file: string): number {
  const value = metadata.get(key);
  if (typeof value !== 'number') throw new QkvFormatError(file, `expected a number, found ${value === undefined ? 'nothing' : JSON.stringify(String(value))}`, `metadata "${key}"`);
  return value;
}

/** A tensor as float32 values, dequantising Q8_0 / Q4_0 and widening F16. */
function floatValues(tensor: GgufTensor): Float32Array {
  const cols = tensor.dims[0];
  const rows = tensor.dims.slice(1).reduce((a, b) => a * b, 1);
  switch (tensor.type) {
    // copies: the file buffer may not be 4-byte aligned at the tensor
    case 'F32': return new Float32Array(Uint8Array.from(tensor.data).buffer);
    case 'F16': return decodeFloat16(new Uint16Array(Uint8Array.from(tensor.data).buffer));
    case 'Q8_0': return dequantizeMatrix({ format: 'q8_0', rows, cols, data: tensor.data });
    case 'Q4_0': return dequantizeMatrix({ format: 'q4_0', rows, cols, data: tensor.data });
  }
}

class GgufTensors {
  constructor(private readonly tensors: Map<string, GgufTensor>, private readonly file: string) {}
  get(name: string, dims: number[]): GgufTensor {
    const tensor = this.tensors.get(name);
    if (tensor === undefined) throw new QkvFormatError(this.file, 'missing (the architecture needs it)', `tensor "${name}"`);
    if (tensor.dims.length !== dims.length || tensor.dims.some((d, i) => d !== dims[i])) {
      throw new QkvFormatError(this.file, `dims [${tensor.dims.join(', ')}], expected [${dims.join(', ')}]`, `tensor "${name}"`);
    }
    return tensor;
  }
  has(name: string): boolean {
    return this.tensors.has(name);
  }
  /** A (rows, cols) = (dims[1], dims[0]) float Tensor. */
  /** With `rotaryHeads`, rows go back from ggml's interleaved RoPE pairs to HF's rotate-half order. */
  matrix(name: string, rows: number, cols: number, rotaryHeads?: number): Tensor {
    const values = floatValues(this.get(name, [cols, rows]));
    return new Tensor(rotaryHeads === undefined ? values : permuteRotaryRows(values, rotaryHeads, cols, true), [rows, cols]);
  }
  vector(name: string, size: number): Tensor {
    return new Tensor(floatValues(this.get(name, [size])), [size]);
  }
  /** A matrix layer: packed Q8_0 / Q4_0 stays packed (same bytes), else float32. */
  layer(name: string, rows: number, cols: number, bias: Tensor | null, kind: 'linear' | 'conv1d', rotaryHeads?: number): QuantizedLinear | Tensor {
    const tensor = this.get(name, [cols, rows]);
    if (tensor.type !== 'Q8_0' && tensor.type !== 'Q4_0') return this.matrix(name, rows, cols, rotaryHeads);
    const format = tensor.type === 'Q8_0' ? 'q8_0' : 'q4_0';
    let data = Uint8Array.from(tensor.data);
    if (rotaryHeads !== undefined) {
      // the RoPE permutation moves whole rows: reorder the packed rows, the blocks stay as they are
      const rowBytes = tensor.sizeBytes / rows;
      const sourceRow = permuteRotaryRows(Float32Array.from({ length: rows }, (_, r) => r), rotaryHeads, 1, true);
      data = new Uint8Array(tensor.sizeBytes);
      for (let r = 0; r < rows; r++) data.set(tensor.data.subarray(sourceRow[r] * rowBytes, (sourceRow[r] + 1) * rowBytes), r * rowBytes);
    }
    return new QuantizedLinear({ format, rows, cols, data }, bias, kind);
  }
}

/**
 * The token table of a tied model: a packed Q8_0 / Q4_0 token_embd becomes the tied logits head
 * and (unless `floatEmbedding`) the lookup on the same bytes, with no float table in `state`;
 * anything else is dequantised into `state` under `key`, as is the packed one with `floatEmbedding`.
 */
function setTiedTable(model: GPT | Llama, tensors: GgufTensors, vocab: number, C: number, state: Map<string, Tensor>, key: string, floatEmbedding: boolean): void {
  const head = tensors.layer('token_embd.weight', vocab, C, null, 'linear');
  if (!(head instanceof QuantizedLinear)) {
    state.set(key, head);
    return;
  }
  model.setTiedLmHead(head);
  if (floatEmbedding) state.set(key, tensors.matrix('token_embd.weight', vocab, C));
  else model.setSubmodule(key.slice(0, -'.weight'.length), new QuantizedEmbedding(head.qweight));
}

/** Puts a float (out, in) matrix or a quantised layer at `path`. */
function setLayer(model: CausalLM, path: string, value: QuantizedLinear | Tensor, state: Map<string, Tensor>, conv1d: boolean): void {
  if (value instanceof QuantizedLinear) model.setSubmodule(path, value);
  else state.set(`${path}.weight`, conv1d ? value.transpose(0, 1).contiguous() : value);
}

export interface GgufLoadOptions {
  /**
   * 'packed' (default): a packed token embedding of a tied model serves the lookup directly, no
   * float table; 'float': it is dequantised into a float table for the lookup as well (more
   * memory; the looked-up values are the same).
   */
  embedding?: 'packed' | 'float';
}

export interface LoadedGgufModel {
  model: GPT | Llama;
  tokenizer: Tokenizer;
  metadata: Map<string, GgufReadValue>;
}

/**
 * Reads a GGUF file of the `gpt2` or `llama` architecture into a qkv model; Q8_0 / Q4_0 matrices
 * become `QuantizedLinear` layers on the same bytes, everything else is dequantised to float32.
 * Errors name the file and the key or tensor.
 */
export function loadGgufModel(path: string, options: GgufLoadOptions = {}): LoadedGgufModel {
  const floatEmbedding = options.embedding === 'float';
  const { metadata, tensors: raw } = readGguf(path);
  const tensors = new GgufTensors(raw, path);
  const arch = metadata.get('general.architecture');
  const tokenizerJson = metadata.get('tokenizer.huggingface.json');
  // qkv's files embed the whole tokenizer.json; other producers' only tokenizer.ggml.* ("gpt2" BPE is imported)
  const tokenizer = typeof tokenizerJson === 'string'
    ? tokenizerFromJson(parseJsonText(tokenizerJson, `${path} (tokenizer.huggingface.json)`), `${path} (tokenizer.huggingface.json)`)
    : tokenizerFromGgufMetadata(metadata, path);
  const n = (key: string): number => requireNumber(metadata, `${arch}.${key}`, path);
  const state = new Map<string, Tensor>();
  if (arch === 'gpt2') {
    const C = n('embedding_length');
    const vocab = raw.get('token_embd.weight')?.dims[1] ?? 0;
    const model = new GPT({ vocab_size: vocab, n_positions: n('context_length'), n_embd: C, n_layer: n('block_count'), n_head: n('attention.head_count'), layer_norm_epsilon: n('attention.layer_norm_epsilon') });
    const F = n('feed_forward_length');
    if (F !== 4 * C) throw new QkvFormatError(path, `${F} is not supported (qkv's GPT has 4·n_embd = ${4 * C})`, 'metadata "gpt2.feed_forward_length"');
    setTiedTable(model, tensors, vocab, C, state, 'transformer.wte.weight', floatEmbedding);
    state.set('transformer.wpe.weight', tensors.matrix('position_embd.weight', model.config.n_positions, C));
    for (let i = 0; i < model.config.n_layer; i++) {
      const p = `transformer.h.${i}`;
      const b = `blk.${i}`;
      state.set(`${p}.ln_1.weight`, tensors.vector(`${b}.attn_norm.weight`, C));
      state.set(`${p}.ln_1.bias`, tensors.vector(`${b}.attn_norm.bias`, C));
      state.set(`${p}.ln_2.weight`, tensors.vector(`${b}.ffn_norm.weight`, C));
      state.set(`${p}.ln_2.bias`, tensors.vector(`${b}.ffn_norm.bias`, C));
      for (const [module, gguf, rows, cols] of [['attn.c_attn', 'attn_qkv', 3 * C, C], ['attn.c_proj', 'attn_output', C, C], ['mlp.c_fc', 'ffn_up', F, C], ['mlp.c_proj', 'ffn_down', C, F]] as const) {
        const bias = tensors.vector(`${b}.${gguf}.bias`, rows);
        state.set(`${p}.${module}.bias`, bias);
        setLayer(model, `${p}.${module}`, tensors.layer(`${b}.${gguf}.weight`, rows, cols, bias, 'conv1d'), state, true);
      }
    }
    state.set('transformer.ln_f.weight', tensors.vector('output_norm.weight', C));
    state.set('transformer.ln_f.bias', tensors.vector('output_norm.bias', C));
    model.loadStateDict(state);
    return { model, tokenizer, metadata };
  }
  if (arch === 'llama') {
    const C = n('embedding_length');
    const NH = n('attention.head_count');
    const NKV = metadata.has('llama.attention.head_count_kv') ? n('attention.head_count_kv') : NH;
    const I = n('feed_forward_length');
    const vocab = raw.get('token_embd.weight')?.dims[1] ?? 0;
    const tied = !tensors.has('output.weight');
    const model = new Llama({
      vocab_size: vocab, hidden_size: C, intermediate_size: I, num_hidden_layers: n('block_count'), num_attention_heads: NH, num_key_value_heads: NKV,
      max_position_embeddings: n('context_length'), rms_norm_eps: n('attention.layer_norm_rms_epsilon'),
      rope_theta: metadata.has('llama.rope.freq_base') ? n('rope.freq_base') : 10000, tie_word_embeddings: tied,
    });
    const hs = C / NH;
    if (tied) setTiedTable(model, tensors, vocab, C, state, 'model.embed_tokens.weight', floatEmbedding);
    else state.set('model.embed_tokens.weight', tensors.matrix('token_embd.weight', vocab, C));
    for (let i = 0; i < model.config.num_hidden_layers; i++) {
      const p = `model.layers.${i}`;
      const b = `blk.${i}`;
      state.set(`${p}.input_layernorm.weight`, tensors.vector(`${b}.attn_norm.weight`, C));
      state.set(`${p}.post_attention_layernorm.weight`, tensors.vector(`${b}.ffn_norm.weight`, C));
      const layers = [
        ['self_attn.q_proj', 'attn_q', NH * hs, C, NH], ['self_attn.k_proj', 'attn_k', NKV * hs, C, NKV],
        ['self_attn.v_proj', 'attn_v', NKV * hs, C, undefined], ['self_attn.o_proj', 'attn_output', C, NH * hs, undefined],
        ['mlp.gate_proj', 'ffn_gate', I, C, undefined], ['mlp.up_proj', 'ffn_up', I, C, undefined], ['mlp.down_proj', 'ffn_down', C, I, undefined],
      ] as const;
      for (const [module, gguf, rows, cols, rotaryHeads] of layers) setLayer(model, `${p}.${module}`, tensors.layer(`${b}.${gguf}.weight`, rows, cols, null, 'linear', rotaryHeads), state, false);
    }
    state.set('model.norm.weight', tensors.vector('output_norm.weight', C));
    if (!tied) setLayer(model, 'lm_head', tensors.layer('output.weight', vocab, C, null, 'linear'), state, false);
    model.loadStateDict(state);
    return { model, tokenizer, metadata };
  }
  throw new QkvFormatError(path, `${JSON.stringify(arch)} is not supported (qkv reads gpt2 and llama)`, 'metadata "general.architecture"');
}

/**
 * A GGUF file as `loadCausalLM` returns a folder (model, tokenizer, generation config from the
 * GGUF's bos/eos ids), so `qkv generate --model m.gguf` and `qkv eval` run it.
 *
 * @example const { model, tokenizer } = loadGgufCausalLM('runs/small-q8_0.gguf');
 */
export function loadGgufCausalLM(path: string, options: GgufLoadOptions = {}): { model: GPT | Llama; tokenizer: Tokenizer; generationConfig: Record<string, number> } {
  const { model, tokenizer, metadata } = loadGgufModel(path, options);
  const generationConfig: Record<string, number> = {};
  for (const [key, field] of [['tokenizer.ggml.bos_token_id', 'bos_token_id'], ['tokenizer.ggml.eos_token_id', 'eos_token_id']] as const) {
    const value = metadata.get(key);
    if (typeof value === 'number') generationConfig[field] = value;
  }
  return { model, tokenizer, generationConfig };
}
