/**
 * The RNN sequence-to-sequence model the Transformer replaced, in two forms that differ only in
 * where the decoder's context comes from:
 *
 * - `attention: 'none'` (Cho et al. 2014): the GRU encoder's final state c is the one fixed vector
 *   that carries the whole source; the decoder starts from it and sees it at every step.
 * - `attention: 'additive'` (Bahdanau et al. 2015): at each step the previous decoder state asks
 *   additive attention (src/nn/additive-attention.ts) over all encoder states for a fresh context.
 *
 * Legend: B = batch, S = source positions, T = target positions, E = embedding width,
 * H = hidden size, V = vocab.
 *
 *   source (B,S) → embed → GRU → states (B,S,H), c = last real state (B,H)
 *   step t: context_t = c | attend(s_{t−1}, states);  s_t = GRUCell([embed(y_{t−1}); context_t], s_{t−1})
 *           logits_t = lm_head([s_t; context_t])        (B, V)
 *
 * Everything is tensor ops, so autograd trains it end to end (teacher forcing through `forward`);
 * `startDecoding` / `decodeStep` / `reorderState` are what src/generate/beam.ts drives.
 */
import { QkvShapeError, QkvValueError, formatShape } from '../tensor/errors.ts';
import { mapUnary } from '../tensor/ops/broadcast.ts';
import { crossEntropy } from '../tensor/ops/loss.ts';
import { concat, stack } from '../tensor/ops/shape.ts';
import { defaultRng, type Rng } from '../tensor/random.ts';
import { Tensor, type IndexLike } from '../tensor/tensor.ts';
import { AdditiveAttention } from '../nn/additive-attention.ts';
import { Dropout } from '../nn/dropout.ts';
import { Embedding } from '../nn/embedding.ts';
import { GRU, GRUCell } from '../nn/gru.ts';
import { normal_ } from '../nn/init.ts';
import { Linear } from '../nn/linear.ts';
import { Module } from '../nn/module.ts';
import { paddingMask, repeatRows, shiftTokensRight } from './transformer-inputs.ts';

export const RNN_ATTENTION_KINDS = ['none', 'additive'] as const;
export type RnnAttentionKind = (typeof RNN_ATTENTION_KINDS)[number];

/** `config.json` of the GRU seq2seq (qkv-specific `model_type: "rnn-seq2seq"`; HF names where they exist). */
export interface RnnSeq2SeqConfig {
  vocab_size: number;
  /** Token embedding width E (shared by source and target). */
  embedding_size: number;
  /** GRU state width H of encoder and decoder. */
  hidden_size: number;
  /** 'none': one fixed context vector; 'additive': Bahdanau attention. */
  attention: RnnAttentionKind;
  /** Dropout on the embeddings and on the decoder output (default 0). */
  dropout: number;
  /** ε of label smoothing in the training loss (default 0). */
  label_smoothing: number;
  /** Longest target decoded (an RNN has no position limit; the trainer and generator read it). */
  max_position_embeddings: number;
  pad_token_id: number;
  bos_token_id: number;
  eos_token_id: number;
  decoder_start_token_id: number;
}

export type RnnSeq2SeqConfigInput = Partial<RnnSeq2SeqConfig> & Pick<RnnSeq2SeqConfig, 'vocab_size' | 'pad_token_id' | 'bos_token_id' | 'eos_token_id'>;

export function resolveRnnSeq2SeqConfig(input: RnnSeq2SeqConfigInput): RnnSeq2SeqConfig {
  const config: RnnSeq2SeqConfig = {
    embedding_size: 64,
    hidden_size: 128,
    attention: 'additive',
    dropout: 0,
    label_smoothing: 0,
    max_position_embeddings: 256,
    decoder_start_token_id: input.bos_token_id,
    ...input,
  };
  for (const field of ['vocab_size', 'embedding_size', 'hidden_size', 'max_position_embeddings'] as const) {
    if (!Number.isInteger(config[field]) || config[field] <= 0) throw new QkvValueError(`RnnSeq2SeqConfig: ${field} must be a positive integer, got ${config[field]}`);
  }
  for (const field of ['pad_token_id', 'bos_token_id', 'eos_token_id', 'decoder_start_token_id'] as const) {
    if (!Number.isInteger(config[field]) || config[field] < 0 || config[field] >= config.vocab_size) {
      throw new QkvValueError(`RnnSeq2SeqConfig: ${field} must be a token id in [0, ${config.vocab_size}), got ${config[field]}`);
    }
  }
  if (!RNN_ATTENTION_KINDS.includes(config.attention)) {
    throw new QkvValueError(`RnnSeq2SeqConfig: attention must be one of ${RNN_ATTENTION_KINDS.join(', ')}, got ${JSON.stringify(config.attention)}`);
  }
  for (const field of ['dropout', 'label_smoothing'] as const) {
    if (!(config[field] >= 0 && config[field] < 1)) throw new QkvValueError(`RnnSeq2SeqConfig: ${field} must be in [0, 1), got ${config[field]}`);
  }
  return config;
}

/** What `decodeStep` carries between steps, B·beams rows. */
export interface RnnDecodingState {
  /** (N, S, H) encoder states. */
  memory: Tensor;
  /** (N, S) source padding mask. */
  memoryMask: Tensor;
  /** (N, H) the fixed context vector (the encoder's last state). */
  fixedContext: Tensor;
  /** (N, H) decoder state s_{t−1}. */
  state: Tensor;
}

/**
 * @example
 * const model = new RnnSeq2Seq({ vocab_size: 40, hidden_size: 64, attention: 'additive', pad_token_id: 0, bos_token_id: 1, eos_token_id: 2 });
 * const { loss } = model.forward(sourceIds, { targets: labels }); // (B, S), labels (B, T) with −100 padding
 */
export class RnnSeq2Seq extends Module {
  readonly config: RnnSeq2SeqConfig;
  readonly embed_tokens: Embedding;
  readonly encoder: GRU;
  readonly decoder: GRUCell;
  readonly attention: AdditiveAttention | null;
  readonly dropout: Dropout;
  readonly lm_head: Linear;

  constructor(config: RnnSeq2SeqConfigInput, options: { rng?: Rng } = {}) {
    super();
    this.config = resolveRnnSeq2SeqConfig(config);
    const rng = options.rng ?? defaultRng;
    const { vocab_size: V, embedding_size: E, hidden_size: H } = this.config;
    this.embed_tokens = new Embedding(V, E);
    normal_(this.embed_tokens.weight, 0, 0.1, rng);
    this.encoder = new GRU(E, H, { rng });
    this.decoder = new GRUCell(E + H, H, { rng });
    this.attention = this.config.attention === 'additive' ? new AdditiveAttention({ queryDim: H, keyDim: H, hiddenDim: H, rng }) : null;
    this.dropout = new Dropout(this.config.dropout);
    this.lm_head = new Linear(2 * H, V, { rng });
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

  /** Source ids (B, S) → encoder states (B, S, H), the last real state (B, H) and the mask (B, S). */
  encode(sourceIds: Tensor): { memory: Tensor; fixedContext: Tensor; memoryMask: Tensor } {
    if (sourceIds.ndim !== 2) throw new QkvShapeError(`RnnSeq2Seq: source ids must be (B,S), got ${formatShape(sourceIds.shape)}`);
    const memoryMask = paddingMask(sourceIds, this.config.pad_token_id);
    const { outputs, last } = this.encoder.forward(this.dropout.forward(this.embed_tokens.forward(sourceIds)), { mask: memoryMask });
    return { memory: outputs, fixedContext: last, memoryMask };
  }

  /** One decoder step for tokens (N) → logits (N, V) and the new state (N, H). */
  private step(tokens: Tensor, previous: Tensor, memory: Tensor, memoryMask: Tensor, fixedContext: Tensor): { logits: Tensor; state: Tensor } {
    const N = tokens.shape[0];
    const H = this.config.hidden_size;
    const context = this.attention === null
      ? fixedContext
      : this.attention.forward(previous.reshape([N, 1, H]), memory, memory, { keyPaddingMask: memoryMask }).output.reshape([N, H]); // (N, 1, H) over (N, S, H) → (N, H)
    const embedded = this.dropout.forward(this.embed_tokens.forward(tokens)); // (N, E)
    const state = this.decoder.forward(concat([embedded, context], 1), previous); // (N, E + H) → (N, H)
    const logits = this.lm_head.forward(this.dropout.forward(concat([state, context], 1))); // (N, 2H) → (N, V)
    return { logits, state };
  }

  /** Teacher forcing as the Transformer's `forward`: labels (B, T) shifted right behind the start token. */
  forward(sourceIds: Tensor, options: { targets?: IndexLike; decoderInputIds?: Tensor } = {}): { logits: Tensor; loss?: Tensor } {
    const { memory, fixedContext, memoryMask } = this.encode(sourceIds);
    const B = sourceIds.shape[0];
    let labels: Tensor | null = null;
    if (options.targets !== undefined) {
      labels = options.targets instanceof Tensor ? options.targets : Tensor.from(Array.from(options.targets), [B, options.targets.length / B]);
    }
    const decoderInputIds = options.decoderInputIds ?? (labels === null ? null : shiftTokensRight(labels, this.config.pad_token_id, this.config.decoder_start_token_id));
    if (decoderInputIds === null) throw new QkvValueError('RnnSeq2Seq.forward: give targets (labels) or decoderInputIds');
    const T = decoderInputIds.shape[1];
    let state = fixedContext;
    const stepLogits: Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const tokens = decoderInputIds.narrow(1, t, 1).reshape([B]);
      const out = this.step(tokens, state, memory, memoryMask, fixedContext);
      stepLogits.push(out.logits);
      state = out.state;
    }
    const logits = stack(stepLogits, 1); // T × (B, V) → (B, T, V)
    if (labels === null) return { logits };
    const ignored = mapUnary(labels, (id) => (id === this.config.pad_token_id ? -100 : id));
    return { logits, loss: crossEntropy(logits, ignored, { labelSmoothing: this.config.label_smoothing }) };
  }

  // ---- incremental decoding (src/generate/beam.ts) --------------------------------------------

  startDecoding(sourceIds: Tensor, numBeams = 1): RnnDecodingState {
    const { memory, fixedContext, memoryMask } = this.encode(sourceIds);
    const repeatedContext = repeatRows(fixedContext, numBeams);
    return { memory: repeatRows(memory, numBeams), memoryMask: repeatRows(memoryMask, numBeams), fixedContext: repeatedContext, state: repeatedContext };
  }

  decodeStep(state: RnnDecodingState, tokens: Int32Array): Tensor {
    const out = this.step(new Tensor(Float32Array.from(tokens), [tokens.length]), state.state, state.memory, state.memoryMask, state.fixedContext);
    state.state = out.state;
    return out.logits;
  }

  /** Beams of one source share memory and context; only the decoder state moves with its beam. */
  reorderState(state: RnnDecodingState, indices: Int32Array): void {
    state.state = state.state.indexSelect(0, indices);
  }
}
