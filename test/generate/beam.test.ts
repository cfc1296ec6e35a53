import { test } from 'node:test';
import assert from 'node:assert/strict';
import { beamSearch, greedyDecode, lengthNormalizer, type Seq2SeqDecodable } from '../../src/generate/beam.ts';
import { Transformer } from '../../src/models/transformer.ts';
import { TRANSFORMER_PRESETS } from '../../src/models/transformer-config.ts';
import { RnnSeq2Seq } from '../../src/models/rnn-seq2seq.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

// Tokens of the hand-built model: 0 start, 1 EOS, 2 A, 3 B, 4 C.
const [START, EOS, A, B, C] = [0, 1, 2, 3, 4];
const V = 5;

/** A decoder whose next-token distribution is a fixed table of the prefix; unlisted tokens get ε. */
class TableModel implements Seq2SeqDecodable<{ prefixes: number[][] }> {
  readonly decoderStartTokenId = START;
  readonly eosTokenId = EOS;
  training = false;
  calls = 0;
  constructor(private readonly table: Record<string, Record<number, number>>) {}
  train(): void {}

  distribution(prefix: readonly number[]): number[] {
    const listed = this.table[prefix.join(' ')] ?? { [EOS]: 1 };
    const raw = Array.from({ length: V }, (_, v) => (v === START ? 0 : listed[v] ?? 1e-3));
    const sum = raw.reduce((s, p) => s + p, 0);
    return raw.map((p) => p / sum);
  }
  logProbability(sequence: readonly number[]): number {
    return sequence.reduce((total, token, i) => total + Math.log(this.distribution(sequence.slice(0, i))[token]), 0);
  }
  startDecoding(sourceIds: Tensor, numBeams: number) {
    return { prefixes: Array.from({ length: sourceIds.shape[0] * numBeams }, () => [] as number[]) };
  }
  decodeStep(state: { prefixes: number[][] }, tokens: Int32Array): Tensor {
    this.calls++;
    state.prefixes = state.prefixes.map((prefix, row) => (tokens[row] === START ? prefix : [...prefix, tokens[row]]));
    const logits = state.prefixes.flatMap((prefix) => this.distribution(prefix).map((p) => (p === 0 ? -Infinity : Math.log(p))));
    return new Tensor(Float32Array.from(logits), [tokens.length, V]);
  }
  reorderState(state: { prefixes: number[][] }, indices: Int32Array): void {
    state.prefixes = Array.from(indices, (i) => [...state.prefixes[i]]);
  }
}

const oneSource = Tensor.from([[5]]);

test('beam search finds a more probable sequence than greedy on a hand-built model', () => {
  // Greedy takes A (0.6) and then must stop (EOS 0.4): P = 0.24. B (0.4) then EOS (0.9) has P = 0.36.
  const model = new TableModel({ '': { [A]: 0.6, [B]: 0.4 }, [A]: { [EOS]: 0.4, [A]: 0.3, [B]: 0.3 }, [B]: { [EOS]: 0.9 } });
  assert.deepEqual(greedyDecode(model, oneSource), [[A]]);
  const [[best, second]] = beamSearch(model, oneSource, { numBeams: 2, lengthPenalty: 0, numReturnSequences: 2 });
  assert.deepEqual(best.tokens, [B]);
  assert.ok(Math.abs(best.logProbability - model.logProbability([B, EOS])) < 1e-6);
  assert.ok(best.logProbability > model.logProbability([A, EOS]));
  assert.deepEqual(second.tokens, [A]); // the n-best list, best first
  assert.ok(best.finished && second.finished);
});

test('length penalty changes the choice as documented: α > 0 favours the longer hypothesis', () => {
  // "A" (then EOS): log 0.5 over 2 tokens. "B C C" (then EOS): 0.5·0.9·0.9·0.95 over 4 tokens.
  const model = new TableModel({ '': { [A]: 0.5, [B]: 0.5 }, [A]: { [EOS]: 1 }, [B]: { [C]: 0.9, [EOS]: 0.1 }, [`${B} ${C}`]: { [C]: 0.9 }, [`${B} ${C} ${C}`]: { [EOS]: 0.95 } });
  const short = model.logProbability([A, EOS]);
  const long = model.logProbability([B, C, C, EOS]);
  assert.ok(short > long && short / 2 < long / 4, 'the example must separate the two settings');
  const [[plain]] = beamSearch(model, oneSource, { numBeams: 2, lengthPenalty: 0 });
  assert.deepEqual(plain.tokens, [A]);
  const [[normalised]] = beamSearch(model, oneSource, { numBeams: 2, lengthPenalty: 1 });
  assert.deepEqual(normalised.tokens, [B, C, C]);
  assert.ok(Math.abs(normalised.score - long / 4) < 1e-6, 'HF score = sum_logprobs / length^α');
  // HF's early_stopping=True stops once K hypotheses are done, here before "B C C" is: "A" stays best.
  const [[early]] = beamSearch(model, oneSource, { numBeams: 2, lengthPenalty: 1, earlyStopping: true });
  assert.deepEqual(early.tokens, [A]);
  const [[gnmt]] = beamSearch(model, oneSource, { numBeams: 2, lengthPenalty: 1, lengthPenaltyStyle: 'gnmt' });
  assert.ok(Math.abs(gnmt.score - long / ((5 + 4) / 6)) < 1e-6, 'GNMT score = sum_logprobs / ((5 + length)/6)^α');
  assert.equal(lengthNormalizer(4, 0.6, 'gnmt'), Math.pow(1.5, 0.6));
});

test('a source stops once K hypotheses are finished and no live beam can beat them; maxNewTokens returns the live beams unfinished', () => {
  const model = new TableModel({ '': { [A]: 0.5, [B]: 0.5 } }); // then EOS everywhere
  beamSearch(model, oneSource, { numBeams: 2 });
  assert.equal(model.calls, 2, 'both beams end at step 2, no step 3');
  const looping = new TableModel({ '': { [A]: 1 }, [A]: { [A]: 1 }, [`${A} ${A}`]: { [A]: 1 } });
  const [[cut]] = beamSearch(looping, oneSource, { numBeams: 2, maxNewTokens: 3 });
  assert.deepEqual(cut.tokens, [A, A, A]);
  assert.equal(cut.finished, false);
  assert.throws(() => beamSearch(model, oneSource, { numBeams: 2, numReturnSequences: 3 }), /numReturnSequences/);
});

const seq2seqModels = () => [
  new Transformer({ vocab_size: 12, ...TRANSFORMER_PRESETS.tiny, pad_token_id: 0, bos_token_id: 1, eos_token_id: 2 }, { rng: new Rng(7) }),
  new RnnSeq2Seq({ vocab_size: 12, embedding_size: 8, hidden_size: 16, attention: 'additive', pad_token_id: 0, bos_token_id: 1, eos_token_id: 2 }, { rng: new Rng(7) }),
];

test('beam size 1 equals greedy decoding (Transformer and GRU with attention), on a batch of sources', () => {
  const sources = Tensor.from([[5, 6, 7, 2], [8, 9, 2, 0], [10, 11, 4, 2]]);
  for (const model of seq2seqModels() as Seq2SeqDecodable<unknown>[]) {
    const greedy = greedyDecode(model, sources, { maxNewTokens: 10 });
    const beam = beamSearch(model, sources, { numBeams: 1, maxNewTokens: 10 }).map(([best]) => best.tokens);
    assert.deepEqual(beam, greedy, model.constructor.name);
    // With more beams the best hypothesis is at least as probable as the greedy one under the same score.
    const wide = beamSearch(model, sources, { numBeams: 4, maxNewTokens: 10, lengthPenalty: 0, numReturnSequences: 4 });
    for (const hypotheses of wide) for (let i = 1; i < hypotheses.length; i++) assert.ok(hypotheses[i - 1].score >= hypotheses[i].score);
  }
});

test('the Transformer encoder runs once and cross-attention keys are projected once per layer during beam search', () => {
  const model = seq2seqModels()[0] as Transformer;
  let encoderCalls = 0;
  let crossKeyProjections = 0;
  const encoder = model.model.encoder;
  const originalEncoder = encoder.forward.bind(encoder);
  encoder.forward = (...args: Parameters<typeof encoder.forward>) => (encoderCalls++, originalEncoder(...args));
  const keyProjection = model.model.decoder.layers[0].encoder_attn.k_proj!;
  const originalKey = keyProjection.forward.bind(keyProjection);
  keyProjection.forward = (x: Tensor) => (crossKeyProjections++, originalKey(x));
  beamSearch(model, Tensor.from([[5, 6, 7, 2], [8, 9, 2, 0]]), { numBeams: 3, maxNewTokens: 6 });
  assert.equal(encoderCalls, 1);
  assert.equal(crossKeyProjections, 1);
});
