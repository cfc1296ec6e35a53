import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate, generateStream, type GenerateOptions, type GeneratedPiece } from '../../src/generate/stream.ts';
import { sampleNextToken } from '../../src/generate/sampler.ts';
import type { GenerationConfig } from '../../src/generate/config.ts';
import { Rng } from '../../src/tensor/random.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';

/**
 * A byte-level fake model: tokens are byte strings (two of them halves of "é"), the last token is
 * eos, and the next-token logits come from a seeded bigram table (V, V) indexed by the last id.
 */
const encoder = new TextEncoder();
const VOCAB: number[][] = ['a', 'b', ' ', '\n', 'x', 'yz', 'End', '!'].map((s) => [...encoder.encode(s)]);
VOCAB.push([0xc3], [0xa9]); // "é" split over two tokens
const EOS = VOCAB.length; // its text ("<eos>") must never appear in the output
const V = VOCAB.length + 1;
const utf8 = new TextDecoder('utf-8', { fatal: false });
function decode(ids: readonly number[]): string {
  const bytes = ids.flatMap((id) => (id === EOS ? [...encoder.encode('<eos>')] : VOCAB[id]));
  return utf8.decode(Uint8Array.from(bytes));
}

/** Random bigram logits, except that the two halves of "é" always come as a pair (valid UTF-8). */
function bigramTable(seed: number): Float32Array[] {
  const rng = new Rng(seed);
  const [high, low] = [VOCAB.length - 2, VOCAB.length - 1];
  return Array.from({ length: V }, (_, prev) =>
    Float32Array.from({ length: V }, (_, next) => {
      if (prev === high) return next === low ? 0 : -Infinity;
      return next === low ? -Infinity : rng.normal(0, 1.5);
    }),
  );
}
const TABLE = bigramTable(100);
const bigramStep = (ids: readonly number[]) => TABLE[ids[ids.length - 1]].slice();

/** A fake model that plays a fixed script of token ids, whatever the config (logits are one-hot-ish). */
function scriptedStep(script: number[], promptLength: number) {
  return (ids: readonly number[]) => {
    const logits = new Float32Array(V).fill(-10);
    logits[script[ids.length - promptLength]] = 10;
    return logits;
  };
}

async function collect(options: GenerateOptions): Promise<GeneratedPiece[]> {
  const pieces: GeneratedPiece[] = [];
  for await (const piece of generateStream(options)) pieces.push(piece);
  return pieces;
}

const SAMPLING: GenerationConfig[] = [
  { do_sample: true, max_new_tokens: 40 },
  { do_sample: true, max_new_tokens: 40, temperature: 0.7, top_k: 4, top_p: 0.9, repetition_penalty: 1.3 },
  { do_sample: true, max_new_tokens: 40, eos_token_id: EOS, min_new_tokens: 5 },
  { max_new_tokens: 40, repetition_penalty: 1.5 },
];

test('streaming yields the same ids as generate() and as a hand-written sampling loop', async () => {
  for (const [index, config] of SAMPLING.entries()) {
    const promptIds = [0, 2];
    const streamed = await collect({ step: bigramStep, decode, promptIds, config, rng: new Rng(7) });
    const result = await generate({ step: bigramStep, decode, promptIds, config, rng: new Rng(7) });
    assert.deepEqual(streamed.map((p) => p.tokenId), result.ids, `config ${index}`);
    assert.equal(streamed.map((p) => p.text).join(''), result.text, `config ${index}`);

    const rng = new Rng(7);
    const ids = [...promptIds];
    const manual: number[] = [];
    while (manual.length < 40) {
      const next = sampleNextToken(bigramStep(ids), ids, config, rng, manual.length);
      ids.push(next);
      manual.push(next);
      if (config.eos_token_id === next) break;
    }
    assert.deepEqual(result.ids, manual, `config ${index}`);
  }
});

test('the same seed gives the same sequence; config.seed seeds a fresh generator', async () => {
  const config = { do_sample: true, max_new_tokens: 30, seed: 42 };
  const first = await generate({ step: bigramStep, decode, promptIds: [1], config });
  const second = await generate({ step: bigramStep, decode, promptIds: [1], config });
  const third = await generate({ step: bigramStep, decode, promptIds: [1], config: { ...config, seed: 43 } });
  const explicit = await generate({ step: bigramStep, decode, promptIds: [1], config, rng: new Rng(42) });
  assert.deepEqual(first.ids, second.ids);
  assert.notDeepEqual(first.ids, third.ids);
  assert.deepEqual(first.ids, explicit.ids);
});

test('pieces joined are the decoded text, and no piece holds half a character', async () => {
  let sawSplitCharacter = false;
  for (let seed = 0; seed < 20; seed++) {
    const config = { do_sample: true, max_new_tokens: 30, seed };
    const pieces = await collect({ step: bigramStep, decode, promptIds: [3], config });
    const ids = pieces.map((p) => p.tokenId);
    assert.equal(pieces.map((p) => p.text).join(''), decode(ids), `seed ${seed}`);
    pieces.slice(0, -1).forEach((p, i) => {
      if (p.tokenId === VOCAB.length - 2) sawSplitCharacter = true;
      assert.ok(!p.text.includes('\uFFFD'), `seed ${seed}, piece ${i}: ${JSON.stringify(p.text)}`);
    });
  }
  assert.ok(sawSplitCharacter, 'the bigram table should produce the first half of "é" at least once');
});

test('a character split across tokens arrives whole with its second token', async () => {
  const a = 0, eAcuteHigh = VOCAB.length - 2, eAcuteLow = VOCAB.length - 1;
  const script = [a, eAcuteHigh, eAcuteLow, a];
  const pieces = await collect({ step: scriptedStep(script, 1), decode, promptIds: [2], config: { max_new_tokens: 4 } });
  assert.deepEqual(pieces.map((p) => p.text), ['a', '', 'é', 'a']);
});

test('a stop string split across tokens stops generation and is not emitted', async () => {
  // Tokens: "End" "!" "a" — with stop "d!a": the match spans three tokens.
  const [aId, newline, endId, bang, xId] = [0, 3, 6, 7, 4];
  const script = [xId, newline, endId, bang, aId, xId, xId];
  const step = scriptedStep(script, 1);
  const pieces = await collect({ step, decode, promptIds: [0], config: { max_new_tokens: 10, stop: 'd!a' } });
  assert.deepEqual(pieces.map((p) => p.text), ['x', '\n', 'En', '', '']);
  const result = await generate({ step, decode, promptIds: [0], config: { max_new_tokens: 10, stop: ['d!a'] } });
  assert.equal(result.text, 'x\nEn');
  assert.deepEqual(result.ids, [xId, newline, endId, bang, aId], 'the token completing the stop string is kept, as HF does');
  assert.equal(result.finishReason, 'stop');
});

test('eos ends generation; its text is not emitted; held-back text is released with it', async () => {
  const [xId, endId] = [4, 6];
  const script = [xId, endId, EOS, xId];
  const step = scriptedStep(script, 1);
  const pieces = await collect({ step, decode, promptIds: [0], config: { max_new_tokens: 10, eos_token_id: EOS, stop: 'End!' } });
  assert.deepEqual(pieces, [{ tokenId: xId, text: 'x' }, { tokenId: endId, text: '' }, { tokenId: EOS, text: 'End' }]);
  const result = await generate({ step, decode, promptIds: [0], config: { max_new_tokens: 10, eos_token_id: [99, EOS] } });
  assert.deepEqual(result.ids, [xId, endId, EOS]);
  assert.equal(result.text, 'xEnd');
  assert.equal(result.finishReason, 'eos');
});

test('min_new_tokens keeps eos away until enough tokens are generated', async () => {
  // A model that always prefers eos, then "a".
  const step = () => {
    const logits = new Float32Array(V).fill(-5);
    logits[EOS] = 5;
    logits[0] = 4;
    return logits;
  };
  const result = await generate({ step, decode, promptIds: [1], config: { eos_token_id: EOS, min_new_tokens: 3, max_new_tokens: 10 } });
  assert.deepEqual(result.ids, [0, 0, 0, EOS]);
  assert.equal(result.text, 'aaa');
});

test('max_new_tokens bounds the output, and the step sees prompt + generated ids', async () => {
  const seen: number[][] = [];
  const step = (ids: readonly number[]) => {
    seen.push([...ids]);
    return bigramStep(ids);
  };
  const result = await generate({ step, decode, promptIds: [5, 1], config: { max_new_tokens: 3 } });
  assert.equal(result.ids.length, 3);
  assert.equal(result.finishReason, 'length');
  assert.deepEqual(seen, [[5, 1], [5, 1, result.ids[0]], [5, 1, result.ids[0], result.ids[1]]]);
  assert.ok(result.tokensPerSecond > 0);

  let calls = 0;
  const none = await generate({ step: () => (calls++, new Float32Array(V)), decode, promptIds: [1], config: { max_new_tokens: 0 } });
  assert.deepEqual(none, { ids: [], text: '', finishReason: 'length', tokensPerSecond: 0 });
  assert.equal(calls, 0);
  const fromMaxLength = await generate({ step: bigramStep, decode, promptIds: [1, 2, 3], config: { max_length: 5 } });
  assert.equal(fromMaxLength.ids.length, 2, 'max_length counts the prompt, as in HF');
});

test('an async step works the same as a synchronous one', async () => {
  const config = { do_sample: true, max_new_tokens: 15, seed: 3 };
  const asyncStep = async (ids: readonly number[]) => {
    await new Promise((resolve) => setImmediate(resolve));
    return bigramStep(ids);
  };
  const sync = await generate({ step: bigramStep, decode, promptIds: [0], config });
  const async_ = await generate({ step: asyncStep, decode, promptIds: [0], config });
  assert.deepEqual(async_.ids, sync.ids);
});

test('breaking out of the stream stops calling the model', async () => {
  let calls = 0;
  const step = (ids: readonly number[]) => (calls++, bigramStep(ids));
  for await (const piece of generateStream({ step, decode, promptIds: [0], config: { max_new_tokens: 50 } })) {
    assert.equal(typeof piece.tokenId, 'number');
    if (calls === 3) break;
  }
  assert.equal(calls, 3);
});

test('an invalid config is a named error before the model is called', async () => {
  let calls = 0;
  const step = (ids: readonly number[]) => (calls++, bigramStep(ids));
  await assert.rejects(generate({ step, decode, promptIds: [0], config: { top_k: -3 } }), (error: unknown) => error instanceof QkvValueError && /top_k/.test(error.message));
  await assert.rejects(generate({ step, decode, promptIds: [0], config: { stop_sequences: ['x'] } as GenerationConfig }), /stop_sequences/);
  assert.equal(calls, 0);
});
