/**
 * Decoders: the last stage, tokens → text.
 * - `ByteLevel` (GPT-2): join the tokens, map each character back to its byte, decode WTF-8.
 * - `WordPiece` (BERT): drop the `##` of continuations, put a space before every other token;
 *   `cleanup` removes the space before `.`, `,`, `?`, `!` and `n't`-style endings token by token,
 *   as Hugging Face does.
 * - `Fuse`: concatenate (character-level tokenizers).
 */
import { byteLevelToBytes, decodeWtf8, toByteLevel } from './byte-level.ts';

export interface Decoder {
  /** Text of tokens. Added tokens (special or not) are given as they are. */
  decode(tokens: readonly string[]): string;
  toJSON(): Record<string, unknown>;
}

export class ByteLevelDecoder implements Decoder {
  decode(tokens: readonly string[]): string {
    const bytes: number[] = [];
    for (const token of tokens) {
      // A character outside the byte alphabet (in an added token) stands for its own UTF-8 bytes.
      if (byteLevelToBytes(token, bytes) !== undefined) continue;
      bytes.length = 0;
      return decodeWtf8(byteLevelToBytes(tokens.map((t) => foreignToByteLevel(t)).join(''))!);
    }
    return decodeWtf8(bytes);
  }

  toJSON(): Record<string, unknown> {
    return { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
  }
}

function foreignToByteLevel(token: string): string {
  let out = '';
  for (const ch of token) out += byteLevelToBytes(ch) === undefined ? toByteLevel(ch) : ch;
  return out;
}

export class WordPieceDecoder implements Decoder {
  constructor(
    readonly prefix = '##',
    readonly cleanup = true,
  ) {}

  decode(tokens: readonly string[]): string {
    let text = '';
    tokens.forEach((token, i) => {
      let piece = i === 0 ? token : token.startsWith(this.prefix) ? token.slice(this.prefix.length) : ' ' + token;
      // Per token, as Hugging Face does: " ." loses its space, "it ' s" stays as it is.
      if (this.cleanup) piece = cleanupTokenizationSpaces(piece);
      text += piece;
    });
    return text;
  }

  toJSON(): Record<string, unknown> {
    return { type: 'WordPiece', prefix: this.prefix, cleanup: this.cleanup };
  }
}

export class FuseDecoder implements Decoder {
  decode(tokens: readonly string[]): string {
    return tokens.join('');
  }

  decodeChain(tokens: readonly string[]): string[] {
    return [tokens.join('')];
  }

  toJSON(): Record<string, unknown> {
    return { type: 'Fuse' };
  }
}

/** BERT's clean-up: `"it ' s ."` spacing → `"it's."`. Same list as Hugging Face. */
export function cleanupTokenizationSpaces(text: string): string {
  return text
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

/**
 * A decoder that, like Hugging Face's `decode_chain`, maps tokens to tokens, so it can sit inside
 * a `Sequence` (Llama: Replace("▁", " ") → ByteFallback → Fuse → Strip(" ", 1, 0)).
 */
export interface ChainDecoder extends Decoder {
  decodeChain(tokens: readonly string[]): string[];
}

function isChainDecoder(decoder: Decoder): decoder is ChainDecoder {
  return typeof (decoder as Partial<ChainDecoder>).decodeChain === 'function';
}

/** Each token's occurrences of a string pattern → content. */
export class ReplaceDecoder implements ChainDecoder {
  constructor(
    readonly pattern: string,
    readonly content: string,
  ) {}

  decodeChain(tokens: readonly string[]): string[] {
    return tokens.map((token) => token.replaceAll(this.pattern, this.content));
  }

  decode(tokens: readonly string[]): string {
    return this.decodeChain(tokens).join('');
  }

  toJSON(): Record<string, unknown> {
    return { type: 'Replace', pattern: { String: this.pattern }, content: this.content };
  }
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/**
 * Runs of `<0xNN>` tokens → the UTF-8 text of their bytes; a run that is not valid UTF-8 becomes
 * one U+FFFD per byte, as tokenizers' byte_fallback.rs does (the Python/Rust reference; the JS
 * ports decode such a run leniently, one U+FFFD per maximal bad subsequence).
 */
export class ByteFallbackDecoder implements ChainDecoder {
  decodeChain(tokens: readonly string[]): string[] {
    const out: string[] = [];
    const bytes: number[] = [];
    const flush = (): void => {
      if (bytes.length === 0) return;
      try {
        out.push(new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes)));
      } catch {
        for (let i = 0; i < bytes.length; i++) out.push('\uFFFD');
      }
      bytes.length = 0;
    };
    for (const token of tokens) {
      const byte = token.length === 6 ? BYTE_TOKEN.exec(token) : null;
      if (byte !== null) bytes.push(parseInt(byte[1], 16));
      else {
        flush();
        out.push(token);
      }
    }
    flush();
    return out;
  }

  decode(tokens: readonly string[]): string {
    return this.decodeChain(tokens).join('');
  }

  toJSON(): Record<string, unknown> {
    return { type: 'ByteFallback' };
  }
}

/** Removes up to `start` leading and `stop` trailing `content` characters from each token. */
export class StripDecoder implements ChainDecoder {
  constructor(
    readonly content: string,
    readonly start: number,
    readonly stop: number,
  ) {}

  decodeChain(tokens: readonly string[]): string[] {
    return tokens.map((token) => {
      const chars = Array.from(token);
      let begin = 0;
      while (begin < this.start && begin < chars.length && chars[begin] === this.content) begin++;
      let end = chars.length;
      while (chars.length - end < this.stop && end > begin && chars[end - 1] === this.content) end--;
      return chars.slice(begin, end).join('');
    });
  }

  decode(tokens: readonly string[]): string {
    return this.decodeChain(tokens).join('');
  }

  toJSON(): Record<string, unknown> {
    return { type: 'Strip', content: this.content, start: this.start, stop: this.stop };
  }
}

/**
 * SentencePiece's decoder (Hugging Face `Metaspace`): `▁` → space in every token, except that the
 * first token's `▁`s are dropped unless prepend_scheme is "never". All of them, as tokenizers'
 * metaspace.rs does (the JS ports drop one leading space; they differ only on a first token such
 * as `▁▁`).
 */
export class MetaspaceDecoder implements ChainDecoder {
  constructor(
    readonly replacement = '\u2581',
    readonly prependScheme: 'always' | 'first' | 'never' = 'always',
    readonly split = true,
  ) {}

  decodeChain(tokens: readonly string[]): string[] {
    return tokens.map((token, i) => token.replaceAll(this.replacement, i === 0 && this.prependScheme !== 'never' ? '' : ' '));
  }

  decode(tokens: readonly string[]): string {
    return this.decodeChain(tokens).join('');
  }

  toJSON(): Record<string, unknown> {
    return { type: 'Metaspace', replacement: this.replacement, prepend_scheme: this.prependScheme, split: this.split };
  }
}

/** Decoders applied in order, each on the tokens the one before it gave. */
export class SequenceDecoder implements ChainDecoder {
  constructor(readonly decoders: readonly Decoder[]) {}

  decodeChain(tokens: readonly string[]): string[] {
    let current: readonly string[] = tokens;
    // A decoder without a chain form (ByteLevel, WordPiece) turns the tokens into one text.
    for (const decoder of this.decoders) current = isChainDecoder(decoder) ? decoder.decodeChain(current) : [decoder.decode(current)];
    return current as string[];
  }

  decode(tokens: readonly string[]): string {
    return this.decodeChain(tokens).join('');
  }

  toJSON(): Record<string, unknown> {
    return { type: 'Sequence', decoders: this.decoders.map((d) => d.toJSON()) };
  }
}
