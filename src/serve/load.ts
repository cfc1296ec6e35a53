/**
 * Model folders → what the server serves: a causal LM (with a LoRA adapter, when given) and its
 * chat template, and a BERT folder as the embedder. Model ids are the folders' names, as
 * clients will write them in `model`.
 *
 * @example
 * const { served, chatTemplate } = loadServedModel('runs/small', { adapter: 'runs/lora' });
 */
import { basename, resolve } from 'node:path';
import { readChatTemplate } from '../adapt/chat-template.ts';
import { loadLoraAdapter } from '../adapt/peft-files.ts';
import type { Embedder } from '../apps/embedder.ts';
import { embedTexts } from '../models/bert-embed.ts';
import { bertBody } from '../models/bert-heads.ts';
import { loadModel } from '../models/load.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { ServedModel } from './engine.ts';
import type { ServedEmbedder } from './embeddings.ts';

/** The name a folder is served under: its last path component. */
export function modelIdOf(dir: string): string {
  return basename(resolve(dir));
}

export function loadServedModel(dir: string, options: { adapter?: string; id?: string } = {}): { served: ServedModel; chatTemplate?: string } {
  const loaded = loadModel(dir);
  if (loaded.kind !== 'causal-lm') throw new QkvValueError(`--model ${dir}: a ${loaded.modelType} folder does not generate text; serve it with --embed-model`);
  let id = options.id ?? modelIdOf(dir);
  if (options.adapter !== undefined) {
    loadLoraAdapter(loaded.model, options.adapter);
    if (options.id === undefined) id = `${id}+${modelIdOf(options.adapter)}`;
  }
  const served = new ServedModel({ id, model: loaded.model, tokenizer: loaded.tokenizer, generationConfig: loaded.generationConfig });
  return { served, chatTemplate: readChatTemplate(dir) ?? undefined };
}

/** A BERT folder as an `Embedder`: mean-pooled, L2-normalised sentence vectors (`embedTexts`). */
export function loadServedEmbedder(dir: string, options: { id?: string } = {}): ServedEmbedder {
  const loaded = loadModel(dir);
  if (loaded.kind !== 'bert') throw new QkvValueError(`--embed-model ${dir}: expected a BERT folder (model_type "bert"), got "${loaded.modelType}"`);
  const { model, tokenizer } = loaded;
  const maxTokens = bertBody(model).config.max_position_embeddings;
  const embedder: Embedder = {
    maxTokens,
    // With the special tokens ([CLS] … [SEP]), as the model sees them.
    countTokens: (text) => tokenizer.encode(text).ids.length,
    embed: (texts) => embedTexts(model, tokenizer, texts).map((vector) => Array.from(vector)),
  };
  return { id: options.id ?? modelIdOf(dir), embedder };
}
