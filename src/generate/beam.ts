/**
 * Decoding for encoder–decoder models: greedy search and beam search, each running the encoder
 * once (`startDecoding`) and then one decoder step per position (`decodeStep`), so the decoder's
 * self-attention reads a KV cache and its cross-attention keys/values are computed once.
 *
 * Beam search follows Hugging Face's `BeamSearchScorer` (transformers' generation/beam_search.py):
 * K beams per source; each step ranks the 2K best continuations of all beams by summed
 * log-probability; a continuation ending in EOS among the top K becomes a finished hypothesis,
 * scored sum_logprobs / length^length_penalty (HF) or sum_logprobs / ((5 + length) / 6)^α
 * (GNMT, Wu et al. 2016), length = generated tokens including EOS; the other K continue.
 * A source is done when it has K finished hypotheses and either `earlyStopping` is set or no
 * running beam can still beat the worst of them (HF's heuristic); at `maxNewTokens` the running
 * beams join the hypotheses unfinished. Scores above 0 length penalty favour longer outputs.
 *
 * Legend: B = sources, K = beams, N = B·K decoding rows, V = vocab.
 */
import { noGrad } from '../tensor/autograd.ts';
import { QkvShapeError, QkvValueError, formatShape } from '../tensor/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';

/** What an encoder–decoder model offers the decoders (the Transformer and the GRU seq2seq both do). */
export interface Seq2SeqDecodable<State> {
  readonly decoderStartTokenId: number;
  readonly eosTokenId: number;
  readonly training: boolean;
  train(mode?: boolean): unknown;
  /** Runs the encoder once over source ids (B, S); returns a state of B·numBeams rows (each source repeated). */
  startDecoding(sourceIds: Tensor, numBeams: number): State;
  /** Feeds one token per row (N), returns next-token logits (N, V). */
  decodeStep(state: State, tokens: Int32Array): Tensor;
  /** Keeps rows `indices` (N, each within its source's K rows), in that order. */
  reorderState(state: State, indices: Int32Array): void;
}

export interface BeamSearchOptions {
  /** Beams K per source (default 4; 1 is greedy with EOS handling). */
  numBeams?: number;
  /** Most tokens generated per source, EOS included (default 64). */
  maxNewTokens?: number;
  /** α of the length normalisation (default 1, as HF's `length_penalty`; 0 is plain log-probability). */
  lengthPenalty?: number;
  /** 'hf': length^α (default); 'gnmt': ((5 + length) / 6)^α. */
  lengthPenaltyStyle?: 'hf' | 'gnmt';
  /**
   * true: a source stops as soon as K hypotheses are finished (HF `early_stopping=True`); false
   * (default, HF's default): it goes on while a live beam could still beat the worst finished one.
   */
  earlyStopping?: boolean;
  /** Hypotheses returned per source, best first (default 1, at most numBeams). */
  numReturnSequences?: number;
}

export interface Hypothesis {
  /** Generated ids, without the start token and without EOS. */
  tokens: number[];
  /** Length-normalised score the beams were ranked by. */
  score: number;
  /** Summed log-probability of the tokens (EOS included when finished). */
  logProbability: number;
  /** Whether it ended in EOS (false: cut at maxNewTokens). */
  finished: boolean;
}

/** The length normalisation divisor. @example lengthNormalizer(4, 1, 'hf') // 4 */
export function lengthNormalizer(length: number, alpha: number, style: 'hf' | 'gnmt' = 'hf'): number {
  return style === 'gnmt' ? Math.pow((5 + length) / 6, alpha) : Math.pow(length, alpha);
}

/** (N, V) logits → N rows of log-probabilities (float64, stable: max subtracted first). */
function logSoftmaxRows(logits: Tensor): Float64Array[] {
  if (logits.ndim !== 2) throw new QkvShapeError(`decodeStep must return (N, V) logits, got ${formatShape(logits.shape)}`);
  const [N, V] = logits.shape;
  const data = logits.contiguousData();
  const rows: Float64Array[] = [];
  for (let n = 0; n < N; n++) {
    const row = new Float64Array(V);
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, data[n * V + v]);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(data[n * V + v] - max);
    const logSum = max + Math.log(sum);
    for (let v = 0; v < V; v++) row[v] = data[n * V + v] - logSum;
    rows.push(row);
  }
  return rows;
}

function withEval<T>(model: { training: boolean; train(mode?: boolean): unknown }, run: () => T): T {
  const wasTraining = model.training;
  model.train(false);
  try {
    return noGrad(run);
  } finally {
    if (wasTraining) model.train(true);
  }
}

/**
 * Greedy decoding: the most probable token at each step until EOS or `maxNewTokens`.
 * Returns each source's generated ids without EOS.
 *
 * @example const [ids] = greedyDecode(model, encodeSources(tokenizer, ['3rd of March, 2021']));
 */
export function greedyDecode<State>(model: Seq2SeqDecodable<State>, sourceIds: Tensor, options: { maxNewTokens?: number } = {}): number[][] {
  const maxNewTokens = options.maxNewTokens ?? 64;
  return withEval(model, () => {
    const B = sourceIds.shape[0];
    const state = model.startDecoding(sourceIds, 1);
    const outputs: number[][] = Array.from({ length: B }, () => []);
    const done = new Array<boolean>(B).fill(false);
    let tokens = new Int32Array(B).fill(model.decoderStartTokenId);
    for (let step = 0; step < maxNewTokens && done.includes(false); step++) {
      const logits = model.decodeStep(state, tokens);
      const V = logits.shape[1];
      const data = logits.contiguousData();
      const next = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        let best = 0;
        for (let v = 1; v < V; v++) if (data[b * V + v] > data[b * V + best]) best = v;
        next[b] = best;
        if (done[b]) continue;
        if (best === model.eosTokenId) done[b] = true;
        else outputs[b].push(best);
      }
      tokens = next;
    }
    return outputs;
  });
}

/** One source's finished hypotheses, at most K kept (HF's `BeamHypotheses`). */
class HypothesisPool {
  readonly items: Hypothesis[] = [];
  constructor(readonly capacity: number) {}

  get worstScore(): number {
    return this.items.length < this.capacity ? -Infinity : this.items[this.items.length - 1].score;
  }

  add(hypothesis: Hypothesis): void {
    if (this.items.length >= this.capacity && hypothesis.score <= this.worstScore) return;
    this.items.push(hypothesis);
    this.items.sort((a, b) => b.score - a.score);
    if (this.items.length > this.capacity) this.items.pop();
  }
}

/**
 * Beam search over an encoder–decoder model; returns, per source, up to `numReturnSequences`
 * hypotheses, best first.
 *
 * @example
 * const [[best]] = beamSearch(model, encodeSources(tokenizer, ['3rd of March, 2021']), { numBeams: 4, lengthPenalty: 0.6 });
 * tokenizer.decode(best.tokens); // "2021-03-03"
 */
export function beamSearch<State>(model: Seq2SeqDecodable<State>, sourceIds: Tensor, options: BeamSearchOptions = {}): Hypothesis[][] {
  const K = options.numBeams ?? 4;
  const maxNewTokens = options.maxNewTokens ?? 64;
  const alpha = options.lengthPenalty ?? 1;
  const style = options.lengthPenaltyStyle ?? 'hf';
  const earlyStopping = options.earlyStopping ?? false;
  const returned = options.numReturnSequences ?? 1;
  if (!Number.isInteger(K) || K < 1) throw new QkvValueError(`beamSearch: numBeams must be a positive integer, got ${K}`);
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new QkvValueError(`beamSearch: maxNewTokens must be a positive integer, got ${maxNewTokens}`);
  if (!Number.isInteger(returned) || returned < 1 || returned > K) {
    throw new QkvValueError(`beamSearch: numReturnSequences must be an integer in [1, numBeams = ${K}], got ${returned}`);
  }
  return withEval(model, () => {
    const B = sourceIds.shape[0];
    const eos = model.eosTokenId;
    const state = model.startDecoding(sourceIds, K);
    const pools = Array.from({ length: B }, () => new HypothesisPool(K));
    const done = new Array<boolean>(B).fill(false);
    // Only beam 0 is live at first: all K start identical, and −∞ keeps the first step from picking one token K times.
    let beamLogProb = Array.from({ length: B * K }, (_, row) => (row % K === 0 ? 0 : -Infinity));
    let beamTokens: number[][] = Array.from({ length: B * K }, () => []);
    let inputs = new Int32Array(B * K).fill(model.decoderStartTokenId);

    for (let step = 0; step < maxNewTokens; step++) {
      const logProbs = logSoftmaxRows(model.decodeStep(state, inputs)); // N × (V)
      const V = logProbs[0].length;
      const length = step + 1; // tokens generated after this step, EOS included
      const nextLogProb: number[] = [];
      const nextTokens: number[][] = [];
      const nextInputs = new Int32Array(B * K);
      const keepRows = new Int32Array(B * K);
      for (let b = 0; b < B; b++) {
        const firstRow = b * K;
        if (done[b]) {
          // Keep the rows in place (they are decoded but ignored) so every source keeps K rows.
          for (let k = 0; k < K; k++) {
            keepRows[firstRow + k] = firstRow + k;
            nextInputs[firstRow + k] = eos;
            nextLogProb.push(-Infinity);
            nextTokens.push(beamTokens[firstRow + k]);
          }
          continue;
        }
        // The 2K best (beam, token) continuations: enough that K survive even if K end in EOS.
        const candidates: { row: number; token: number; logProb: number }[] = [];
        for (let k = 0; k < K; k++) {
          const row = firstRow + k;
          if (beamLogProb[row] === -Infinity) continue;
          for (let v = 0; v < V; v++) candidates.push({ row, token: v, logProb: beamLogProb[row] + logProbs[row][v] });
        }
        candidates.sort((x, y) => y.logProb - x.logProb);
        let kept = 0;
        for (const [rank, candidate] of candidates.slice(0, 2 * K).entries()) {
          if (kept === K) break;
          if (candidate.token === eos) {
            // As HF: an EOS continuation ranked below the top K would not have been a beam.
            if (rank < K) {
              pools[b].add({ tokens: beamTokens[candidate.row], score: candidate.logProb / lengthNormalizer(length, alpha, style), logProbability: candidate.logProb, finished: true });
            }
            continue;
          }
          keepRows[firstRow + kept] = candidate.row;
          nextInputs[firstRow + kept] = candidate.token;
          nextLogProb.push(candidate.logProb);
          nextTokens.push([...beamTokens[candidate.row], candidate.token]);
          kept++;
        }
        for (; kept < K; kept++) {
          keepRows[firstRow + kept] = firstRow;
          nextInputs[firstRow + kept] = eos;
          nextLogProb.push(-Infinity);
          nextTokens.push([]);
        }
        // Done: K finished, and (early stopping or no live beam can beat the worst finished one).
        const pool = pools[b];
        if (pool.items.length >= K) {
          const bestLive = Math.max(...nextLogProb.slice(firstRow, firstRow + K));
          done[b] = earlyStopping || bestLive / lengthNormalizer(length, alpha, style) <= pool.worstScore;
        }
      }
      beamLogProb = nextLogProb;
      beamTokens = nextTokens;
      inputs = nextInputs;
      if (done.every(Boolean)) break;
      model.reorderState(state, keepRows);
    }
    // At maxNewTokens the live beams join their pools unfinished (HF's `finalize`).
    for (let b = 0; b < B; b++) {
      if (done[b]) continue;
      for (let k = 0; k < K; k++) {
        const row = b * K + k;
        if (beamLogProb[row] === -Infinity) continue;
        const tokens = beamTokens[row];
        pools[b].add({ tokens, score: beamLogProb[row] / lengthNormalizer(tokens.length, alpha, style), logProbability: beamLogProb[row], finished: false });
      }
    }
    return pools.map((pool) => pool.items.slice(0, returned));
  });
}
