/**
 * Latent semantic analysis (LSA) over a corpus, as the starting point of a BERT sentence
 * embedder: word vectors from document co-occurrence, written into the word-embedding table.
 *
 * Why: the retrieval eval (./brown-eval.ts) asks for the document a query came from when most
 * of the query's words never occur in that document. What links them is topic: words that
 * co-occur in the same documents elsewhere in the corpus. That is exactly what LSA measures,
 * and a randomly initialised BERT cannot learn it from a few hundred contrastive steps on 2
 * cores. With these vectors, mean pooling over a passage is LSA's "folding in" of the passage.
 *
 *   X[d, t]  = count of token t in document unit d                       (D, V)
 *   P[d, t]  = max(0, log(X[d,t]·Σ / (Σ_t X[d,·] · Σ_d X[·,t])))        PPMI, (D, V)
 *   P ≈ U S Wᵀ, truncated to `dim` (eigenvectors of the Gram matrix P Pᵀ, (D, D), by a
 *   randomised range finder and Jacobi on the small projected matrix)
 *   word t   = row t of Pᵀ U S^(α−1) = W S^α                              (V, dim)
 *
 * `initBertFromLsa` then makes the model compute exactly mean(LayerNorm(word vector)) at the
 * start of training: position and segment embeddings are zeroed, and every layer's two output
 * projections (attention and feed-forward) are zeroed, so each post-LN residual layer passes
 * its input through (LN of an already normalised row). Contrastive training moves on from
 * there; the zeroed projections still get gradients, so the layers can learn.
 *
 * Legend: D = document units, V = vocabulary, k = dim.
 *
 * @example
 *   const vectors = lsaWordVectors(tokenizer, documents, { dim: 256 });
 *   initBertFromLsa(model, vectors);
 */
import { matmul } from '../kernels/index.ts';
import { BertModel } from '../models/bert.ts';
import { QkvShapeError, QkvValueError } from '../tensor/errors.ts';
import { Rng } from '../tensor/random.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { trainWordPiece } from '../tokenizers/wordpiece-trainer.ts';
import { symmetricEigen } from './symmetric-eigen.ts';

export interface LsaOptions {
  /** Dimensions kept (the model's hidden size). */
  dim: number;
  /** Singular-value power in the word vectors (default 0.5: between W and W·S). */
  alpha?: number;
  /** At most this many document units; more documents are merged, neighbours together (default 2048). */
  maxUnits?: number;
  /** Components kept after the skipped ones (default dim); fewer than dim leaves the rest of each vector zero. */
  components?: number;
  /** Leading components left out (default 0); the first is mostly word frequency, not topic. */
  skipComponents?: number;
  /** Power iterations of the range finder (default 4). */
  powerIterations?: number;
  seed?: number;
}

export interface LsaWordVectors {
  /** (V, dim), row-major; a row of zeros for a token the corpus never uses. */
  vectors: Float32Array;
  vocabSize: number;
  dim: number;
  /** Singular values kept, largest first. */
  singularValues: Float64Array;
}

export function lsaWordVectors(tokenizer: Tokenizer, documents: readonly string[], options: LsaOptions): LsaWordVectors {
  const V = tokenizer.vocabSize;
  const dim = options.dim;
  const alpha = options.alpha ?? 0.5;
  const maxUnits = options.maxUnits ?? 2048;
  if (!Number.isInteger(dim) || dim < 1) throw new QkvValueError(`lsaWordVectors: dim must be a positive integer, got ${dim}`);
  if (documents.length < 2) throw new QkvValueError(`lsaWordVectors: need at least 2 documents, got ${documents.length}`);
  const special = new Set(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((token) => tokenizer.tokenToId(token)).filter((id): id is number => id !== undefined));

  // Counts X (D, V), dense: D ≤ maxUnits keeps it at D·V floats.
  const D = Math.min(documents.length, maxUnits);
  const X = new Float32Array(D * V);
  documents.forEach((text, index) => {
    const unit = Math.floor((index * D) / documents.length);
    for (const id of tokenizer.encode(text, null, { addSpecialTokens: false }).ids) if (!special.has(id)) X[unit * V + id] += 1;
  });
  const rowSums = new Float64Array(D);
  const columnSums = new Float64Array(V);
  let total = 0;
  for (let d = 0; d < D; d++) {
    for (let t = 0; t < V; t++) {
      const count = X[d * V + t];
      rowSums[d] += count;
      columnSums[t] += count;
    }
    total += rowSums[d];
  }
  if (total === 0) throw new QkvValueError('lsaWordVectors: the documents have no tokens');
  const P = X; // PPMI in place, (D, V)
  for (let d = 0; d < D; d++) {
    for (let t = 0; t < V; t++) {
      const count = P[d * V + t];
      P[d * V + t] = count > 0 ? Math.max(0, Math.log((count * total) / (rowSums[d] * columnSums[t]))) : 0;
    }
  }

  // Top eigenvectors of G = P Pᵀ (D, D): G = U S² Uᵀ.
  const G = new Float32Array(D * D);
  matmul(P, P, G, { batch: 1, m: D, n: D, k: V, transB: true });
  const skip = options.skipComponents ?? 0;
  const k = Math.min(D - skip, dim, options.components ?? dim);
  if (!Number.isInteger(k) || k < 1) throw new QkvValueError(`lsaWordVectors: components must be a positive integer, got ${options.components}`);
  const top = topEigenvectors(G, D, k + skip, options.powerIterations ?? 4, new Rng(options.seed ?? 0)); // (D, k + skip)
  const U = new Float64Array(D * k); // (D, k), the kept components
  for (let d = 0; d < D; d++) U.set(top.vectors.subarray(d * (k + skip) + skip, (d + 1) * (k + skip)), d * k);
  const values = top.values.subarray(skip);

  // Word vectors: Pᵀ U S^(α−1), (V, k) = (V, D) · (D, k), scaled per column.
  const scaled = new Float32Array(D * k);
  const singularValues = new Float64Array(k);
  for (let j = 0; j < k; j++) singularValues[j] = Math.sqrt(Math.max(values[j], 0));
  for (let d = 0; d < D; d++) {
    for (let j = 0; j < k; j++) scaled[d * k + j] = singularValues[j] > 1e-9 ? U[d * k + j] * singularValues[j] ** (alpha - 1) : 0;
  }
  const words = new Float32Array(V * k);
  matmul(P, scaled, words, { batch: 1, m: V, n: k, k: D, transA: true });
  const vectors = new Float32Array(V * dim); // columns beyond k (fewer documents than dims) stay zero
  for (let t = 0; t < V; t++) vectors.set(words.subarray(t * k, (t + 1) * k), t * dim);
  return { vectors, vocabSize: V, dim, singularValues };
}

/** The k largest eigenpairs of the symmetric (n, n) matrix `a`, largest first: vectors (n, k) row-major. */
export function topEigenvectors(a: Float32Array, n: number, k: number, powerIterations: number, rng: Rng): { vectors: Float64Array; values: Float64Array } {
  // Range finder: Q = orth(A^q Ω) with a few spare columns; when they cover all n, it is exact.
  const width = Math.min(n, k + 16);
  let Y = new Float32Array(n * width);
  for (let i = 0; i < Y.length; i++) Y[i] = rng.normal();
  orthonormalizeColumns(Y, n, width);
  const AY = new Float32Array(n * width);
  for (let iteration = 0; iteration < powerIterations; iteration++) {
    matmul(a, Y, AY, { batch: 1, m: n, n: width, k: n }); // (n, width)
    Y = AY.slice();
    orthonormalizeColumns(Y, n, width);
  }
  // Rayleigh–Ritz: B = Qᵀ A Q (width, width), B = Z Λ Zᵀ, eigenvectors Q Z.
  matmul(a, Y, AY, { batch: 1, m: n, n: width, k: n });
  const B = new Float32Array(width * width);
  matmul(Y, AY, B, { batch: 1, m: width, n: width, k: n, transA: true });
  const small = new Float64Array(width * width);
  for (let i = 0; i < width; i++) for (let j = 0; j < width; j++) small[i * width + j] = 0.5 * (B[i * width + j] + B[j * width + i]);
  const { values, vectors: Z } = symmetricEigen(small, width); // descending
  const vectors = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < k; j++) {
      let sum = 0;
      for (let c = 0; c < width; c++) sum += Y[r * width + c] * Z[c * width + j];
      vectors[r * k + j] = sum;
    }
  }
  return { vectors, values: values.slice(0, k) };
}

/** Modified Gram–Schmidt on the columns of the (rows, cols) row-major matrix, in float64 per column. */
function orthonormalizeColumns(m: Float32Array, rows: number, cols: number): void {
  const column = new Float64Array(rows);
  for (let j = 0; j < cols; j++) {
    for (let r = 0; r < rows; r++) column[r] = m[r * cols + j];
    for (let pass = 0; pass < 2; pass++) {
      // twice ("twice is enough"): float32 storage loses orthogonality after one pass
      for (let i = 0; i < j; i++) {
        let dot = 0;
        for (let r = 0; r < rows; r++) dot += m[r * cols + i] * column[r];
        for (let r = 0; r < rows; r++) column[r] -= dot * m[r * cols + i];
      }
    }
    let norm = 0;
    for (let r = 0; r < rows; r++) norm += column[r] * column[r];
    norm = Math.sqrt(norm);
    for (let r = 0; r < rows; r++) m[r * cols + j] = norm > 1e-12 ? column[r] / norm : 0;
  }
}

/**
 * Writes the LSA word vectors into `model` (each row scaled to norm √dim, so LayerNorm sees unit
 * variance) and makes every layer pass its input through, as described at the top.
 */
export function initBertFromLsa(model: BertModel, lsa: LsaWordVectors): void {
  const { vocab_size: V, hidden_size: C } = model.config;
  if (lsa.vocabSize !== V || lsa.dim !== C) throw new QkvShapeError(`initBertFromLsa: vectors are (${lsa.vocabSize}, ${lsa.dim}), the model's word embeddings (${V}, ${C})`);
  const table = model.embeddings.word_embeddings.weight.data as Float32Array; // (V, C)
  for (let t = 0; t < V; t++) {
    const row = lsa.vectors.subarray(t * C, (t + 1) * C);
    let mean = 0;
    for (let c = 0; c < C; c++) mean += row[c] / C;
    let norm = 0;
    for (let c = 0; c < C; c++) norm += (row[c] - mean) ** 2;
    const scale = norm > 0 ? Math.sqrt(C / norm) : 0;
    for (let c = 0; c < C; c++) table[t * C + c] = (row[c] - mean) * scale;
  }
  (model.embeddings.position_embeddings.weight.data as Float32Array).fill(0);
  (model.embeddings.token_type_embeddings.weight.data as Float32Array).fill(0);
  for (const layer of model.encoder.layer) {
    for (const projection of [layer.attention.output.dense, layer.output.dense]) {
      (projection.weight.data as Float32Array).fill(0);
      (projection.bias!.data as Float32Array).fill(0);
    }
  }
}

export interface LsaBertOptions {
  /** WordPiece vocabulary (default 30000: most Brown words stay whole, so their vectors are their own). */
  vocabSize?: number;
  hiddenSize?: number;
  layers?: number;
  heads?: number;
  maxPositions?: number;
  /** See `LsaOptions` (here alpha defaults to 1, measured better than 0.5 on the Brown eval: MRR 0.346 vs 0.325; skipComponents to 1). */
  alpha?: number;
  skipComponents?: number;
  seed?: number;
}

/** A new WordPiece vocabulary and BERT trained on `documents`, its word table set by LSA (~10 s on 2 cores for the Brown eval's 295 documents). */
export function createLsaBert(documents: readonly string[], options: LsaBertOptions = {}): { model: BertModel; tokenizer: Tokenizer; singularValues: Float64Array } {
  const tokenizer = trainWordPiece(documents, { vocabSize: options.vocabSize ?? 30000 });
  const hidden = options.hiddenSize ?? 256;
  const model = new BertModel(
    { vocab_size: tokenizer.vocabSize, hidden_size: hidden, num_hidden_layers: options.layers ?? 1, num_attention_heads: options.heads ?? 4, intermediate_size: 4 * hidden, max_position_embeddings: options.maxPositions ?? 256 },
    { rng: new Rng(options.seed ?? 0) },
  );
  const lsa = lsaWordVectors(tokenizer, documents, { dim: hidden, alpha: options.alpha ?? 1, skipComponents: options.skipComponents ?? 1, seed: options.seed });
  initBertFromLsa(model, lsa);
  return { model, tokenizer, singularValues: lsa.singularValues };
}
