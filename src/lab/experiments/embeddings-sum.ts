/**
 * `qkv lab embeddings-sum`: why BERT can add its token, position and segment embeddings
 * instead of concatenating them.
 *
 * Random vectors in C dimensions are nearly orthogonal (|cos| ≈ √(2/(πC))), so a sum of one
 * vector from each table still "contains" each part: correlating the sum with every row of a
 * table picks out the right row. Measured with `BertEmbeddings` itself (sum → LayerNorm, in
 * eval mode) against concatenation at the same width C (each table gets C/3 dimensions):
 * the accuracy of reading back the token, the position and the segment by that matched
 * filter, and the mean |cos| between rows of the word table, as C grows.
 *
 * Legend: N = probes, C = width, V = vocabulary, P = positions.
 */
import { BertEmbeddings, resolveBertConfig } from '../../models/bert.ts';
import { Embedding } from '../../nn/embedding.ts';
import { noGrad } from '../../tensor/autograd.ts';
import { concat } from '../../tensor/ops/shape.ts';
import { manualSeed, Rng } from '../../tensor/random.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { numberListParam, numberParam, type Experiment, type ExperimentResult, type Series } from '../experiment.ts';

/** Fraction of rows of x (N, C) whose best-correlated row of table (R, C) is the right one. */
function matchedFilterAccuracy(x: Tensor, table: Tensor, truth: ArrayLike<number>): number {
  const scores = x.matmul(table.transpose(0, 1)).contiguousData(); // (N, R)
  const rows = table.shape[0];
  let correct = 0;
  for (let n = 0; n < truth.length; n++) {
    let best = 0;
    for (let r = 1; r < rows; r++) if (scores[n * rows + r] > scores[n * rows + best]) best = r;
    if (best === truth[n]) correct++;
  }
  return correct / truth.length;
}

function meanAbsCosine(table: Tensor, pairs: number, rng: Rng): number {
  const [rows, width] = table.shape;
  const data = table.contiguousData();
  let total = 0;
  for (let i = 0; i < pairs; i++) {
    const a = rng.randint(rows);
    const b = (a + 1 + rng.randint(rows - 1)) % rows;
    let dot = 0, na = 0, nb = 0;
    for (let c = 0; c < width; c++) {
      dot += data[a * width + c] * data[b * width + c];
      na += data[a * width + c] ** 2;
      nb += data[b * width + c] ** 2;
    }
    total += Math.abs(dot) / Math.sqrt(na * nb);
  }
  return total / pairs;
}

export interface EmbeddingReadback {
  width: number;
  layout: 'sum' | 'concat';
  token: number;
  position: number;
  segment: number;
  cosine: number;
}

export function measureReadback(width: number, options: { vocab: number; positions: number; probes: number; seed: number }): EmbeddingReadback[] {
  const rng = new Rng(options.seed);
  const N = options.probes;
  const tokens = Array.from({ length: N }, () => rng.randint(options.vocab));
  const positions = Array.from({ length: N }, () => rng.randint(options.positions));
  const segments = Array.from({ length: N }, () => rng.randint(2));
  return noGrad(() => {
    manualSeed(options.seed); // BertEmbeddings initialises from the global generator
    const bert = new BertEmbeddings(resolveBertConfig({ vocab_size: options.vocab, hidden_size: width, max_position_embeddings: options.positions, num_attention_heads: 1 }));
    bert.eval();
    // One probe per row: token t at position p of segment s. BertEmbeddings numbers positions 0…T−1,
    // so each probe is read at its own position of a length-(p + 1) sequence: sum rows directly instead.
    const summed = bert.word_embeddings.forward(tokens)
      .add(bert.position_embeddings.forward(positions))
      .add(bert.token_type_embeddings.forward(segments)); // (N, C): what BertEmbeddings sums
    const normed = bert.LayerNorm.forward(summed); // (N, C)
    const sum: EmbeddingReadback = {
      width, layout: 'sum',
      token: matchedFilterAccuracy(normed, bert.word_embeddings.weight, tokens),
      position: matchedFilterAccuracy(normed, bert.position_embeddings.weight, positions),
      segment: matchedFilterAccuracy(normed, bert.token_type_embeddings.weight, segments),
      cosine: meanAbsCosine(bert.word_embeddings.weight, 2000, rng),
    };
    // Concatenation at the same width: C/3 dimensions per table (the remainder to the tokens).
    const part = Math.floor(width / 3);
    const tables = [new Embedding(options.vocab, width - 2 * part, { rng }), new Embedding(options.positions, part, { rng }), new Embedding(2, part, { rng })];
    const joined = concat([tables[0].forward(tokens), tables[1].forward(positions), tables[2].forward(segments)], 1); // (N, C)
    const slice = (start: number, length: number) => joined.narrow(1, start, length);
    const concatenated: EmbeddingReadback = {
      width, layout: 'concat',
      token: matchedFilterAccuracy(slice(0, width - 2 * part), tables[0].weight, tokens),
      position: matchedFilterAccuracy(slice(width - 2 * part, part), tables[1].weight, positions),
      segment: matchedFilterAccuracy(slice(width - part, part), tables[2].weight, segments),
      cosine: meanAbsCosine(tables[0].weight, 2000, rng),
    };
    return [sum, concatenated];
  });
}

export const embeddingsSumExperiment: Experiment = {
  name: 'embeddings-sum',
  description: "BERT's summed token + position + segment embeddings vs concatenation at equal width: can each part be read back, as C grows",
  params: [
    { name: 'widths', description: 'widths C', default: '12,24,48,96,192,384,768', quick: '12,48,384' },
    { name: 'vocab', description: 'vocabulary size', default: 5000, quick: 1000 },
    { name: 'positions', description: 'position table rows', default: 512, quick: 128 },
    { name: 'probes', description: 'random (token, position, segment) probes', default: 1000, quick: 300 },
  ],
  run(params, { seed, onProgress }): ExperimentResult {
    const widths = numberListParam(params, 'widths');
    const results: EmbeddingReadback[] = [];
    widths.forEach((width, index) => {
      results.push(...measureReadback(width, { vocab: numberParam(params, 'vocab'), positions: numberParam(params, 'positions'), probes: numberParam(params, 'probes'), seed }));
      onProgress(index + 1, widths.length, { width });
    });
    const series: Series[] = (['sum', 'concat'] as const).map((layout) => ({ name: `token read-back (${layout})`, points: results.filter((r) => r.layout === layout).map((r) => [r.width, r.token]) }));
    const widest = results.filter((r) => r.width === widths.at(-1));
    return {
      columns: ['C', 'layout', 'token read-back', 'position read-back', 'segment read-back', 'mean |cos| of word rows'],
      rows: results.map((r) => [r.width, r.layout, r.token, r.position, r.segment, r.cosine]),
      plot: { title: 'reading the token back from the embedding', xLabel: 'width C', yLabel: 'accuracy', kind: 'line', logX: true, series },
      findings: [
        `At C = ${widths.at(-1)} the sum reads back token ${widest[0].token.toFixed(3)}, position ${widest[0].position.toFixed(3)}, segment ${widest[0].segment.toFixed(3)}; concatenation ${widest[1].token.toFixed(3)}, ${widest[1].position.toFixed(3)}, ${widest[1].segment.toFixed(3)}.`,
        `Word rows are near-orthogonal: mean |cos| ${widest[0].cosine.toFixed(3)} at C = ${widths.at(-1)} (√(2/(πC)) = ${Math.sqrt(2 / (Math.PI * widths.at(-1)!)).toFixed(3)}).`,
      ],
    };
  },
};
