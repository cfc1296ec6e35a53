/**
 * The qkv BERT encoder as an `Embedder`: mean pooling over the real tokens, L2-normalised
 * (src/models/bert-embed.ts), batched. Any Hugging Face BERT-architecture folder (config.json +
 * model.safetensors + tokenizer.json, e.g. the MiniLM sentence-embedder layout) loads.
 *
 * The embedder's name carries a hash of the weights file, so an index refuses queries embedded
 * by a different (say, retrained) model, even one saved to the same folder.
 *
 * @example
 *   const embedder = loadBertEmbedder('runs/embedder');
 *   const [vector] = await embedder.embed(['a cat sat on the mat']); // Float32Array(hidden_size), ‖v‖ = 1
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MODEL_FOLDER_FILES } from '../io/model-folder.ts';
import { embedTexts } from '../models/bert-embed.ts';
import { loadBert } from '../models/bert-folder.ts';
import { bertBody, type AnyBert } from '../models/bert-heads.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import type { Embedder } from './embedder.ts';

export interface BertEmbedderOptions {
  name?: string;
  /** Tokens per text, [CLS] and [SEP] included (default: the model's positions, at most 256). */
  maxLength?: number;
  /** Texts per forward pass (default 32). */
  batchSize?: number;
}

export function bertEmbedder(model: AnyBert, tokenizer: Tokenizer, options: BertEmbedderOptions = {}): Embedder {
  const body = bertBody(model);
  const maxLength = options.maxLength ?? Math.min(256, body.config.max_position_embeddings);
  return {
    name: options.name ?? `bert(${body.config.hidden_size}d, ${body.config.num_hidden_layers} layers)`,
    dim: body.config.hidden_size,
    embed: async (texts) => embedTexts(model, tokenizer, texts, { maxLength, batchSize: options.batchSize }),
  };
}

/** Loads a BERT folder as an embedder named `bert:<first 12 hex digits of sha-256(model.safetensors)>`. */
export function loadBertEmbedder(dir: string, options: Omit<BertEmbedderOptions, 'name'> = {}): Embedder {
  const { model, tokenizer } = loadBert(dir);
  const digest = createHash('sha256').update(readFileSync(join(dir, MODEL_FOLDER_FILES.weights))).digest('hex').slice(0, 12);
  return bertEmbedder(model, tokenizer, { ...options, name: `bert:${digest}` });
}
