/**
 * The original Transformer (Vaswani et al. 2017, "Attention Is All You Need"): an encoder of N
 * identical layers and a decoder with masked self-attention and cross-attention over the encoder
 * output, in Hugging Face's BART/Marian module layout and parameter names
 * (`model.encoder.layers.0.self_attn.q_proj.weight`, `model.decoder.layers.0.encoder_attn…`,
 * `model.shared.weight`); the attention output projection keeps qkv's `o_proj` name.
 *
 * Legend: B = batch, S = source positions, T = target positions, C = d_model, V = vocab,
 * F = d_ff, NH = heads, hs = C / NH.
 *
 *   source (B,S) → embed·√C + positions → drop → N_enc × EncoderLayer → memory (B,S,C)
 *   target in (B,T) → embed·√C + positions → drop → N_dec × DecoderLayer(memory) → h · Eᵀ → logits (B,T,V)
 *   EncoderLayer: x = Norm(x + SelfAttn(x));  x = Norm(x + FFN(x))                 (post-LN, the paper)
 *   DecoderLayer: x = Norm(x + CausalSelfAttn(x)); x = Norm(x + CrossAttn(x, memory)); x = Norm(x + FFN(x))
 *   pre-LN (`normalize_before`): x = x + Sublayer(Norm(x)), and one final Norm after each stack
 *   FFN: Linear → ReLU → Dropout → Linear
 *
 * Every attention (encoder self, decoder self with its KV cache, cross with its keys/values
 * computed once) is the one `MultiHeadAttention` of src/nn. Decoding state and beam reordering
 * (`startDecoding`, `decodeStep`, `reorderState`) are what src/generate/beam.ts drives.
 */
import { QkvShapeError, QkvValueError, formatShape } from '../tensor/errors.ts';
import { mapUnary } from '../tensor/ops/broadcast.ts';
import { crossEntropy } from '../tensor/ops/loss.ts';
import { matmul } from '../tensor/ops/matmul.ts';
import { defaultRng, type Rng } from '../tensor/random.ts';
import { Tensor, type IndexLike } from '../tensor/tensor.ts';
import { Dropout } from '../nn/dropout.ts';
import { Embedding } from '../nn/embedding.ts';
import { normal_, xavierUniform_, zeros_ } from '../nn/init.ts';
import { Linear } from '../nn/linear.ts';
import { Module } from '../nn/module.ts';
import { MultiHeadAttention, type LayerCache } from '../nn/multi-head-attention.ts';
import { LayerNorm } from '../nn/norm.ts';
import { Buffer } from '../nn/parameter.ts';
import { ALiBi, RelativePositionBias, sinusoidalPositionEncoding, type AttentionBiasProvider } from '../nn/positions.ts';
import { resolveTransformerConfig, type TransformerConfig, type TransformerConfigInput } from './transformer-config.ts';
import { paddingMask, repeatRows, shiftTokensRight } from './transformer-inputs.ts';

/** RoPE base when `position` is 'rope'. */
const ROPE_THETA = 10000;

/** The position-wise feed-forward: Linear → ReLU → Dropout → Linear (BART's `fc1`, `fc2`). */
function feedForward(fc1: Linear, fc2: Linear, activationDropout: Dropout, x: Tensor): Tensor {
  return fc2.forward(activationDropout.forward(fc1.forward(x).relu())); // (B, T, C) → (B, T, F) → (B, T, C)
}

function newLinear(inFeatures: number, outFeatures: number, rng: Rng): Linear {
  const linear = new Linear(inFeatures, outFeatures, { rng });
  xavierUniform_(linear.weight, 1, rng); // fairseq's Transformer init
  zeros_(linear.bias!);
  return linear;
}

function newAttention(config: TransformerConfig, heads: number, causal: boolean, rng: Rng): MultiHeadAttention {
  const attention = new MultiHeadAttention({
    embedDim: config.d_model,
    numHeads: heads,
    causal,
    dropout: config.attention_dropout,
    rotaryTheta: config.position === 'rope' ? ROPE_THETA : null,
    rng,
  });
  for (const projection of [attention.q_proj!, attention.k_proj!, attention.v_proj!, attention.o_proj]) {
    xavierUniform_(projection.weight, 1, rng);
    zeros_(projection.bias!);
  }
  return attention;
}

/** Post-LN (`Norm(x + Sublayer(x))`) or pre-LN (`x + Sublayer(Norm(x))`) around one sublayer. */
function residual(preLN: boolean, norm: LayerNorm, dropout: Dropout, x: Tensor, sublayer: (h: Tensor) => Tensor): Tensor {
  if (preLN) return x.add(dropout.forward(sublayer(norm.forward(x))));
  return norm.forward(x.add(dropout.forward(sublayer(x))));
}

export class TransformerEncoderLayer extends Module {
  readonly self_attn: MultiHeadAttention;
  readonly self_attn_layer_norm: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly final_layer_norm: LayerNorm;
  readonly dropout: Dropout;
  readonly activation_dropout: Dropout;

  constructor(readonly config: TransformerConfig, rng: Rng) {
    super();
    const C = config.d_model;
    this.self_attn = newAttention(config, config.encoder_attention_heads, false, rng);
    this.self_attn_layer_norm = new LayerNorm(C, { eps: config.layer_norm_eps });
    this.fc1 = newLinear(C, config.encoder_ffn_dim, rng);
    this.fc2 = newLinear(config.encoder_ffn_dim, C, rng);
    this.final_layer_norm = new LayerNorm(C, { eps: config.layer_norm_eps });
    this.dropout = new Dropout(config.dropout);
    this.activation_dropout = new Dropout(config.activation_dropout);
  }

  /** x (B, S, C), mask (B, S) 1 for real tokens → (B, S, C). */
  forward(x: Tensor, mask: Tensor | null, attentionBias: Tensor | null): Tensor {
    const preLN = this.config.normalize_before;
    x = residual(preLN, this.self_attn_layer_norm, this.dropout, x, (h) => this.self_attn.forward(h, { keyPaddingMask: mask, attentionBias }));
    return residual(preLN, this.final_layer_norm, this.dropout, x, (h) => feedForward(this.fc1, this.fc2, this.activation_dropout, h));
  }
}

/** Per-layer decoding caches: self-attention keys/values grow by one position a step; cross ones are filled once. */
export interface DecoderLayerCaches {
  self: LayerCache;
  cross: LayerCache;
}

export class TransformerDecoderLayer extends Module {
  readonly self_attn: MultiHeadAttention;
  readonly self_attn_layer_norm: LayerNorm;
  readonly encoder_attn: MultiHeadAttention;
  readonly encoder_attn_layer_norm: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly final_layer_norm: LayerNorm;
  readonly dropout: Dropout;
  readonly activation_dropout: Dropout;

  constructor(readonly config: TransformerConfig, rng: Rng) {
    super();
    const C = config.d_model;
    this.self_attn = newAttention(config, config.decoder_attention_heads, true, rng);
    this.self_attn_layer_norm = new LayerNorm(C, { eps: config.layer_norm_eps });
    this.encoder_attn = newAttention({ ...config, position: 'none' }, config.decoder_attention_heads, false, rng); // no positions across the two sequences
    this.encoder_attn_layer_norm = new LayerNorm(C, { eps: config.layer_norm_eps });
    this.fc1 = newLinear(C, config.decoder_ffn_dim, rng);
    this.fc2 = newLinear(config.decoder_ffn_dim, C, rng);
    this.final_layer_norm = new LayerNorm(C, { eps: config.layer_norm_eps });
    this.dropout = new Dropout(config.dropout);
    this.activation_dropout = new Dropout(config.activation_dropout);
  }

  /** x (B, T, C), memory (B, S, C) → (B, T, C). `targetMask` covers the cached positions too. */
  forward(x: Tensor, memory: Tensor, memoryMask: Tensor | null, targetMask: Tensor | null, attentionBias: Tensor | null, caches?: DecoderLayerCaches): Tensor {
    const preLN = this.config.normalize_before;
    x = residual(preLN, this.self_attn_layer_norm, this.dropout, x, (h) =>
      this.self_attn.forward(h, { keyPaddingMask: targetMask, attentionBias, cache: caches?.self }));
    x = residual(preLN, this.encoder_attn_layer_norm, this.dropout, x, (h) =>
      this.encoder_attn.forward(h, { context: memory, keyPaddingMask: memoryMask, cache: caches?.cross }));
    return residual(preLN, this.final_layer_norm, this.dropout, x, (h) => feedForward(this.fc1, this.fc2, this.activation_dropout, h));
  }
}

/** The positional part shared by both stacks: an added table (learned or sinusoidal) or a score bias. */
class PositionalStack extends Module {
  embed_positions: Embedding | null = null;
  /** (max_position_embeddings, C), a formula: not saved. */
  sinusoidal_positions: Buffer | null = null;
  relative_attention_bias: RelativePositionBias | null = null;
  alibi: ALiBi | null = null;

  constructor(readonly config: TransformerConfig, heads: number, bidirectional: boolean, rng: Rng) {
    super();
    const { position, max_position_embeddings: P, d_model: C } = config;
    if (position === 'learned') {
      this.embed_positions = new Embedding(P, C);
      normal_(this.embed_positions.weight, 0, config.init_std, rng);
    } else if (position === 'sinusoidal') {
      this.sinusoidal_positions = new Buffer(sinusoidalPositionEncoding(P, C), { persistent: false });
    } else if (position === 'relative') {
      this.relative_attention_bias = new RelativePositionBias(heads, { bidirectional, std: config.init_std, rng });
    } else if (position === 'alibi') {
      this.alibi = new ALiBi(heads);
    }
  }

  /** Token embeddings (B, T, C) of positions start … start + T − 1, scaled, plus the position table. */
  embed(tokens: Tensor, start: number): Tensor {
    const T = tokens.shape[1];
    if (start + T > this.config.max_position_embeddings) {
      throw new QkvValueError(`Transformer: ${start + T} positions exceed max_position_embeddings ${this.config.max_position_embeddings}`);
    }
    // √C: the paper scales the embeddings up so the fixed sinusoids (amplitude 1) do not drown them.
    let x = this.config.scale_embedding ? tokens.mul(Math.sqrt(this.config.d_model)) : tokens;
    if (this.embed_positions !== null) x = x.add(this.embed_positions.forward(Tensor.arange(start, start + T))); // + (T, C)
    if (this.sinusoidal_positions !== null) x = x.add(this.sinusoidal_positions.narrow(0, start, T));
    return x;
  }

  /** (1, NH, T, start + T) score bias for ALiBi / T5 buckets, or null. */
  scoreBias(queryLength: number, start: number): Tensor | null {
    const provider: AttentionBiasProvider | null = this.relative_attention_bias ?? this.alibi;
    return provider === null ? null : provider.bias(queryLength, start + queryLength, start);
  }
}

export class TransformerEncoder extends PositionalStack {
  embed_tokens: Embedding;
  readonly dropout: Dropout;
  readonly layers: TransformerEncoderLayer[];
  /** Final norm of the pre-LN stack (post-LN normalises inside each layer). */
  readonly layer_norm: LayerNorm | null;

  constructor(config: TransformerConfig, embedTokens: Embedding, rng: Rng) {
    super(config, config.encoder_attention_heads, true, rng);
    this.embed_tokens = embedTokens;
    this.dropout = new Dropout(config.dropout);
    this.layers = Array.from({ length: config.encoder_layers }, () => new TransformerEncoderLayer(config, rng));
    this.layer_norm = config.normalize_before ? new LayerNorm(config.d_model, { eps: config.layer_norm_eps }) : null;
  }

  /** ids (B, S), mask (B, S) → memory (B, S, C). */
  forward(ids: Tensor, mask: Tensor | null): Tensor {
    let x = this.dropout.forward(this.embed(this.embed_tokens.forward(ids), 0));
    const bias = this.scoreBias(ids.shape[1], 0);
    for (const layer of this.layers) x = layer.forward(x, mask, bias);
    return this.layer_norm === null ? x : this.layer_norm.forward(x);
  }
}

export class TransformerDecoder extends PositionalStack {
  embed_tokens: Embedding;
  readonly dropout: Dropout;
  readonly layers: TransformerDecoderLayer[];
  readonly layer_norm: LayerNorm | null;

  constructor(config: TransformerConfig, embedTokens: Embedding, rng: Rng) {
    super(config, config.decoder_attention_heads, false, rng);
    this.embed_tokens = embedTokens;
    this.dropout = new Dropout(config.dropout);
    this.layers = Array.from({ length: config.decoder_layers }, () => new TransformerDecoderLayer(config, rng));
    this.layer_norm = config.normalize_before ? new LayerNorm(config.d_model, { eps: config.layer_norm_eps }) : null;
  }

  /** ids (B, T) at positions start…, memory (B, S, C) → hidden states (B, T, C). */
  forward(ids: Tensor, memory: Tensor, memoryMask: Tensor | null, targetMask: Tensor | null, caches?: DecoderLayerCaches[], start = 0): Tensor {
    let x = this.dropout.forward(this.embed(this.embed_tokens.forward(ids), start));
    const bias = this.scoreBias(ids.shape[1], start);
    for (const [i, layer] of this.layers.entries()) x = layer.forward(x, memory, memoryMask, targetMask, bias, caches?.[i]);
    return this.layer_norm === null ? x : this.layer_norm.forward(x);
  }
}

/** BART's `model`: the shared table (or none), the encoder and the decoder. */
export class TransformerBody extends Module {
  /** Source and target table when shared (`model.shared.weight`); null with separate tables. */
  readonly shared: Embedding | null;
  readonly encoder: TransformerEncoder;
  readonly decoder: TransformerDecoder;

  constructor(config: TransformerConfig, rng: Rng) {
    super();
    const newTable = (): Embedding => {
      const table = new Embedding(config.vocab_size, config.d_model);
      // fairseq: N(0, C^-1/2), so the √C-scaled embedding has unit scale like the sinusoids.
      normal_(table.weight, 0, config.scale_embedding ? 1 / Math.sqrt(config.d_model) : config.init_std, rng);
      return table;
    };
    this.shared = config.share_encoder_decoder_embeddings ? newTable() : null;
    this.encoder = new TransformerEncoder(config, this.shared ?? newTable(), rng);
    this.decoder = new TransformerDecoder(config, this.shared ?? newTable(), rng);
  }
}

/** What `decodeStep` carries between steps, B·beams rows. */
export interface TransformerDecodingState {
  /** (N, S, C) encoder output, each source repeated once per beam. */
  memory: Tensor;
  /** (N, S) source padding mask. */
  memoryMask: Tensor;
  caches: DecoderLayerCaches[];
  /** Positions decoded so far. */
  length: number;
}

/**
 * Encoder–decoder Transformer with a language-model head tied to the target embedding (or a
 * separate `lm_head` with `tie_word_embeddings: false`).
 *
 * @example
 * const model = new Transformer({ vocab_size: 40, ...TRANSFORMER_PRESETS.tiny, pad_token_id: 0, bos_token_id: 1, eos_token_id: 2 });
 * const { logits, loss } = model.forward(sourceIds, { targets: labels }); // (B, S), labels (B, T) with −100 padding → (B, T, V)
 */
export class Transformer extends Module {
  readonly config: TransformerConfig;
  readonly model: TransformerBody;
  readonly lm_head: Linear | null;

  constructor(config: TransformerConfigInput, options: { rng?: Rng } = {}) {
    super();
    this.config = resolveTransformerConfig(config);
    const rng = options.rng ?? defaultRng;
    this.model = new TransformerBody(this.config, rng);
    this.lm_head = this.config.tie_word_embeddings ? null : new Linear(this.config.d_model, this.config.vocab_size, { bias: false, rng });
  }

  get vocabSize(): number {
    return this.config.vocab_size;
  }
  get contextLength(): number {
    return this.config.max_position_embeddings;
  }
  get decoderStartTokenId(): number {
    return this.config.decoder_start_token_id;
  }
  get eosTokenId(): number {
    return this.config.eos_token_id;
  }

  /** hidden (B, T, C) → logits (B, T, V). */
  logits(hidden: Tensor): Tensor {
    if (this.lm_head !== null) return this.lm_head.forward(hidden);
    return matmul(hidden, this.model.decoder.embed_tokens.weight.transpose(0, 1)); // (B, T, C) · (C, V) → (B, T, V)
  }

  /** Source ids (B, S) → encoder output (B, S, C) and its padding mask (B, S). */
  encode(sourceIds: Tensor): { memory: Tensor; memoryMask: Tensor } {
    if (sourceIds.ndim !== 2) throw new QkvShapeError(`Transformer: source ids must be (B,S), got ${formatShape(sourceIds.shape)}`);
    const memoryMask = paddingMask(sourceIds, this.config.pad_token_id);
    return { memory: this.model.encoder.forward(sourceIds, memoryMask), memoryMask };
  }

  /**
   * Teacher forcing: source ids (B, S) and either `targets` (labels (B, T), −100 or pad for
   * padding; the decoder input is them shifted right behind `decoder_start_token_id`, as HF's
   * `shift_tokens_right`) or explicit `decoderInputIds` (B, T). Returns logits (B, T, V), and
   * with targets the label-smoothed mean cross-entropy over the real target tokens.
   */
  forward(sourceIds: Tensor, options: { targets?: IndexLike; decoderInputIds?: Tensor } = {}): { logits: Tensor; loss?: Tensor } {
    const { memory, memoryMask } = this.encode(sourceIds);
    let labels: Tensor | null = null;
    if (options.targets !== undefined) {
      labels = options.targets instanceof Tensor ? options.targets : Tensor.from(Array.from(options.targets), [sourceIds.shape[0], options.targets.length / sourceIds.shape[0]]);
    }
    const decoderInputIds = options.decoderInputIds ?? (labels === null ? null : shiftTokensRight(labels, this.config.pad_token_id, this.config.decoder_start_token_id));
    if (decoderInputIds === null) throw new QkvValueError('Transformer.forward: give targets (labels) or decoderInputIds');
    const targetMask = paddingMask(decoderInputIds, this.config.pad_token_id);
    // The start token may be the pad id (Marian): position 0 is always real.
    for (let b = 0; b < targetMask.shape[0]; b++) targetMask.data[b * targetMask.shape[1]] = 1;
    const hidden = this.model.decoder.forward(decoderInputIds, memory, memoryMask, targetMask);
    const logits = this.logits(hidden);
    if (labels === null) return { logits };
    const ignored = mapUnary(labels, (id) => (id === this.config.pad_token_id ? -100 : id));
    return { logits, loss: crossEntropy(logits, ignored, { labelSmoothing: this.config.label_smoothing }) };
  }

  // ---- incremental decoding (src/generate/beam.ts) --------------------------------------------

  /** Runs the encoder once over (B, S) and prepares B·numBeams decoding rows. */
  startDecoding(sourceIds: Tensor, numBeams = 1): TransformerDecodingState {
    const { memory, memoryMask } = this.encode(sourceIds);
    return {
      memory: repeatRows(memory, numBeams),
      memoryMask: repeatRows(memoryMask, numBeams),
      caches: this.model.decoder.layers.map(() => ({ self: { keys: null, values: null }, cross: { keys: null, values: null } })),
      length: 0,
    };
  }

  /** One token per row (N) → next-token logits (N, V); appends to the self-attention caches. */
  decodeStep(state: TransformerDecodingState, tokens: Int32Array): Tensor {
    const N = tokens.length;
    const ids = new Tensor(Float32Array.from(tokens), [N, 1]);
    const hidden = this.model.decoder.forward(ids, state.memory, state.memoryMask, null, state.caches, state.length); // (N, 1, C)
    state.length++;
    return this.logits(hidden).reshape([N, this.config.vocab_size]);
  }

  /** Keeps decoding rows `indices` (beam reordering); cross-attention keys/values are the same across a source's beams and stay. */
  reorderState(state: TransformerDecodingState, indices: Int32Array): void {
    for (const { self } of state.caches) {
      if (self.keys !== null && self.values !== null) {
        self.keys = self.keys.indexSelect(0, indices);
        self.values = self.values.indexSelect(0, indices);
      }
    }
  }
}
