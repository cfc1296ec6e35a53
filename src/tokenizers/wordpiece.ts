/**
 * The WordPiece model (BERT): a word is covered greedily, longest match first, by vocabulary
 * pieces; every piece after the first is looked up with the `##` prefix. A word that cannot be
 * covered, or is longer than `maxInputCharsPerWord` characters, becomes one `[UNK]`.
 * Reference: `WordpieceTokenizer` in BERT's `tokenization.py`.
 *
 * Example, vocab {un, ##aff, ##able, …}: `unaffable` → `un ##aff ##able`.
 */
import { QkvValueError } from '../tensor/errors.ts';
import { invertVocab, type TokenizerModel } from './model.ts';

export interface WordPieceOptions {
  vocab: ReadonlyMap<string, number>;
  /** Default `[UNK]`; must be in the vocabulary. */
  unkToken?: string;
  /** Default `##`. */
  continuingSubwordPrefix?: string;
  /** Longer words become `[UNK]` without trying. Default 100. */
  maxInputCharsPerWord?: number;
}

export class WordPieceModel implements TokenizerModel {
  readonly type = 'WordPiece' as const;
  readonly unkToken: string;
  readonly continuingSubwordPrefix: string;
  readonly maxInputCharsPerWord: number;
  private readonly vocab: Map<string, number>;
  private readonly tokens: string[];
  private readonly unkId: number;
  /** Longest piece in characters (code points), so matching never tries longer ones. */
  private readonly longestPiece: number;

  constructor(options: WordPieceOptions) {
    this.vocab = new Map(options.vocab);
    this.tokens = invertVocab(this.vocab);
    this.unkToken = options.unkToken ?? '[UNK]';
    this.continuingSubwordPrefix = options.continuingSubwordPrefix ?? '##';
    this.maxInputCharsPerWord = options.maxInputCharsPerWord ?? 100;
    const unkId = this.vocab.get(this.unkToken);
    if (unkId === undefined) throw new QkvValueError(`WordPiece: unk_token ${JSON.stringify(this.unkToken)} is not in the vocabulary`);
    this.unkId = unkId;
    let longest = 1;
    for (const token of this.vocab.keys()) {
      const body = token.startsWith(this.continuingSubwordPrefix) ? token.slice(this.continuingSubwordPrefix.length) : token;
      longest = Math.max(longest, [...body].length);
    }
    this.longestPiece = longest;
  }

  get vocabSize(): number {
    return this.tokens.length;
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.tokens[id];
  }

  getVocab(): Map<string, number> {
    return new Map(this.vocab);
  }

  tokenizeWord(word: string, out: number[]): void {
    const chars = [...word];
    if (chars.length > this.maxInputCharsPerWord) {
      out.push(this.unkId);
      return;
    }
    const pieces: number[] = [];
    let start = 0;
    while (start < chars.length) {
      let found = -1;
      let end = Math.min(chars.length, start + this.longestPiece);
      for (; end > start; end--) {
        const body = chars.slice(start, end).join('');
        const id = this.vocab.get(start > 0 ? this.continuingSubwordPrefix + body : body);
        if (id !== undefined) {
          found = id;
          break;
        }
      }
      if (found < 0) {
        out.push(this.unkId);
        return;
      }
      pieces.push(found);
      start = end;
    }
    for (const id of pieces) out.push(id);
  }

  toJSON(): Record<string, unknown> {
    return {
      type: 'WordPiece',
      unk_token: this.unkToken,
      continuing_subword_prefix: this.continuingSubwordPrefix,
      max_input_chars_per_word: this.maxInputCharsPerWord,
      vocab: Object.fromEntries([...this.vocab].sort((x, y) => x[1] - y[1])),
    };
  }
}
