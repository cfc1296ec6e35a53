/**
 * Normalizers: the first stage of the pipeline, text → text, before anything is split.
 * qkv has BERT's: drop control characters, turn every whitespace into a space, put spaces
 * around CJK ideographs (so each becomes its own word), lower-case, strip accents (NFD, then
 * drop combining marks). Reference: `BertNormalizer` in Hugging Face tokenizers.
 */

/** One pipeline stage: text → normalised text, serialisable as in `tokenizer.json`. */
export interface Normalizer {
  normalize(text: string): string;
  toJSON(): Record<string, unknown>;
}

export interface BertNormalizerOptions {
  /** Drop control characters, NUL and U+FFFD; map whitespace to a space. Default true. */
  cleanText?: boolean;
  /** Surround each CJK ideograph with spaces. Default true. */
  handleChineseChars?: boolean;
  /** Strip accents; null means "as lowercase says", as in BERT. Default null. */
  stripAccents?: boolean | null;
  /** Lower-case (uncased BERT). Default true. */
  lowercase?: boolean;
}

/** BERT's normaliser. `new BertNormalizer({ lowercase: true }).normalize('Héllo\u0000 世界')` → `'hello  世  界 '`. */
export class BertNormalizer implements Normalizer {
  readonly cleanText: boolean;
  readonly handleChineseChars: boolean;
  readonly stripAccents: boolean | null;
  readonly lowercase: boolean;

  constructor(options: BertNormalizerOptions = {}) {
    this.cleanText = options.cleanText ?? true;
    this.handleChineseChars = options.handleChineseChars ?? true;
    this.stripAccents = options.stripAccents ?? null;
    this.lowercase = options.lowercase ?? true;
  }

  normalize(text: string): string {
    if (this.cleanText) text = cleanText(text);
    if (this.handleChineseChars) text = spaceAroundCjk(text);
    if (this.lowercase) text = text.toLowerCase();
    // As in BERT: an uncased model strips accents unless told not to.
    if (this.stripAccents ?? this.lowercase) text = stripAccents(text);
    return text;
  }

  toJSON(): Record<string, unknown> {
    return {
      type: 'BertNormalizer',
      clean_text: this.cleanText,
      handle_chinese_chars: this.handleChineseChars,
      strip_accents: this.stripAccents,
      lowercase: this.lowercase,
    };
  }
}

/** NFD, then drop non-spacing marks: `'café'` → `'cafe'`. */
export function stripAccents(text: string): string {
  return text.normalize('NFD').replace(/\p{Mn}/gu, '');
}

// Control characters as BERT counts them: every "C*" category, except tab, newline and CR
// (which are whitespace).
const CONTROL = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Cn}]/u;
const WHITESPACE = /\s/u;

/** Remove NUL, U+FFFD and control characters; every whitespace character becomes a space. */
export function cleanText(text: string): string {
  let out = '';
  for (const ch of text) {
    if (ch === '\t' || ch === '\n' || ch === '\r') {
      out += ' ';
      continue;
    }
    const code = ch.codePointAt(0)!;
    if (code === 0 || code === 0xfffd || CONTROL.test(ch)) continue;
    out += WHITESPACE.test(ch) ? ' ' : ch;
  }
  return out;
}

/** The CJK Unified Ideographs blocks that BERT splits character by character (not kana or hangul). */
export function isCjkIdeograph(code: number): boolean {
  return (
    (code >= 0x4e00 && code <= 0x9fff) ||
    (code >= 0x3400 && code <= 0x4dbf) ||
    (code >= 0x20000 && code <= 0x2a6df) ||
    (code >= 0x2a700 && code <= 0x2b73f) ||
    (code >= 0x2b740 && code <= 0x2b81f) ||
    (code >= 0x2b820 && code <= 0x2ceaf) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0x2f800 && code <= 0x2fa1f)
  );
}

function spaceAroundCjk(text: string): string {
  let out = '';
  for (const ch of text) out += isCjkIdeograph(ch.codePointAt(0)!) ? ` ${ch} ` : ch;
  return out;
}

/** Unicode normal form (`NFC`, `NFD`, `NFKC`, `NFKD`). */
export class UnicodeNormalizer implements Normalizer {
  constructor(readonly form: 'NFC' | 'NFD' | 'NFKC' | 'NFKD') {}

  normalize(text: string): string {
    return text.normalize(this.form);
  }

  toJSON(): Record<string, unknown> {
    return { type: this.form };
  }
}

export class LowercaseNormalizer implements Normalizer {
  normalize(text: string): string {
    return text.toLowerCase();
  }

  toJSON(): Record<string, unknown> {
    return { type: 'Lowercase' };
  }
}

/** Drops combining marks; as in Hugging Face, put an `NFD` before it. */
export class StripAccentsNormalizer implements Normalizer {
  normalize(text: string): string {
    return text.replace(/\p{Mn}/gu, '');
  }

  toJSON(): Record<string, unknown> {
    return { type: 'StripAccents' };
  }
}

/** Several normalizers, applied in order. */
export class SequenceNormalizer implements Normalizer {
  constructor(readonly normalizers: readonly Normalizer[]) {}

  normalize(text: string): string {
    for (const normalizer of this.normalizers) text = normalizer.normalize(text);
    return text;
  }

  toJSON(): Record<string, unknown> {
    return { type: 'Sequence', normalizers: this.normalizers.map((n) => n.toJSON()) };
  }
}

/** Puts `prepend` before a non-empty text (SentencePiece's space prefix: `'▁'`). */
export class PrependNormalizer implements Normalizer {
  constructor(readonly prepend: string) {}

  normalize(text: string): string {
    // Hugging Face's Prepend leaves an empty text empty.
    return text.length > 0 ? this.prepend + text : text;
  }

  toJSON(): Record<string, unknown> {
    return { type: 'Prepend', prepend: this.prepend };
  }
}

/** Every occurrence of a string pattern → content (Llama: `' '` → `'▁'`). Regex patterns are not supported. */
export class ReplaceNormalizer implements Normalizer {
  constructor(
    readonly pattern: string,
    readonly content: string,
  ) {}

  normalize(text: string): string {
    return text.replaceAll(this.pattern, this.content);
  }

  toJSON(): Record<string, unknown> {
    return { type: 'Replace', pattern: { String: this.pattern }, content: this.content };
  }
}
