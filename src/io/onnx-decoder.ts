/**
 * The forward graph of a qkv decoder (GPT-2 or Llama) as ONNX, in the layout of Hugging Face
 * Optimum's `text-generation-with-past` export, which Transformers.js and ONNX Runtime run:
 *
 *   inputs   input_ids (B, T) int64, attention_mask (B, P+T) int64, position_ids (B, T) int64,
 *            past_key_values.{i}.key / .value (B, NHkv, P, hs) float
 *   outputs  logits (B, T, V), present.{i}.key / .value (B, NHkv, P+T, hs)
 *
 * B, T, P are symbolic ('batch_size', 'sequence_length', 'past_sequence_length'): one graph
 * serves the prompt (P = 0) and every later token. Weights keep their Hugging Face names.
 *
 * Legend: B = batch, T = new positions, P = cached positions, S = P + T, C = channels,
 * V = vocab, NH = query heads, NHkv = key/value heads, hs = head size.
 *
 * The mask is causal and padding at once: query t (absolute position P + t) sees key s when
 * s ≤ P + t and attention_mask[b, s] = 1; masked scores get −1e30 (a finite stand-in for −∞ so a
 * fully padded row gives a uniform softmax instead of NaN).
 */
import { Conv1D } from '../nn/conv1d.ts';
import { Linear } from '../nn/linear.ts';
import type { Module } from '../nn/module.ts';
import { dequantizeMatrix } from '../compress/formats.ts';
import { QuantizedLinear } from '../compress/quantized-linear.ts';
import { GPT, GPT_ROPE_THETA } from '../models/gpt.ts';
import { refuseAdaptiveHead } from '../models/gpt-adaptive.ts';
import { Llama } from '../models/llama.ts';
import { QkvValueError } from '../tensor/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { MICROSOFT_DOMAIN, OnnxGraphBuilder } from './onnx-graph.ts';
import { isOnnxPackedFormat, toMatMulNBits } from './onnx-quant.ts';

const B = 'batch_size';
const T = 'sequence_length';
const P = 'past_sequence_length';
const S = 'total_sequence_length';
const MASKED_SCORE = -1e30;

/** A layer's weight as (in, out) row-major, the right operand of x·W. */
function inOut(module: Module, name: string): { values: Float32Array; inFeatures: number; outFeatures: number } {
  if (module instanceof Conv1D) return { values: Float32Array.from(module.weight.contiguousData()), inFeatures: module.inFeatures, outFeatures: module.outFeatures };
  let outIn: Float32Array;
  let inFeatures: number;
  let outFeatures: number;
  if (module instanceof Linear) {
    outIn = Float32Array.from(module.weight.contiguousData());
    ({ inFeatures, outFeatures } = module);
  } else if (module instanceof QuantizedLinear) {
    outIn = dequantizeMatrix(module.qweight);
    ({ inFeatures, outFeatures } = module);
  } else {
    throw new QkvValueError(`exportOnnx: "${name}" is a ${module.constructor.name}, not a Linear, Conv1D or QuantizedLinear`);
  }
  const values = new Float32Array(outIn.length);
  for (let o = 0; o < outFeatures; o++) for (let i = 0; i < inFeatures; i++) values[i * outFeatures + o] = outIn[o * inFeatures + i];
  return { values, inFeatures, outFeatures };
}

function biasOf(module: Module): Tensor | null {
  return (module as unknown as { bias: Tensor | null }).bias ?? null;
}

/** Graph pieces shared by the decoder and the encoder (./onnx-encoder.ts): layers on named weights. */
export class GraphLayers {
  /**
   * @param packQuantized Q8_0 / Q4_0 layers become MatMulNBits on their packed blocks (./onnx-quant.ts)
   *   instead of float32 MatMuls on the dequantised weights.
   */
  constructor(readonly g: OnnxGraphBuilder, readonly packQuantized = false) {}

  /** x · W (+ b) with W an initialiser named `${name}.weight` (or `${name}.qweight` + `.scales`, packed). */
  linear(x: string, module: Module, name: string): string {
    if (this.packQuantized && module instanceof QuantizedLinear && isOnnxPackedFormat(module.format)) return this.packedLinear(x, module, name);
    const { values, inFeatures, outFeatures } = inOut(module, name);
    const weight = this.g.initializer(`${name}.weight`, values, [inFeatures, outFeatures]);
    const product = this.g.op('MatMul', [x, weight]);
    const bias = biasOf(module);
    return bias === null ? product : this.g.op('Add', [product, this.g.initializer(`${name}.bias`, Float32Array.from(bias.contiguousData()), [outFeatures])]);
  }

  /** x (…, K) · Wᵀ (+ b) by com.microsoft.MatMulNBits on W's packed (N, K) blocks → (…, N). */
  private packedLinear(x: string, module: QuantizedLinear, name: string): string {
    const w = toMatMulNBits(module.qweight);
    const blocksPerRow = w.K / w.blockSize;
    const inputs = [
      x,
      this.g.bytesInitializer(`${name}.qweight`, w.B, [w.N, blocksPerRow, w.blobBytes]),
      this.g.initializer(`${name}.scales`, w.scales, [w.N, blocksPerRow]),
    ];
    // accuracy_level 0: float32 arithmetic on the dequantised blocks (no int8 activations)
    const product = this.g.node('MatMulNBits', inputs, { K: w.K, N: w.N, bits: w.bits, block_size: w.blockSize, accuracy_level: 0 }, 1, MICROSOFT_DOMAIN)[0];
    const bias = biasOf(module);
    return bias === null ? product : this.g.op('Add', [product, this.g.initializer(`${name}.bias`, Float32Array.from(bias.contiguousData()), [w.N])]);
  }

  vector(name: string, tensor: Tensor): string {
    return this.g.initializer(name, Float32Array.from(tensor.contiguousData()), [tensor.size]);
  }

  layerNorm(x: string, name: string, weight: Tensor, bias: Tensor, eps: number): string {
    return this.g.op('LayerNormalization', [x, this.vector(`${name}.weight`, weight), this.vector(`${name}.bias`, bias)], { axis: -1, epsilon: { float: eps } });
  }

  /** (B, T, H·hs) → (B, H, T, hs). */
  splitHeads(x: string, heads: number, hs: number): string {
    return this.g.op('Transpose', [this.g.op('Reshape', [x, this.g.constant([0, 0, heads, hs], 'int64')])], { perm: [0, 2, 1, 3] });
  }

  /** softmax(q·kᵀ/√hs + bias)·v for q, k, v (B, NH, ·, hs) → (B, T, NH·hs). */
  scaledDotProduct(q: string, k: string, v: string, bias: string, NH: number, hs: number): string {
    const g = this.g;
    const scores = g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), g.constant([1 / Math.sqrt(hs)], 'float', [])]); // (B, NH, T, S)
    const weights = g.op('Softmax', [g.op('Add', [scores, bias])], { axis: -1 });
    const context = g.op('MatMul', [weights, v]); // (B, NH, T, hs)
    return g.op('Reshape', [g.op('Transpose', [context], { perm: [0, 2, 1, 3] }), g.constant([0, 0, NH * hs], 'int64')]); // (B, T, NH·hs)
  }
}

class DecoderGraph extends GraphLayers {
  readonly inputIds: string;
  readonly attentionMask: string;
  readonly positionIds: string;
  /** (B, 1, T, S) additive score bias: 0 where allowed, MASKED_SCORE elsewhere. */
  readonly scoreBias: string;

  constructor(name: string, packQuantized: boolean) {
    super(new OnnxGraphBuilder(name), packQuantized);
    const g = this.g;
    this.inputIds = g.input('input_ids', 'int64', [B, T]);
    this.attentionMask = g.input('attention_mask', 'int64', [B, S]);
    this.positionIds = g.input('position_ids', 'int64', [B, T]);
    const one = g.constant([1], 'int64', []);
    const zero = g.constant([0], 'int64', []);
    const newLength = g.op('Gather', [g.op('Shape', [this.inputIds]), one], { axis: 0 }); // T
    const totalLength = g.op('Gather', [g.op('Shape', [this.attentionMask]), one], { axis: 0 }); // S
    const pastLength = g.op('Sub', [totalLength, newLength]); // P
    const queryPositions = g.op('Unsqueeze', [g.op('Add', [g.op('Range', [zero, newLength, one]), pastLength]), g.constant([1], 'int64')]); // (T, 1)
    const keyPositions = g.op('Unsqueeze', [g.op('Range', [zero, totalLength, one]), g.constant([0], 'int64')]); // (1, S)
    const causal = g.op('LessOrEqual', [keyPositions, queryPositions]); // (T, S)
    const notPadding = g.op('Unsqueeze', [g.op('Cast', [this.attentionMask], { to: 9 }), g.constant([1, 2], 'int64')]); // (B, 1, 1, S) bool
    const allowed = g.op('And', [causal, notPadding]); // (B, 1, T, S)
    this.scoreBias = g.op('Where', [allowed, g.constant([0], 'float', []), g.constant([MASKED_SCORE], 'float', [])]);
  }

  /**
   * Attention of layer `layer` over the cache: q (B, NH, T, hs), k/v (B, NHkv, T, hs) → (B, T, NH·hs),
   * declaring past_key_values.{layer}.* inputs and present.{layer}.* outputs.
   */
  attend(layer: number, q: string, k: string, v: string, NH: number, NHkv: number, hs: number): string {
    const g = this.g;
    const pastKey = g.input(`past_key_values.${layer}.key`, 'float', [B, NHkv, P, hs]);
    const pastValue = g.input(`past_key_values.${layer}.value`, 'float', [B, NHkv, P, hs]);
    const keys = g.op('Concat', [pastKey, k], { axis: 2 }); // (B, NHkv, S, hs)
    const values = g.op('Concat', [pastValue, v], { axis: 2 });
    g.output(keys, `present.${layer}.key`, 'float', [B, NHkv, S, hs]);
    g.output(values, `present.${layer}.value`, 'float', [B, NHkv, S, hs]);
    const repeat = (x: string): string => {
      if (NH === NHkv) return x;
      // (B, NHkv, S, hs) → (B, NHkv, NH/NHkv, S, hs) → (B, NH, S, hs): each key/value head serves a group of query heads
      const expanded = g.op('Expand', [g.op('Unsqueeze', [x, g.constant([2], 'int64')]), g.constant([1, 1, NH / NHkv, 1, 1], 'int64')]);
      return g.op('Reshape', [expanded, g.constant([0, NH, -1, hs], 'int64')]);
    };
    return this.scaledDotProduct(q, repeat(keys), repeat(values), this.scoreBias, NH, hs);
  }

  /** RoPE (rotate-half, HF Llama) on x (B, H, T, hs) with cos/sin (B, 1, T, hs). */
  rotate(x: string, cos: string, sin: string, hs: number): string {
    const g = this.g;
    const axes = g.constant([-1], 'int64');
    const first = g.op('Slice', [x, g.constant([0], 'int64'), g.constant([hs / 2], 'int64'), axes]);
    const second = g.op('Slice', [x, g.constant([hs / 2], 'int64'), g.constant([hs], 'int64'), axes]);
    const rotated = g.op('Concat', [g.op('Neg', [second]), first], { axis: -1 });
    return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
  }

  /** cos and sin (B, 1, T, hs) of position_ids · θ^(−2i/hs), the halves repeated (HF's layout). */
  rotaryTables(hs: number, theta: number): { cos: string; sin: string } {
    const g = this.g;
    const inverseFrequencies = Float32Array.from({ length: hs / 2 }, (_, i) => 1 / theta ** ((2 * i) / hs));
    const positions = g.op('Unsqueeze', [g.op('Cast', [this.positionIds], { to: 1 }), g.constant([2], 'int64')]); // (B, T, 1)
    const angles = g.op('Mul', [positions, g.initializer('rotary_inv_freq', inverseFrequencies, [hs / 2])]); // (B, T, hs/2)
    const both = g.op('Unsqueeze', [g.op('Concat', [angles, angles], { axis: -1 }), g.constant([1], 'int64')]); // (B, 1, T, hs)
    return { cos: g.op('Cos', [both]), sin: g.op('Sin', [both]) };
  }

  gelu(x: string): string {
    const g = this.g;
    // GPT-2's gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    const cubic = g.op('Mul', [g.op('Mul', [g.op('Mul', [x, x]), x]), g.constant([0.044715], 'float', [])]);
    const inner = g.op('Mul', [g.op('Add', [x, cubic]), g.constant([Math.sqrt(2 / Math.PI)], 'float', [])]);
    return g.op('Mul', [g.op('Mul', [x, g.constant([0.5], 'float', [])]), g.op('Add', [g.op('Tanh', [inner]), g.constant([1], 'float', [])])]);
  }

  rmsNorm(x: string, weight: string, eps: number): string {
    const g = this.g;
    const meanSquare = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
    const inverse = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [meanSquare, g.constant([eps], 'float', [])])])]);
    return g.op('Mul', [g.op('Mul', [x, inverse]), weight]);
  }

  logits(x: string, vocab: number): Uint8Array {
    this.g.output(x, 'logits', 'float', [B, T, vocab]);
    return this.g.encode();
  }
}

/** The quantised tied head when it is exported packed, else null (the float h·Eᵀ). */
function packedTiedHead(d: DecoderGraph, head: unknown): QuantizedLinear | null {
  return d.packQuantized && head instanceof QuantizedLinear && isOnnxPackedFormat(head.format) ? head : null;
}

function gptGraph(model: GPT, packQuantized: boolean): Uint8Array {
  const c = model.config;
  refuseAdaptiveHead(c, 'exportOnnx'); // the graph's logits are h·wteᵀ (transformers' GPT-2)
  if (c.position !== 'learned' && c.position !== 'rope' && c.position !== 'none') {
    throw new QkvValueError(`exportOnnx: GPT position "${c.position}" is not exported (learned, rope, none are)`);
  }
  const d = new DecoderGraph('qkv-gpt2', packQuantized);
  const g = d.g;
  const t = model.transformer;
  const wte = d.g.initializer('transformer.wte.weight', Float32Array.from(t.wte.weight.contiguousData()), [c.vocab_size, c.n_embd]);
  let x = g.op('Gather', [wte, d.inputIds], { axis: 0 }); // (B, T, C)
  if (t.wpe !== null) {
    const wpe = g.initializer('transformer.wpe.weight', Float32Array.from(t.wpe.weight.contiguousData()), [c.n_positions, c.n_embd]);
    x = g.op('Add', [x, g.op('Gather', [wpe, d.positionIds], { axis: 0 })]); // + (B, T, C)
  }
  const hs = c.n_embd / c.n_head;
  const rope = c.position === 'rope' ? d.rotaryTables(hs, GPT_ROPE_THETA) : null;
  t.h.forEach((block, i) => {
    const p = `transformer.h.${i}`;
    const attention = block.attn as unknown as { c_attn: Module; c_proj: Module };
    const width = (attention.c_attn as Conv1D).outFeatures / 3; // NH·hs (fewer heads once pruned)
    const NH = width / hs;
    const norm1 = d.layerNorm(x, `${p}.ln_1`, block.ln_1.weight!, block.ln_1.bias!, c.layer_norm_epsilon);
    const [qAll, kAll, vAll] = g.node('Split', [d.linear(norm1, attention.c_attn, `${p}.attn.c_attn`), g.constant([width, width, width], 'int64')], { axis: 2 }, 3);
    let q = d.splitHeads(qAll, NH, hs);
    let k = d.splitHeads(kAll, NH, hs);
    if (rope !== null) {
      q = d.rotate(q, rope.cos, rope.sin, hs);
      k = d.rotate(k, rope.cos, rope.sin, hs);
    }
    const merged = d.attend(i, q, k, d.splitHeads(vAll, NH, hs), NH, NH, hs);
    x = g.op('Add', [x, d.linear(merged, attention.c_proj, `${p}.attn.c_proj`)]);
    const norm2 = d.layerNorm(x, `${p}.ln_2`, block.ln_2.weight!, block.ln_2.bias!, c.layer_norm_epsilon);
    const hidden = d.gelu(d.linear(norm2, block.mlp.c_fc, `${p}.mlp.c_fc`));
    x = g.op('Add', [x, d.linear(hidden, block.mlp.c_proj, `${p}.mlp.c_proj`)]);
  });
  const final = d.layerNorm(x, 'transformer.ln_f', t.ln_f.weight!, t.ln_f.bias!, c.layer_norm_epsilon);
  const head = packedTiedHead(d, model.tied_lm_head);
  if (head !== null) return d.logits(d.linear(final, head, 'lm_head'), c.vocab_size);
  return d.logits(g.op('MatMul', [final, g.op('Transpose', [wte], { perm: [1, 0] })]), c.vocab_size); // tied head: h·wteᵀ
}

function llamaGraph(model: Llama, packQuantized: boolean): Uint8Array {
  const c = model.config;
  const d = new DecoderGraph('qkv-llama', packQuantized);
  const g = d.g;
  const NH = c.num_attention_heads;
  const NHkv = c.num_key_value_heads;
  const hs = c.hidden_size / NH;
  const embed = g.initializer('model.embed_tokens.weight', Float32Array.from(model.model.embed_tokens.weight.contiguousData()), [c.vocab_size, c.hidden_size]);
  let x = g.op('Gather', [embed, d.inputIds], { axis: 0 });
  const { cos, sin } = d.rotaryTables(hs, c.rope_theta);
  model.model.layers.forEach((layer, i) => {
    const p = `model.layers.${i}`;
    const a = layer.self_attn;
    const normed = d.rmsNorm(x, d.vector(`${p}.input_layernorm.weight`, layer.input_layernorm.weight!), c.rms_norm_eps);
    const q = d.rotate(d.splitHeads(d.linear(normed, a.q_proj!, `${p}.self_attn.q_proj`), NH, hs), cos, sin, hs);
    const k = d.rotate(d.splitHeads(d.linear(normed, a.k_proj!, `${p}.self_attn.k_proj`), NHkv, hs), cos, sin, hs);
    const v = d.splitHeads(d.linear(normed, a.v_proj!, `${p}.self_attn.v_proj`), NHkv, hs);
    x = g.op('Add', [x, d.linear(d.attend(i, q, k, v, NH, NHkv, hs), a.o_proj, `${p}.self_attn.o_proj`)]);
    const normed2 = d.rmsNorm(x, d.vector(`${p}.post_attention_layernorm.weight`, layer.post_attention_layernorm.weight!), c.rms_norm_eps);
    const gate = d.linear(normed2, layer.mlp.gate_proj, `${p}.mlp.gate_proj`);
    const swish = g.op('Mul', [gate, g.op('Sigmoid', [gate])]);
    x = g.op('Add', [x, d.linear(g.op('Mul', [swish, d.linear(normed2, layer.mlp.up_proj, `${p}.mlp.up_proj`)]), layer.mlp.down_proj, `${p}.mlp.down_proj`)]);
  });
  const final = d.rmsNorm(x, d.vector('model.norm.weight', model.model.norm.weight!), c.rms_norm_eps);
  const tied = packedTiedHead(d, model.tied_lm_head);
  const logits = tied !== null ? d.linear(final, tied, 'lm_head') : model.lm_head === null ? g.op('MatMul', [final, g.op('Transpose', [embed], { perm: [1, 0] })]) : d.linear(final, model.lm_head, 'lm_head');
  return d.logits(logits, c.vocab_size);
}

/**
 * The ONNX bytes of a GPT or Llama forward with KV cache. With `packQuantized`, the model's
 * Q8_0 / Q4_0 layers (after `quantizeModel`), the tied head included, stay packed as MatMulNBits;
 * otherwise quantised layers are written dequantised, as float32.
 *
 * @example writeFileAtomic('model.onnx', exportOnnxModel(model));
 * @example quantizeModel(model, 'q4_0'); writeFileAtomic('model_q4.onnx', exportOnnxModel(model, { packQuantized: true }));
 */
export function exportOnnxModel(model: GPT | Llama, options: { packQuantized?: boolean } = {}): Uint8Array {
  const pack = options.packQuantized ?? false;
  if (model instanceof GPT) return gptGraph(model, pack);
  if (model instanceof Llama) return llamaGraph(model, pack);
  throw new QkvValueError(`exportOnnx: no ONNX graph for ${(model as object).constructor.name} (GPT, Llama)`);
}
