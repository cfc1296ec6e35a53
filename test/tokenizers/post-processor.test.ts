import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QkvValueError } from '../../src/tensor/errors.ts';
import { ByteLevelPostProcessor, TemplateProcessing } from '../../src/tokenizers/post-processor.ts';

const a = { ids: [10, 11], tokens: ['x', 'y'] };
const b = { ids: [12], tokens: ['z'] };

test('BERT template: [CLS] A [SEP] and [CLS] A [SEP] B [SEP]', () => {
  const bert = TemplateProcessing.bert(101, 102);
  assert.deepEqual(bert.process(a, null, true), { ids: [101, 10, 11, 102], tokens: ['[CLS]', 'x', 'y', '[SEP]'], typeIds: [0, 0, 0, 0], specialTokensMask: [1, 0, 0, 1] });
  const pair = bert.process(a, b, true);
  assert.deepEqual(pair.ids, [101, 10, 11, 102, 12, 102]);
  assert.deepEqual(pair.typeIds, [0, 0, 0, 0, 1, 1]);
  assert.deepEqual(bert.process(a, b, false).ids, [10, 11, 12]);
  assert.equal(bert.addedTokenCount(false), 2);
  assert.equal(bert.addedTokenCount(true), 3);
});

test('the template serialises as Hugging Face TemplateProcessing', () => {
  const json = TemplateProcessing.bert(101, 102).toJSON();
  assert.deepEqual((json.single as unknown[])[0], { SpecialToken: { id: '[CLS]', type_id: 0 } });
  assert.deepEqual((json.pair as unknown[])[3], { Sequence: { id: 'B', type_id: 1 } });
  assert.deepEqual((json.special_tokens as Record<string, unknown>)['[SEP]'], { id: '[SEP]', ids: [102], tokens: ['[SEP]'] });
  assert.throws(() => new TemplateProcessing([{ special: '[X]', typeId: 0 }], [], new Map()), QkvValueError);
});

test('ByteLevel post-processor adds nothing', () => {
  const processed = new ByteLevelPostProcessor().process(a, b, true);
  assert.deepEqual(processed.ids, [10, 11, 12]);
  assert.deepEqual(processed.typeIds, [0, 0, 1]);
});
