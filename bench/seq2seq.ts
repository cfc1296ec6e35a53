/**
 * Encoder–decoder decoding (src/generate/beam.ts): greedy decoding of the small Transformer with the
 * encoder run once, a decoder self-attention KV cache and cross-attention keys/values computed
 * once, against recomputing encoder and decoder over the whole prefix at every step (what a
 * decoder without a cache does). Both must produce the same tokens before they are timed; beam
 * search (4 beams) is timed on the same sources.
 */
import { greedyDecode, beamSearch } from '../src/generate/beam.ts';
import { Transformer } from '../src/models/transformer.ts';
import { TRANSFORMER_PRESETS } from '../src/models/transformer-config.ts';
import { noGrad } from '../src/tensor/autograd.ts';
import { Rng } from '../src/tensor/random.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { type BenchReport, timeMedianMs } from './report.ts';

const V = 64;
const B = 16;
const S = 24;
const STEPS = 24;

/** Greedy decoding with no cache: every step re-encodes the source and re-decodes the prefix. */
function greedyRecompute(model: Transformer, source: Tensor): number[][] {
  return noGrad(() => {
    const prefix: number[][] = Array.from({ length: B }, () => [model.decoderStartTokenId]);
    for (let step = 0; step < STEPS; step++) {
      const ids = Tensor.from(prefix.flat(), [B, step + 1]);
      const logits = model.forward(source, { decoderInputIds: ids }).logits.narrow(1, step, 1).reshape([B, V]); // (B, V) of the last position
      for (let b = 0; b < B; b++) prefix[b].push(logits.argmax(1).contiguousData()[b]);
    }
    return prefix.map((row) => row.slice(1));
  });
}

export async function run(report: BenchReport): Promise<void> {
  const rng = new Rng(0);
  // Untrained weights: checked below that no row hits EOS early, so both decoders produce B × STEPS tokens.
  const model = new Transformer({ vocab_size: V, ...TRANSFORMER_PRESETS.small, pad_token_id: 0, bos_token_id: 1, eos_token_id: 2 }, { rng }).eval();
  const source = Tensor.from(Array.from({ length: B * S }, () => 3 + rng.randint(V - 3)), [B, S]);
  const cached = greedyDecode(model, source, { maxNewTokens: STEPS });
  const recomputed = greedyRecompute(model, source);
  if (cached.some((row) => row.length !== STEPS)) throw new Error('bench seq2seq: a row stopped at EOS early; the two decoders would do different work');
  const same = cached.every((row, b) => row.every((token, t) => token === recomputed[b][t]));
  if (!same) throw new Error('bench seq2seq: cached and recomputed greedy decoding disagree');
  const tokens = cached.reduce((total, row) => total + row.length, 0);
  const shape = `B${B} S${S} T${STEPS}`;
  const recomputeMs = timeMedianMs(() => greedyRecompute(model, source), { minRuns: 3 });
  const cachedMs = timeMedianMs(() => greedyDecode(model, source, { maxNewTokens: STEPS }), { minRuns: 3 });
  const beamMs = timeMedianMs(() => beamSearch(model, source, { numBeams: 4, maxNewTokens: STEPS }), { minRuns: 3 });
  const recomputeRate = (tokens / recomputeMs) * 1000;
  report.row({ name: 'seq2seq greedy, full recompute', shape, timeMs: recomputeMs, value: recomputeRate, unit: 'tokens/s' });
  report.row({ name: 'seq2seq greedy, KV cache', shape, timeMs: cachedMs, value: (tokens / cachedMs) * 1000, unit: 'tokens/s', ratio: recomputeMs / cachedMs, baseline: 'seq2seq greedy, full recompute' });
  report.row({ name: 'seq2seq beam 4, KV cache', shape, timeMs: beamMs, value: (tokens / beamMs) * 1000, unit: 'tokens/s', ratio: recomputeMs / beamMs, baseline: 'seq2seq greedy, full recompute' });
}
