/**
 * The model stage of the pipeline: one pre-tokenised word (in the model's alphabet) → ids.
 * BPE and WordPiece implement it; the pipeline (`tokenizer.ts`) caches its answers per word.
 */
export interface TokenizerModel {
  /** `BPE` or `WordPiece`, as `model.type` in `tokenizer.json`. */
  readonly type: 'BPE' | 'WordPiece';
  /** The token used for what cannot be encoded, if the model has one. */
  readonly unkToken: string | null;
  /** One more than the largest id. */
  readonly vocabSize: number;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** Appends the ids of one word to out. */
  tokenizeWord(word: string, out: number[]): void;
  /** The vocabulary, token → id. */
  getVocab(): Map<string, number>;
  toJSON(): Record<string, unknown>;
}

/** id → token array from a token → id map (holes stay undefined). */
export function invertVocab(vocab: ReadonlyMap<string, number>): string[] {
  let size = 0;
  for (const id of vocab.values()) size = Math.max(size, id + 1);
  const out: string[] = new Array(size);
  for (const [token, id] of vocab) out[id] = token;
  return out;
}
