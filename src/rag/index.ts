/**
 * Retrieval-augmented generation: documents → chunks → embeddings → a vector store (+ BM25) →
 * cited answers, evaluated. See each module's header for the details.
 *
 * @example
 * import { indexDocuments, Retriever, answerQuestion, openAIGenerator, loadBertEmbedder } from 'qkv';
 * const embedder = loadBertEmbedder('runs/embedder');
 * await indexDocuments({ paths: ['docs/'], dir: 'runs/rag', embedder, store: 'hnsw' });
 * const retriever = await Retriever.open('runs/rag', { embedder });
 * const answer = await answerQuestion({ question: 'Who won?', retriever, generator: openAIGenerator({ baseURL, model }) });
 */
export { loadDocuments, SUPPORTED_EXTENSIONS, type RagDocument, type LoadProblem, type LoadResult, type LoadOptions, type Metadata, type MetadataValue } from './loaders.ts';
export { htmlToText } from './html-text.ts';
export { chunkDocument, chunkDocuments, wordSpans, CHUNK_DEFAULTS, type Chunk, type ChunkOptions, type TokenSpans } from './chunker.ts';
export { embedInBatches, l2Normalize, type Embedder } from './embedder.ts';
export { bertEmbedder, loadBertEmbedder, type BertEmbedderOptions } from './bert-embedder.ts';
export { QkvStoreError } from './errors.ts';
export { matchesFilter, type VectorStore, type VectorRecord, type SearchHit, type MetadataFilter, type Metric, type StoreKind } from './vector-store.ts';
export { FlatVectorStore } from './flat-store.ts';
export { HnswVectorStore, type HnswStoreOptions } from './hnsw-store.ts';
export { PostgresVectorStore, type PostgresStoreOptions } from './postgres-store.ts';
export { createStore, openStore, STORE_KINDS, type StoreOptions } from './open-store.ts';
export { Bm25Index, bm25Terms, type Bm25Options } from './bm25.ts';
export { reciprocalRankFusion } from './fusion.ts';
export { indexDocuments, type IndexDocumentsOptions, type IndexReport } from './build-index.ts';
export { Retriever, SEARCH_MODES, type SearchMode, type RetrievedChunk, type SearchOptions } from './retriever.ts';
export { answerQuestion, buildRagPrompt, extractCitations, causalLMGenerator, openAIGenerator, type Answer, type Citation, type Generator } from './answer.ts';
export { retrievalMetrics, type RetrievalMetrics } from './metrics.ts';
export { evaluateRetrieval, readLabelledQueries } from './evaluate.ts';
export { makeBrownEval, writeBrownEval, type LabelledQuery } from './brown-eval.ts';
export { trainContrastive, inBatchNegativesLoss, type ContrastiveOptions, type ContrastiveSummary } from './contrastive.ts';
