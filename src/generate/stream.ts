/**
 * The generation loop, independent of the model: anything that maps "all token ids so far" to
 * next-token logits can be driven by it (a GPT with its KV cache, a bigram table in a test).
 *
 * Each step: logits = step(ids) → sampleNextToken → stop on an eos id → decode the new text
 * (complete characters only) → stop strings → yield { tokenId, text }. The loop ends on an eos
 * token, a completed stop string, or after the new-token limit; held-back text is released on
 * the last token, so the pieces joined are exactly the final text.
 */
import { Rng, defaultRng } from '../tensor/random.ts';
import { newTokenLimit, resolveGenerationConfig, type GenerationConfig } from './config.ts';
import { IncrementalDecoder } from './incremental-decoder.ts';
import { sampleNextToken } from './sampler.ts';
import { StopMatcher, stopTokenPredicate } from './stop.ts';

export interface GenerateOptions {
  /** Next-token logits, (V), given every id so far (prompt + generated). May be async. */
  step(ids: readonly number[]): Float32Array | Promise<Float32Array>;
  /** Token ids → text (the tokenizer's decode). Called on the generated ids only, never the prompt. */
  decode(ids: readonly number[]): string;
  promptIds: readonly number[];
  config?: GenerationConfig;
  /** The sampler's generator. Default: `new Rng(config.seed)` when a seed is set, else `defaultRng`. */
  rng?: Rng;
}

/** One generated token and the text it made complete (often '', e.g. half of a UTF-8 character). */
export interface GeneratedPiece {
  tokenId: number;
  /** New text, never including a stop string or an eos token's text. */
  text: string;
}

/** Why generation ended: an eos token, a stop string, or the new-token limit. */
export type FinishReason = 'eos' | 'stop' | 'length';

export interface GenerationResult {
  /** The generated token ids (an eos token, or the token that completed a stop string, included, as HF does). */
  ids: number[];
  /** The generated text, cut before any stop string. */
  text: string;
  finishReason: FinishReason;
  /** Generated tokens per second of time spent in `step` and sampling (not in the consumer's loop body). */
  tokensPerSecond: number;
}

/**
 * Streams generated tokens as they are produced. The generator's return value (seen by
 * `generate`, not by `for await`) is the `GenerationResult`.
 *
 * @example
 * for await (const { text } of generateStream({ step, decode, promptIds, config: { do_sample: true, seed: 1 } })) {
 *   process.stdout.write(text);
 * }
 */
export async function* generateStream(options: GenerateOptions): AsyncGenerator<GeneratedPiece, GenerationResult, undefined> {
  const config = resolveGenerationConfig(options.config);
  const rng = options.rng ?? (config.seed !== null ? new Rng(config.seed) : defaultRng);
  const ids = [...options.promptIds];
  const generated: number[] = [];
  const limit = newTokenLimit(config, ids.length);
  const isStopToken = stopTokenPredicate(config.eos_token_id);
  const decoder = new IncrementalDecoder(options.decode);
  const matcher = new StopMatcher(config.stop);
  let text = '';
  let finishReason: FinishReason = 'length';
  let busyMs = 0;

  while (generated.length < limit) {
    const startMs = performance.now();
    const logits = await options.step(ids);
    const tokenId = sampleNextToken(logits, ids, config, rng, generated.length);
    busyMs += performance.now() - startMs;
    ids.push(tokenId);
    generated.push(tokenId);

    const isEos = isStopToken(tokenId);
    let isLast = isEos || generated.length >= limit;
    // The eos token's own text ("<|endoftext|>") is not part of the output.
    let newText = isEos ? '' : decoder.push(tokenId);
    if (isLast) newText += decoder.flush();
    const match = matcher.push(newText);
    let piece = match.text;
    if (match.stopped) {
      finishReason = 'stop';
      isLast = true;
    } else if (isLast) {
      piece += matcher.flush();
      finishReason = isEos ? 'eos' : 'length';
    }
    text += piece;
    yield { tokenId, text: piece };
    if (isLast) break;
  }

  const tokensPerSecond = busyMs > 0 ? generated.length / (busyMs / 1000) : 0;
  return { ids: generated, text, finishReason, tokensPerSecond };
}

/**
 * Runs `generateStream` to the end and returns the ids, the text and the speed.
 *
 * @example
 * const { text, ids, tokensPerSecond } = await generate({ step, decode, promptIds, config: { max_new_tokens: 50 } });
 */
export async function generate(options: GenerateOptions): Promise<GenerationResult> {
  const stream = generateStream(options);
  for (;;) {
    const next = await stream.next();
    if (next.done) return next.value;
  }
}
