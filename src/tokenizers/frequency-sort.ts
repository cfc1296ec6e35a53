/**
 * Frequency-sorted vocabularies: the tokenizer renumbered so that id 0 is the most frequent token
 * of a corpus, id 1 the next, and so on. An adaptive softmax (src/nn/adaptive-softmax.ts) needs
 * this: its cheap head scores the ids below the first cutoff, so those must be the frequent ones
 * (Zipf's law then sends most rows nowhere else).
 *
 * The permutation is not stored beside the model: the renumbered tokenizer's own vocabulary holds
 * it (its tokenizer.json maps each token to its sorted id), so tokenizer ids and model ids agree
 * and any reader of tokenizer.json, transformers included, sees the same ids. Merges are pairs of
 * token strings, so BPE encodes exactly the same tokens; only their numbers change.
 */
import { isJsonObject, type JsonObject } from '../io/config.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { tokenizerFromJson, tokenizerToJson } from './tokenizer-json.ts';
import type { Tokenizer } from './tokenizer.ts';

export interface FrequencySortResult {
  /** The same tokenizer with frequency-ranked ids. */
  tokenizer: Tokenizer;
  /** newIdOf[oldId] = the token's id in the sorted tokenizer (its frequency rank), (V). */
  newIdOf: Int32Array;
  /** How often each sorted id occurred in the corpus, descending, (V). */
  counts: Float64Array;
}

/**
 * newIdOf[oldId] for ids counted over a corpus: most frequent first, ties (unseen tokens
 * included) in their old order, so the permutation is deterministic.
 */
export function frequencyRanks(ids: ArrayLike<number>, vocabSize: number): { newIdOf: Int32Array; counts: Float64Array } {
  const counts = new Float64Array(vocabSize);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new QkvValueError(`frequencyRanks: id ${id} at position ${i} is outside [0, ${vocabSize})`);
    counts[id]++;
  }
  const order = Array.from({ length: vocabSize }, (_, id) => id).sort((a, b) => counts[b] - counts[a] || a - b);
  const newIdOf = new Int32Array(vocabSize);
  order.forEach((oldId, rank) => (newIdOf[oldId] = rank));
  return { newIdOf, counts: Float64Array.from(order, (oldId) => counts[oldId]) };
}

/** Renumbers the tokenizer over corpus text so its ids are frequency ranks. */
export function frequencySortTokenizer(tokenizer: Tokenizer, texts: string | Iterable<string>): FrequencySortResult {
  const ids: number[] = [];
  for (const text of typeof texts === 'string' ? [texts] : texts) for (const id of tokenizer.encodeIds(text)) ids.push(id);
  const { newIdOf, counts } = frequencyRanks(ids, tokenizer.vocabSize);
  return { tokenizer: renumberTokenizer(tokenizer, newIdOf), newIdOf, counts };
}

/**
 * The tokenizer with every id mapped through a permutation newIdOf (V): the vocabulary, added
 * tokens, the post-processor's special tokens and the pad id. Done on the tokenizer.json form,
 * which names every place an id lives, and read back through the same loader as a saved file.
 */
export function renumberTokenizer(tokenizer: Tokenizer, newIdOf: Int32Array): Tokenizer {
  const V = tokenizer.vocabSize;
  checkPermutation(newIdOf, V);
  const map = (id: number, where: string): number => {
    if (!Number.isInteger(id) || id < 0 || id >= V) throw new QkvValueError(`renumberTokenizer: ${where} holds id ${id}, outside [0, ${V})`);
    return newIdOf[id];
  };
  const json = tokenizerToJson(tokenizer);
  const model = json.model as JsonObject;
  if (!isJsonObject(model.vocab)) throw new QkvValueError(`renumberTokenizer: model type ${String(model.type)} has no token → id vocab to renumber`);
  const vocab: JsonObject = {};
  for (const [token, id] of Object.entries(model.vocab)) vocab[token] = map(id as number, `model.vocab[${JSON.stringify(token)}]`);
  model.vocab = vocab;
  json.added_tokens = (json.added_tokens as JsonObject[]).map((token) => ({ ...token, id: map(token.id as number, `added token ${JSON.stringify(token.content)}`) }));
  if (isJsonObject(json.padding)) json.padding.pad_id = map(json.padding.pad_id as number, 'padding.pad_id');
  if (isJsonObject(json.post_processor)) renumberPostProcessor(json.post_processor, map);
  return tokenizerFromJson(json, 'renumbered tokenizer');
}

/** TemplateProcessing's `special_tokens.X.ids`, BertProcessing's `cls`/`sep` pairs, nested Sequences. */
function renumberPostProcessor(processor: JsonObject, map: (id: number, where: string) => number): void {
  if (isJsonObject(processor.special_tokens)) {
    for (const [name, spec] of Object.entries(processor.special_tokens)) {
      if (isJsonObject(spec) && Array.isArray(spec.ids)) spec.ids = spec.ids.map((id) => map(id as number, `post_processor special token ${name}`));
    }
  }
  for (const key of ['cls', 'sep']) {
    const pair = processor[key];
    if (Array.isArray(pair) && pair.length === 2) pair[1] = map(pair[1] as number, `post_processor.${key}`);
  }
  if (Array.isArray(processor.processors)) for (const inner of processor.processors) if (isJsonObject(inner)) renumberPostProcessor(inner, map);
}

function checkPermutation(newIdOf: Int32Array, V: number): void {
  if (newIdOf.length !== V) throw new QkvValueError(`renumberTokenizer: permutation has ${newIdOf.length} entries for a vocabulary of ${V}`);
  const seen = new Uint8Array(V);
  for (let i = 0; i < V; i++) {
    const id = newIdOf[i];
    if (id < 0 || id >= V || seen[id]) throw new QkvValueError(`renumberTokenizer: not a permutation of [0, ${V}): entry ${i} is ${id}`);
    seen[id] = 1;
  }
}
