/**
 * Turning a growing list of token ids into text pieces as they come.
 *
 * With byte-level BPE one character may be split across tokens ("é" is two UTF-8 bytes, and a
 * token may hold just the first), so decoding the ids one at a time would print U+FFFD and then
 * garbage. Instead the whole generated sequence is decoded each time and only the new suffix is
 * emitted, and only up to the last complete character: trailing U+FFFD (an incomplete UTF-8
 * sequence, for a lenient decoder) is held back until a later token completes it, or until the
 * end of the stream shows it really is a replacement character.
 *
 * It assumes decoding is prefix-stable (decode(ids + [t]) starts with decode(ids) up to an
 * incomplete last character), which holds for byte-level BPE and character vocabularies.
 * Decoding the whole sequence per token costs O(n) each; fine for the lengths we generate.
 */

const REPLACEMENT_CHARACTER = '\uFFFD';

/**
 * @example
 * const decoder = new IncrementalDecoder((ids) => tokenizer.decode(ids));
 * decoder.push(id1); // '' while the character is incomplete
 * decoder.push(id2); // 'é'
 */
export class IncrementalDecoder {
  private readonly ids: number[] = [];
  /** How much of the decoded text has been handed out. */
  private emittedLength = 0;
  private decoded = '';

  constructor(private readonly decode: (ids: readonly number[]) => string) {}

  /** Adds one token; returns the text that is now complete and not yet emitted (maybe ''). */
  push(tokenId: number): string {
    this.ids.push(tokenId);
    this.decoded = this.decode(this.ids);
    let safeEnd = this.decoded.length;
    while (safeEnd > this.emittedLength && this.decoded[safeEnd - 1] === REPLACEMENT_CHARACTER) safeEnd--;
    return this.take(safeEnd);
  }

  /** At the end of the stream: whatever was held back, replacement characters included. */
  flush(): string {
    return this.take(this.decoded.length);
  }

  /** All text decoded so far (emitted or held back). */
  get text(): string {
    return this.decoded;
  }

  private take(end: number): string {
    if (end <= this.emittedLength) return '';
    const piece = this.decoded.slice(this.emittedLength, end);
    this.emittedLength = end;
    return piece;
  }
}
