import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJsonl } from '../../src/adapt/jsonl.ts';

test('JSONL formats are told apart by their fields', () => {
  assert.equal(parseJsonl('{"prompt":"1+1=","completion":"2"}\n', 'a.jsonl', 'auto').kind, 'promptCompletion');
  assert.equal(parseJsonl('{"messages":[{"role":"user","content":"hi"}]}', 'a.jsonl', 'auto').kind, 'chat');
  assert.equal(parseJsonl('{"prompt":"p","chosen":"a","rejected":"b"}\n\n', 'a.jsonl', 'auto').kind, 'preference');
  assert.deepEqual(parseJsonl('{"text":"abc"}\n{"text":"d"}', 'a.jsonl', 'text').records, [{ text: 'abc' }, { text: 'd' }]);
});

test('malformed lines are all reported by line number, naming the file and the field', () => {
  const source = [
    '{"prompt":"1+1=","completion":"2"}',
    '{"prompt":"2+2=","completion":4}',
    '',
    '{"prompt":"3+3=", "completion":"6"',
    '{"prompt":"4+4="}',
  ].join('\n');
  assert.throws(
    () => parseJsonl(source, 'data/sums.jsonl', 'auto'),
    (error: Error) => {
      assert.match(error.message, /^data\/sums\.jsonl: 3 bad lines: /);
      assert.match(error.message, /line 2: field "completion": .*string/);
      assert.match(error.message, /line 4: not valid JSON/);
      assert.match(error.message, /line 5: field "completion"/);
      assert.doesNotMatch(error.message, /line [13]:/);
      return true;
    },
  );
  assert.throws(() => parseJsonl('{"question":"x"}', 'q.jsonl', 'auto'), /q\.jsonl: 1 bad line: line 1: cannot tell the format/);
  assert.throws(() => parseJsonl('\n\n', 'e.jsonl', 'auto'), /e\.jsonl: no records/);
});
