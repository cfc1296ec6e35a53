/**
 * When to stop: on a stop token id (end of sequence), or on a stop string in the decoded text.
 *
 * Stop strings are matched on text as it streams, piece by piece. A piece may end with the start
 * of a stop string ("\n\nUs" of "\n\nUser:"), so that tail is held back until the next piece
 * decides: either the stop string completes (generation ends, the text is cut before it and the
 * stop string is never emitted) or it does not (the tail is released).
 */
import { QkvValueError } from '../tensor/errors.ts';

/** What `StopMatcher.push` says about the text seen so far. */
export interface StopMatch {
  /** Text that can be emitted now: it cannot be part of a stop string. */
  text: string;
  /** True when a stop string completed: `text` ends just before it and the stream is over. */
  stopped: boolean;
  /** The stop string that completed, when `stopped`. */
  stopString?: string;
}

/**
 * Streams text through a set of stop strings.
 *
 * The result does not depend on how the text is cut into pieces: the stream stops at the first
 * point where any stop string is complete (the occurrence that ends earliest; of those ending at
 * the same place, the longest), exactly as if it had arrived one character at a time.
 *
 * @example
 * const matcher = new StopMatcher(['\nUser:']);
 * matcher.push('Hi!\nUs');   // { text: 'Hi!', stopped: false }  ("\nUs" held back)
 * matcher.push('er: more');  // { text: '', stopped: true, stopString: '\nUser:' }
 */
export class StopMatcher {
  readonly stopStrings: readonly string[];
  private held = '';
  private done = false;

  constructor(stopStrings: readonly string[]) {
    for (const s of stopStrings) {
      if (typeof s !== 'string' || s.length === 0) throw new QkvValueError(`StopMatcher: stop strings must be non-empty strings, got ${JSON.stringify(s)}`);
    }
    this.stopStrings = [...stopStrings];
  }

  /** True once a stop string has completed. */
  get stopped(): boolean {
    return this.done;
  }

  /** Feeds the next piece of decoded text. */
  push(piece: string): StopMatch {
    if (this.done) throw new QkvValueError('StopMatcher.push: a stop string already completed; the stream is over');
    const buffer = this.held + piece;
    const found = this.earliestStop(buffer);
    if (found) {
      this.done = true;
      this.held = '';
      return { text: buffer.slice(0, found.start), stopped: true, stopString: found.stop };
    }
    const holdLength = this.longestPartialMatch(buffer);
    this.held = buffer.slice(buffer.length - holdLength);
    return { text: buffer.slice(0, buffer.length - holdLength), stopped: false };
  }

  /** At the end of the stream: the held-back text, which turned out not to start a stop string. */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }

  /** The occurrence ending first, the longest of those ending together. Held text never holds a complete one. */
  private earliestStop(buffer: string): { start: number; stop: string } | null {
    let best: { start: number; end: number; stop: string } | null = null;
    for (const stop of this.stopStrings) {
      const start = buffer.indexOf(stop);
      if (start < 0) continue;
      const end = start + stop.length;
      if (best === null || end < best.end || (end === best.end && start < best.start)) best = { start, end, stop };
    }
    return best;
  }

  /** Length of the longest suffix of `buffer` that is a proper prefix of some stop string. */
  private longestPartialMatch(buffer: string): number {
    let longest = 0;
    for (const stop of this.stopStrings) {
      for (let length = Math.min(stop.length - 1, buffer.length); length > longest; length--) {
        if (buffer.endsWith(stop.slice(0, length))) {
          longest = length;
          break;
        }
      }
    }
    return longest;
  }
}

/**
 * Tells whether a token id ends generation (HF's `EosTokenCriteria`).
 *
 * @example
 * const isStop = stopTokenPredicate([50256]);
 * isStop(50256) // true
 */
export function stopTokenPredicate(eosTokenIds: readonly number[]): (tokenId: number) => boolean {
  const ids = new Set(eosTokenIds);
  return (tokenId) => ids.has(tokenId);
}
