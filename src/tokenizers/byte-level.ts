/**
 * GPT-2's byte ↔ unicode map. Byte-level BPE works on bytes, but vocabularies and merges are
 * stored as text, so each of the 256 bytes is given a printable character: the printable
 * Latin-1 bytes map to themselves, the other 68 (controls, space, soft hyphen…) to U+0100…
 * (space → `Ġ`, newline → `Ċ`). Reference: `bytes_to_unicode` in GPT-2's `encoder.py`.
 *
 * Text ↔ bytes uses WTF-8: UTF-8 for every well-formed string, and a lone surrogate (which a
 * JS string may hold) as its own 3-byte sequence, so `decode(encode(s)) === s` for every
 * string rather than turning lone surrogates into U+FFFD.
 */

/** BYTE_TO_CHAR[b] is the character that stands for byte b in vocabularies and merges. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** CHAR_CODE_TO_BYTE[c] is the byte that character code c stands for, or -1. */
const CHAR_CODE_TO_BYTE: Int16Array = (() => {
  const table = new Int16Array(324).fill(-1);
  BYTE_TO_CHAR.forEach((ch, b) => (table[ch.charCodeAt(0)] = b));
  return table;
})();

function buildByteToChar(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = new Array(256);
  let next = 256;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : next++);
  return out;
}

/** The 256 byte characters, in byte order: the initial alphabet of a byte-level BPE. */
export function byteLevelAlphabet(): string[] {
  return BYTE_TO_CHAR.slice();
}

/** Text → the byte-level string of its WTF-8 bytes: `' world'` → `'Ġworld'`. */
export function toByteLevel(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) {
      out += BYTE_TO_CHAR[code];
    } else if (code < 0x800) {
      out += BYTE_TO_CHAR[0xc0 | (code >> 6)] + BYTE_TO_CHAR[0x80 | (code & 0x3f)];
    } else {
      let cp = code;
      if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
        const low = text.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          cp = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
          i++;
        }
      }
      if (cp < 0x10000) {
        out += BYTE_TO_CHAR[0xe0 | (cp >> 12)] + BYTE_TO_CHAR[0x80 | ((cp >> 6) & 0x3f)] + BYTE_TO_CHAR[0x80 | (cp & 0x3f)];
      } else {
        out +=
          BYTE_TO_CHAR[0xf0 | (cp >> 18)] +
          BYTE_TO_CHAR[0x80 | ((cp >> 12) & 0x3f)] +
          BYTE_TO_CHAR[0x80 | ((cp >> 6) & 0x3f)] +
          BYTE_TO_CHAR[0x80 | (cp & 0x3f)];
      }
    }
  }
  return out;
}

/** Byte-level string → bytes; undefined if a character is not one of the 256 byte characters. */
export function byteLevelToBytes(text: string, out: number[] = []): number[] | undefined {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const b = code < 324 ? CHAR_CODE_TO_BYTE[code] : -1;
    if (b < 0) return undefined;
    out.push(b);
  }
  return out;
}

/** Number of bytes text takes in WTF-8 (= UTF-8 for well-formed text). */
export function wtf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) n += 1;
    else if (code < 0x800) n += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * Bytes → text, the inverse of WTF-8 encoding; bytes that form no character (a sequence cut
 * in the middle, as a single token may be) become U+FFFD, one per bad byte, as a lenient
 * UTF-8 decoder does.
 */
export function decodeWtf8(bytes: ArrayLike<number>): string {
  const codes: number[] = [];
  let out = '';
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b0 = bytes[i];
    let cp = -1;
    let len = 1;
    if (b0 < 0x80) cp = b0;
    else if (b0 >= 0xc2 && b0 <= 0xdf) len = 2;
    else if (b0 >= 0xe0 && b0 <= 0xef) len = 3;
    else if (b0 >= 0xf0 && b0 <= 0xf4) len = 4;
    if (len > 1) {
      if (i + len <= n && isContinuations(bytes, i + 1, len - 1)) {
        if (len === 2) cp = ((b0 & 0x1f) << 6) | (bytes[i + 1] & 0x3f);
        else if (len === 3) cp = ((b0 & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f);
        else cp = ((b0 & 0x07) << 18) | ((bytes[i + 1] & 0x3f) << 12) | ((bytes[i + 2] & 0x3f) << 6) | (bytes[i + 3] & 0x3f);
        const minimum = len === 2 ? 0x80 : len === 3 ? 0x800 : 0x10000;
        if (cp < minimum || cp > 0x10ffff) cp = -1; // overlong or out of range
      }
      if (cp < 0) len = 1;
    }
    if (cp < 0) cp = 0xfffd;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      codes.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    } else codes.push(cp);
    i += len;
    if (codes.length > 8192) {
      out += String.fromCharCode(...codes);
      codes.length = 0;
    }
  }
  return out + String.fromCharCode(...codes);
}

function isContinuations(bytes: ArrayLike<number>, start: number, count: number): boolean {
  for (let k = 0; k < count; k++) if ((bytes[start + k] & 0xc0) !== 0x80) return false;
  return true;
}
