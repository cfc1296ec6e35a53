/**
 * Post-processors: after the model, add the special tokens a model expects and the token-type
 * (segment) ids. BERT: `[CLS] A [SEP]` (types 0…) and `[CLS] A [SEP] B [SEP]` (B and its
 * `[SEP]` type 1). Written as Hugging Face's `TemplateProcessing`; GPT-2's `ByteLevel`
 * post-processor adds nothing.
 */
import { QkvValueError } from '../tensor/errors.ts';

/** The ids and tokens of one sequence, before special tokens are added. */
export interface TokenSequence {
  ids: number[];
  tokens: string[];
}

/** A sequence with its special tokens: what `encode` returns before padding. */
export interface ProcessedSequence extends TokenSequence {
  typeIds: number[];
  /** 1 where a token was added by the post-processor. */
  specialTokensMask: number[];
}

export interface PostProcessor {
  /** How many tokens process() adds, so truncation can leave room for them. */
  addedTokenCount(isPair: boolean): number;
  process(a: TokenSequence, b: TokenSequence | null, addSpecialTokens: boolean): ProcessedSequence;
  toJSON(): Record<string, unknown>;
}

/** One item of a template: a special token, or the A/B sequence, with its type id. */
export type TemplateItem = { special: string; typeId: number } | { sequence: 'A' | 'B'; typeId: number };

/**
 * Hugging Face's TemplateProcessing. `TemplateProcessing.bert(101, 102)` is BERT's:
 * single `[CLS] $A [SEP]`, pair `[CLS] $A [SEP] $B:1 [SEP]:1`.
 */
export class TemplateProcessing implements PostProcessor {
  constructor(
    readonly single: readonly TemplateItem[],
    readonly pair: readonly TemplateItem[],
    /** Each special token of the templates → its id. */
    readonly specialTokens: ReadonlyMap<string, number>,
  ) {
    for (const item of [...single, ...pair]) {
      if ('special' in item && !specialTokens.has(item.special)) {
        throw new QkvValueError(`TemplateProcessing: template names special token ${JSON.stringify(item.special)} that has no id`);
      }
    }
  }

  static bert(clsId: number, sepId: number, cls = '[CLS]', sep = '[SEP]'): TemplateProcessing {
    return new TemplateProcessing(
      [{ special: cls, typeId: 0 }, { sequence: 'A', typeId: 0 }, { special: sep, typeId: 0 }],
      [
        { special: cls, typeId: 0 },
        { sequence: 'A', typeId: 0 },
        { special: sep, typeId: 0 },
        { sequence: 'B', typeId: 1 },
        { special: sep, typeId: 1 },
      ],
      new Map([
        [cls, clsId],
        [sep, sepId],
      ]),
    );
  }

  addedTokenCount(isPair: boolean): number {
    return (isPair ? this.pair : this.single).filter((item) => 'special' in item).length;
  }

  process(a: TokenSequence, b: TokenSequence | null, addSpecialTokens: boolean): ProcessedSequence {
    const out: ProcessedSequence = { ids: [], tokens: [], typeIds: [], specialTokensMask: [] };
    for (const item of b === null ? this.single : this.pair) {
      if ('special' in item) {
        if (!addSpecialTokens) continue;
        out.ids.push(this.specialTokens.get(item.special)!);
        out.tokens.push(item.special);
        out.typeIds.push(item.typeId);
        out.specialTokensMask.push(1);
      } else {
        const sequence = item.sequence === 'A' ? a : b!;
        // Without special tokens, HF keeps the template's type ids for the sequences.
        for (let i = 0; i < sequence.ids.length; i++) {
          out.ids.push(sequence.ids[i]);
          out.tokens.push(sequence.tokens[i]);
          out.typeIds.push(item.typeId);
          out.specialTokensMask.push(0);
        }
      }
    }
    return out;
  }

  toJSON(): Record<string, unknown> {
    const items = (template: readonly TemplateItem[]) =>
      template.map((item) =>
        'special' in item ? { SpecialToken: { id: item.special, type_id: item.typeId } } : { Sequence: { id: item.sequence, type_id: item.typeId } },
      );
    const specialTokens: Record<string, unknown> = {};
    for (const [token, id] of this.specialTokens) specialTokens[token] = { id: token, ids: [id], tokens: [token] };
    return { type: 'TemplateProcessing', single: items(this.single), pair: items(this.pair), special_tokens: specialTokens };
  }
}

/** GPT-2's post-processor: nothing added; a pair is simply concatenated. */
export class ByteLevelPostProcessor implements PostProcessor {
  addedTokenCount(): number {
    return 0;
  }

  process(a: TokenSequence, b: TokenSequence | null, _addSpecialTokens = true): ProcessedSequence {
    const ids = b === null ? a.ids.slice() : [...a.ids, ...b.ids];
    const tokens = b === null ? a.tokens.slice() : [...a.tokens, ...b.tokens];
    const typeIds = [...new Array(a.ids.length).fill(0), ...new Array(b?.ids.length ?? 0).fill(1)];
    return { ids, tokens, typeIds, specialTokensMask: new Array(ids.length).fill(0) };
  }

  toJSON(): Record<string, unknown> {
    return { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true };
  }
}
