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
