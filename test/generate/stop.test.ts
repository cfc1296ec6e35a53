import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StopMatcher, stopTokenPredicate } from '../../src/generate/stop.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';

interface StreamOutcome {
  text: string;
  stopped: boolean;
  stopString?: string;
}

/** Streams `pieces` through a fresh matcher, as the generation loop does. */
function runPieces(stops: string[], pieces: string[]): StreamOutcome {
  const matcher = new StopMatcher(stops);
  let text = '';
  for (const piece of pieces) {
    const match = matcher.push(piece);
    text += match.text;
    if (match.stopped) return { text, stopped: true, stopString: match.stopString };
  }
  return { text: text + matcher.flush(), stopped: false };
}

/** The meaning of a stop string, written directly: cut at the first prefix that ends with one. */
function referenceOutcome(stops: string[], full: string): StreamOutcome {
  for (let end = 1; end <= full.length; end++) {
    const prefix = full.slice(0, end);
    const hits = stops.filter((s) => prefix.endsWith(s)).sort((a, b) => b.length - a.length);
    if (hits.length > 0) return { text: prefix.slice(0, end - hits[0].length), stopped: true, stopString: hits[0] };
  }
  return { text: full, stopped: false };
}

test('a stop string split across pieces is caught and never emitted', () => {
  const matcher = new StopMatcher(['\nUser:']);
  assert.deepEqual(matcher.push('Hello!\nUs'), { text: 'Hello!', stopped: false });
  assert.deepEqual(matcher.push('er: and more'), { text: '', stopped: true, stopString: '\nUser:' });
  assert.equal(matcher.stopped, true);
  assert.throws(() => matcher.push('x'), QkvValueError);
});

test('a held-back partial match is released when it turns out not to be a stop string', () => {
  const matcher = new StopMatcher(['END']);
  assert.deepEqual(matcher.push('the EN'), { text: 'the ', stopped: false });
  assert.deepEqual(matcher.push('D'), { text: '', stopped: true, stopString: 'END' });
  const other = new StopMatcher(['END']);
  assert.deepEqual(other.push('the EN'), { text: 'the ', stopped: false });
  assert.deepEqual(other.push('ING'), { text: 'ENING', stopped: false });
  assert.equal(other.flush(), '');
  const atEnd = new StopMatcher(['END']);
  atEnd.push('so E');
  assert.equal(atEnd.flush(), 'E', 'the end of the stream releases the held text');
});

test('text before a stop string in the same piece is emitted', () => {
  assert.deepEqual(runPieces(['###'], ['abc###def']), { text: 'abc', stopped: true, stopString: '###' });
  assert.deepEqual(runPieces(['###'], ['###']), { text: '', stopped: true, stopString: '###' });
});

test('no stop strings: everything passes through at once', () => {
  const matcher = new StopMatcher([]);
  assert.deepEqual(matcher.push('abc'), { text: 'abc', stopped: false });
  assert.equal(matcher.flush(), '');
});

test('the result does not depend on where the text is cut into pieces', () => {
  const cases: Array<[string[], string]> = [
    [['\nUser:'], 'Sure.\nUse it.\nUser: next'],
    [['abcd', 'c'], 'xxabcdyy'],
    [['aab'], 'aaaab tail'],
    [['ab', 'b'], 'zab'],
    [['\n\n', 'END'], 'one\ntwo\nEN three END\n\nfour'],
    [['é!'], 'café au lait, café!'],
    [['nomatch'], 'no match here nomatc'],
  ];
  for (const [stops, full] of cases) {
    const expected = referenceOutcome(stops, full);
    assert.deepEqual(runPieces(stops, [full]), expected, `${JSON.stringify(full)} in one piece`);
    assert.deepEqual(runPieces(stops, [...full]), expected, `${JSON.stringify(full)} one character at a time`);
    for (let i = 0; i <= full.length; i++) {
      for (let j = i; j <= full.length; j++) {
        const pieces = [full.slice(0, i), full.slice(i, j), full.slice(j)];
        assert.deepEqual(runPieces(stops, pieces), expected, `${JSON.stringify(full)} cut at ${i} and ${j}`);
      }
    }
  }
});

test('emitted text never contains the start of a pending stop string', () => {
  const matcher = new StopMatcher(['<|im_end|>']);
  assert.equal(matcher.push('answer <|im').text, 'answer ');
  assert.equal(matcher.push('_en').text, '');
  assert.deepEqual(matcher.push('d|>'), { text: '', stopped: true, stopString: '<|im_end|>' });
});

test('empty stop strings are rejected', () => {
  assert.throws(() => new StopMatcher(['']), QkvValueError);
});

test('stop token ids', () => {
  const isStop = stopTokenPredicate([50256, 2]);
  assert.equal(isStop(50256), true);
  assert.equal(isStop(2), true);
  assert.equal(isStop(3), false);
  assert.equal(stopTokenPredicate([])(0), false);
});
