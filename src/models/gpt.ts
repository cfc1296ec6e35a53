/**
 * GPT: a decoder-only transformer in the GPT-2 layout, with Hugging Face `GPT2LMHeadModel`
 * parameter names and layouts, so a saved model is a valid Hugging Face folder.
 *
 * Legend: B = batch, T = time, C = channels (n_embd), V = vocab, NH = heads, hs = head size (C/NH).
 *
 *   ids (B,T) → wte + wpe → drop → n_layer × Block → ln_f → logits = h · wteᵀ (B,T,V)
 *   Block: x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))        (pre-LN, as GPT-2)
 *
 * `position` swaps GPT-2's learned `wpe` for another scheme (src/nn/positions.ts): a fixed
 * sinusoidal table added in its place, RoPE on q and k, an ALiBi or T5 relative bias on the
 * attention scores (one T5 table shared by all layers, as in T5), or nothing.
 *
 * `output: 'adaptive'` swaps the tied (C, V) head for an adaptive softmax (src/models/gpt-adaptive.ts):
 * the loss pays for the head and one tail cluster per row instead of all V logits; without
 * targets the "logits" are its exact log-probabilities (a softmax of them is the distribution).
 */
import { QkvShapeError, QkvValueError, formatShape } from '../tensor/errors.ts';
import { crossEntropy } from '../tensor/ops/loss.ts';
import { matmul } from '../tensor/ops/matmul.ts';
import { logSoftmax } from '../tensor/ops/softmax.ts';
import { defaultRng, type Rng } from '../tensor/random.ts';
import { Tensor, type IndexLike } from '../tensor/tensor.ts';
import { attendHeads, type LayerCache } from '../nn/multi-head-attention.ts';
import { ALiBi, POSITION_SCHEMES, RelativePositionBias, sinusoidalPositionEncoding, type AttentionBiasProvider, type PositionScheme } from '../nn/positions.ts';
import { Buffer } from '../nn/parameter.ts';
import { Conv1D } from '../nn/conv1d.ts';
import { Dropout } from '../nn/dropout.ts';
import { Embedding, type TokenTable } from '../nn/embedding.ts';
import { normal_ } from '../nn/init.ts';
import { Module } from '../nn/module.ts';
import { LayerNorm } from '../nn/norm.ts';
import type { CausalLM } from './causal-lm.ts';
import { GPT_OUTPUT_LAYERS, adaptiveOutput, buildAdaptiveHead, checkAdaptiveConfig, lastPositionLogProbs, type GPTOutputLayer } from './gpt-adaptive.ts';
import type { AdaptiveLogSoftmaxWithLoss } from '../nn/adaptive-softmax.ts';

/**
 * The tied logits projection h·Eᵀ held in another form, e.g. a Q8_0 copy of the embedding E
 * (src/compress/quantized-linear.ts): (*, C) → (*, V), no bias, inference only. It replaces the
 * V×C matmul that reads the whole table every token; quantizeModel and the GGUF loader also swap
 * the token table for a lookup on the same packed rows (src/compress/quantized-embedding.ts), so a
 * quantised model keeps no float (V, C) copy.
 */
export interface TiedLogitsHead extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  forward(x: Tensor): Tensor;
}

/** Checks a head's shape against (V, C); shared by GPT and Llama. */
export function checkTiedLogitsHead(owner: string, head: TiedLogitsHead, vocab: number, width: number): void {
  if (head.outFeatures !== vocab || head.inFeatures !== width) {
    throw new QkvShapeError(`${owner}: tied logits head must be (${vocab}, ${width}) (vocab, width), got (${head.outFeatures}, ${head.inFeatures})`);
  }
}

/** GPT-2's `config.json` fields, with the defaults chosen for a small model trained here. */
export interface GPTConfig {
  /** Tokens in the vocabulary (GPT-2: 50257). */
  vocab_size: number;
  /** Longest context; the learned position table has this many rows (GPT-2: 1024). */
  n_positions: number;
  /** Width C of the residual stream (GPT-2 small: 768). */
  n_embd: number;
  /** Number of transformer blocks (GPT-2 small: 12). */
  n_layer: number;
  /** Attention heads; n_embd must divide by it (GPT-2 small: 12). */
  n_head: number;
  /** LayerNorm epsilon (GPT-2: 1e-5). */
  layer_norm_epsilon: number;
  /** Dropout after the embeddings (GPT-2: 0.1; 0 here by default: small data, short runs underfit more than they overfit). */
  embd_pdrop: number;
  /** Dropout on attention weights (GPT-2: 0.1). */
  attn_pdrop: number;
  /** Dropout on each residual branch's output (GPT-2: 0.1). */
  resid_pdrop: number;
  /** Std of the normal initialisation (GPT-2: 0.02). */
  initializer_range: number;
  /**
   * Positional scheme (qkv-specific; GPT-2: 'learned', the `wpe` table). 'sinusoidal' adds the
   * fixed Vaswani table instead, 'rope' rotates q and k (θ = 10000), 'alibi' and 'relative'
   * (T5 buckets, learned) bias the attention scores, 'none' has no positions at all.
   */
  position: PositionScheme;
  /**
   * Output layer (qkv-specific, absent = 'full'): 'full' is GPT-2's tied h·wteᵀ over all V tokens;
   * 'adaptive' an untied adaptive softmax (Grave et al., 2017) over a frequency-sorted vocabulary.
   */
  output?: GPTOutputLayer;
  /** output 'adaptive': strictly increasing cluster boundaries in (0, vocab_size), e.g. [2000, 10000]. */
  adaptive_cutoffs?: number[];
  /** output 'adaptive': tail cluster i projects to n_embd / div^(i+1) (default 4). */
  adaptive_div_value?: number;
}

/** RoPE base for `position: 'rope'` (Llama's default). */
export const GPT_ROPE_THETA = 10000;

export const GPT_DEFAULTS: Omit<GPTConfig, 'vocab_size'> = {
  n_positions: 128,
  n_embd: 128,
  n_layer: 4,
  n_head: 4,
  layer_norm_epsilon: 1e-5,
  embd_pdrop: 0,
  attn_pdrop: 0,
  resid_pdrop: 0,
  initializer_range: 0.02,
  position: 'learned',
};

/** Fills defaults and checks the config; errors name the field. */
export function resolveGPTConfig(config: Partial<GPTConfig> & { vocab_size: number }): GPTConfig {
  const full: GPTConfig = { ...GPT_DEFAULTS, ...config };
  for (const field of ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head'] as const) {
    if (!Number.isInteger(full[field]) || full[field] <= 0) throw new QkvValueError(`GPTConfig: ${field} must be a positive integer, got ${full[field]}`);
  }
  if (full.n_embd % full.n_head !== 0) throw new QkvValueError(`GPTConfig: n_embd ${full.n_embd} is not divisible by n_head ${full.n_head}`);
  if (!POSITION_SCHEMES.includes(full.position)) {
    throw new QkvValueError(`GPTConfig: position must be one of ${POSITION_SCHEMES.join(', ')}, got ${JSON.stringify(full.position)}`);
  }
  for (const field of ['embd_pdrop', 'attn_pdrop', 'resid_pdrop'] as const) {
    if (!(full[field] >= 0 && full[field] < 1)) throw new QkvValueError(`GPTConfig: ${field} must be in [0, 1), got ${full[field]}`);
  }
  if (full.output !== undefined && !GPT_OUTPUT_LAYERS.includes(full.output)) {
    throw new QkvValueError(`GPTConfig: output must be one of ${GPT_OUTPUT_LAYERS.join(', ')}, got ${JSON.stringify(full.output)}`);
  }
  checkAdaptiveConfig(full);
  return full;
}

/** Past keys and values of one layer: (B, NH, P, hs) each, P positions so far. */
export type { LayerCache };

/** The KV cache of a whole model: one entry per layer, and how many positions it holds. */
export class KVCache {
  readonly layers: LayerCache[];
  /** growth 'concat': each step concatenates a new tensor instead of filling preallocated buffers (for comparisons). */
  constructor(numLayers: number, options: { growth?: 'buffer' | 'concat' } = {}) {
    this.layers = Array.from({ length: numLayers }, () => ({ keys: null, values: null, growth: options.growth ?? 'buffer' }));
  }
  /** Positions cached so far (the position of the next token). */
  get length(): number {
    return this.layers[0].keys?.shape[2] ?? 0;
  }
}

export interface ForwardOptions {
  /** Incremental decoding: past keys/values are read from it and the new ones appended. */
  cache?: KVCache;
  /** Keep each layer's (B, NH, T, Tk) attention weights on `attentionWeights`. */
  returnAttention?: boolean;
}

export class CausalSelfAttention extends Module {
  readonly c_attn: Conv1D;
  readonly c_proj: Conv1D;
  readonly attn_dropout: Dropout;
  readonly resid_dropout: Dropout;
  /** The last forward's attention weights (B, NH, T, Tk) when asked for; for inspection only. */
  attentionWeights: Tensor | null = null;

  constructor(readonly config: GPTConfig, rng: Rng) {
    super();
    const C = config.n_embd;
    this.c_attn = new Conv1D(C, 3 * C, { std: config.initializer_range, rng });
    // GPT-2: residual projections scaled by 1/√(2·n_layer), so the residual stream's variance
    // does not grow with depth (each block adds two branches).
    this.c_proj = new Conv1D(C, C, { std: config.initializer_range / Math.sqrt(2 * config.n_layer), rng });
    this.attn_dropout = new Dropout(config.attn_pdrop);
    this.resid_dropout = new Dropout(config.resid_pdrop);
  }

  /** x (B, T, C) → (B, T, C); `attentionBias` (1, NH, T, P + T) is the ALiBi/T5 bias, when used. */
  forward(x: Tensor, cache?: LayerCache, returnWeights = false, attentionBias: Tensor | null = null): Tensor {
    const [B, T, C] = x.shape;
    const NH = this.config.n_head;
    const hs = C / NH;
    const qkv = this.c_attn.forward(x); // (B, T, 3C)
    const [q, k, v] = qkv.split(C, 2).map((part) => part.reshape([B, T, NH, hs]).transpose(1, 2)); // 3 × (B, NH, T, hs)
    // Cache, RoPE, masks and bias: the shared multi-head attention core (src/nn/multi-head-attention.ts).
    const { output, weights } = attendHeads(q, k, v, {
      causal: true,
      cache,
      rotaryTheta: this.config.position === 'rope' ? GPT_ROPE_THETA : null,
      attentionBias,
      dropout: { p: this.config.attn_pdrop, training: this.training, rng: defaultRng },
      returnWeights: returnWeights,
    });
    this.attentionWeights = weights ?? null;
    const merged = output.transpose(1, 2).reshape([B, T, C]); // (B, T, NH, hs) → (B, T, C)
    return this.resid_dropout.forward(this.c_proj.forward(merged));
  }
}

export class MLP extends Module {
  readonly c_fc: Conv1D;
  readonly c_proj: Conv1D;
  readonly dropout: Dropout;

  constructor(config: GPTConfig, rng: Rng) {
    super();
    const C = config.n_embd;
    this.c_fc = new Conv1D(C, 4 * C, { std: config.initializer_range, rng });
    this.c_proj = new Conv1D(4 * C, C, { std: config.initializer_range / Math.sqrt(2 * config.n_layer), rng });
    this.dropout = new Dropout(config.resid_pdrop);
  }

  forward(x: Tensor): Tensor {
    // c_fc then GPT-2's "gelu_new" (the tanh approximation), its bias add fused into the GELU:
    // one pass instead of two over the (B, T, 4C) activations (GPT step ~6% faster).
    const hidden = this.c_fc.forwardGelu(x); // (B, T, 4C)
    return this.dropout.forward(this.c_proj.forward(hidden));
  }
}

export class Block extends Module {
  readonly ln_1: LayerNorm;
  readonly attn: CausalSelfAttention;
  readonly ln_2: LayerNorm;
  readonly mlp: MLP;

  constructor(config: GPTConfig, rng: Rng) {
    super();
    this.ln_1 = new LayerNorm(config.n_embd, { eps: config.layer_norm_epsilon });
    this.attn = new CausalSelfAttention(config, rng);
    this.ln_2 = new LayerNorm(config.n_embd, { eps: config.layer_norm_epsilon });
    this.mlp = new MLP(config, rng);
  }

  forward(x: Tensor, cache?: LayerCache, returnWeights = false, attentionBias: Tensor | null = null): Tensor {
    const afterAttention = x.add(this.attn.forward(this.ln_1.forward(x), cache, returnWeights, attentionBias));
    return afterAttention.add(this.mlp.forward(this.ln_2.forward(afterAttention)));
  }
}

/** The body, named `transformer` as in Hugging Face (`transformer.h.0.attn.c_attn.weight`). */
export class GPTTransformer extends Module {
  /** An `Embedding`; in a quantised model the packed table of the tied head (no float copy). */
  readonly wte: TokenTable;
  /** The learned position table (position 'learned' only). */
  readonly wpe: Embedding | null;
  /** (n_positions, C) fixed table (position 'sinusoidal' only); not saved: it is a formula. */
  readonly sinusoidal_positions: Buffer | null;
  /** T5 bias shared by every layer (position 'relative' only): `transformer.relative_attention_bias.weight` (32, NH). */
  readonly relative_attention_bias: RelativePositionBias | null;
  readonly drop: Dropout;
  readonly h: Block[];
  readonly ln_f: LayerNorm;
  /** ALiBi's fixed slopes (position 'alibi' only); no state. */
  readonly alibi: ALiBi | null;

  constructor(config: GPTConfig, rng: Rng) {
    super();
    const wte = new Embedding(config.vocab_size, config.n_embd);
    normal_(wte.weight, 0, config.initializer_range, rng);
    this.wte = wte;
    this.wpe = null;
    if (config.position === 'learned') {
      this.wpe = new Embedding(config.n_positions, config.n_embd);
      normal_(this.wpe.weight, 0, config.initializer_range, rng);
    }
    // Scaled so each entry has the std of the token embeddings (initializer_range; sin and cos have
    // rms 1/√2): at unit amplitude the table drowns the 0.02-scale token embeddings and a short
    // run learns little beyond unigram statistics. (Vaswani et al. instead scale the embeddings up by √C.)
    this.sinusoidal_positions = config.position === 'sinusoidal'
      ? new Buffer(sinusoidalPositionEncoding(config.n_positions, config.n_embd).mul(config.initializer_range * Math.SQRT2), { persistent: false })
      : null;
    this.relative_attention_bias = config.position === 'relative'
      ? new RelativePositionBias(config.n_head, { bidirectional: false, std: config.initializer_range, rng })
      : null;
    this.drop = new Dropout(config.embd_pdrop);
    this.h = Array.from({ length: config.n_layer }, () => new Block(config, rng));
    this.ln_f = new LayerNorm(config.n_embd, { eps: config.layer_norm_epsilon });
    this.alibi = config.position === 'alibi' ? new ALiBi(config.n_head) : null;
  }

  /** The score bias of the ALiBi or T5 scheme, or null. */
  get positionBias(): AttentionBiasProvider | null {
    return this.alibi ?? this.relative_attention_bias;
  }
}

/**
 * GPT-2 language model. The LM head is tied to the token embedding (logits = h·wteᵀ), so there
 * is no separate `lm_head.weight`, as in Hugging Face's safetensors files for GPT-2.
 *
 * @example
 * const model = new GPT({ vocab_size: 65, n_layer: 2 });
 * const { logits, loss } = model.forward(ids, { targets }); // ids, targets (B, T)
 */
export class GPT extends Module implements CausalLM {
  // Dropout draws from the global `defaultRng` (saved in checkpoints, so resumed runs repeat
  // the same masks); `options.rng` only seeds the initial weights.
  readonly config: GPTConfig;
  readonly transformer: GPTTransformer;
  /** The adaptive softmax head (output 'adaptive' only; declared after `transformer`, so full models draw the same weights). */
  readonly adaptive_head: AdaptiveLogSoftmaxWithLoss | null;
  /**
   * A quantised stand-in for the tied h·wteᵀ (set by quantizeModel or a quantised GGUF), or null
   * (float models: the logits are the matmul on wte). No parameters, so the state dict is unchanged.
   */
  tied_lm_head: TiedLogitsHead | null;

  get vocabSize(): number {
    return this.config.vocab_size;
  }
  get contextLength(): number {
    return this.config.n_positions;
  }

  constructor(config: Partial<GPTConfig> & { vocab_size: number }, options: { rng?: Rng } = {}) {
    super();
    this.config = resolveGPTConfig(config);
    this.transformer = new GPTTransformer(this.config, options.rng ?? defaultRng);
    this.adaptive_head = this.config.output === 'adaptive' ? buildAdaptiveHead(this.config, options.rng ?? defaultRng) : null;
    this.tied_lm_head = null;
  }

  /** Computes the full-softmax logits with `head` instead of h·wteᵀ (null: back to the float matmul). */
  setTiedLmHead(head: TiedLogitsHead | null): void {
    if (head !== null) {
      if (this.adaptive_head !== null) throw new QkvValueError("GPT: output 'adaptive' has no tied head to replace");
      checkTiedLogitsHead('GPT', head, this.config.vocab_size, this.config.n_embd);
    }
    this.tied_lm_head = head;
  }

  /** x (*, C) → logits (*, V) through the tied head. */
  private tiedLogits(x: Tensor): Tensor {
    if (this.tied_lm_head !== null) return this.tied_lm_head.forward(x);
    return matmul(x, this.transformer.wte.weight.transpose(0, 1)); // (*, C) · (C, V) → (*, V)
  }

  /**
   * ids (B, T) of token ids → logits (B, T, V); with `targets` (B, T) also the mean
   * cross-entropy loss (targets of -100 are ignored).
   */
  forward(ids: Tensor, options: ForwardOptions & { targets?: IndexLike } = {}): { logits: Tensor; loss?: Tensor } {
    const x = this.hiddenStates(ids, options); // (B, T, C)
    if (this.adaptive_head !== null) return adaptiveOutput(this.adaptive_head, x, options.targets);
    const logits = this.tiedLogits(x); // (B, T, C) → (B, T, V)
    if (options.targets === undefined) return { logits };
    const loss = crossEntropy(logits, options.targets); // over (B, T), ignoring -100
    return { logits, loss };
  }

  /** ids (B, T) → the final hidden states after ln_f (B, T, C), the input of the output layer. */
  hiddenStates(ids: Tensor, options: ForwardOptions = {}): Tensor {
    if (ids.ndim !== 2) throw new QkvShapeError(`GPT: ids must be (B,T), got ${formatShape(ids.shape)}`);
    const T = ids.shape[1];
    const start = options.cache?.length ?? 0;
    if (start + T > this.config.n_positions) {
      throw new QkvValueError(`GPT: sequence of ${start + T} positions exceeds n_positions ${this.config.n_positions}`);
    }
    const { wte, wpe, sinusoidal_positions, drop, h, ln_f, positionBias } = this.transformer;
    let x = wte.forward(ids); // (B, T, C)
    if (wpe !== null) x = x.add(wpe.forward(Tensor.arange(start, start + T))); // + (T, C)
    if (sinusoidal_positions !== null) x = x.add(sinusoidal_positions.narrow(0, start, T)); // + (T, C)
    x = drop.forward(x);
    // ALiBi / T5: one (1, NH, T, start + T) bias for queries at start… over all keys, shared by the layers.
    const attentionBias = positionBias === null ? null : positionBias.bias(T, start + T, start);
    for (const [layer, block] of h.entries()) {
      x = block.forward(x, options.cache?.layers[layer], options.returnAttention, attentionBias);
    }
    return ln_f.forward(x);
  }

  /**
   * ids (B, T) → log-probabilities of the token after each row's last position, (B, V): what a
   * sampler needs. Only those B rows go through the output layer (for the adaptive head, its
   * exact log-prob computation for B rows instead of B·T).
   */
  nextTokenLogProbs(ids: Tensor, options: ForwardOptions = {}): Tensor {
    const x = this.hiddenStates(ids, options); // (B, T, C)
    if (this.adaptive_head !== null) return lastPositionLogProbs(this.adaptive_head, x);
    const [B, T, C] = x.shape;
    const last = x.narrow(1, T - 1, 1).reshape([B, C]); // (B, C)
    return logSoftmax(this.tiedLogits(last), 1); // (B, C) → (B, V)
  }

  /** Each layer's attention weights from the last forward with `returnAttention` (B, NH, T, Tk). */
  attentionWeights(): (Tensor | null)[] {
    return this.transformer.h.map((block) => block.attn.attentionWeights);
  }

  newCache(): KVCache {
    return new KVCache(this.config.n_layer);
  }
}
