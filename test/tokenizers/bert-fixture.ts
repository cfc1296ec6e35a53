/** A tiny hand-made BERT tokenizer (uncased), for pipeline tests. */
import { WordPieceDecoder } from '../../src/tokenizers/decoder.ts';
import { BertNormalizer } from '../../src/tokenizers/normalizer.ts';
import { TemplateProcessing } from '../../src/tokenizers/post-processor.ts';
import { BertPreTokenizer } from '../../src/tokenizers/pretokenize.ts';
import { Tokenizer } from '../../src/tokenizers/tokenizer.ts';
import { WordPieceModel } from '../../src/tokenizers/wordpiece.ts';

export const BERT_VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat', 'sat', 'on', 'mat', 'un', '##aff', '##able', '.', ',', '!', '?', "'", 's', '你', '好', 'cafe', 'is', 'it', 'a', '##s'];

export function tinyBert(): Tokenizer {
  const vocab = new Map(BERT_VOCAB.map((token, id) => [token, id]));
  return new Tokenizer({
    model: new WordPieceModel({ vocab }),
    normalizer: new BertNormalizer(),
    preTokenizer: new BertPreTokenizer(),
    postProcessor: TemplateProcessing.bert(2, 3),
    decoder: new WordPieceDecoder(),
    addedTokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((content, id) => ({ id, content, special: true })),
  });
}
