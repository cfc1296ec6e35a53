/**
 * Child process for build-index.test.ts: re-indexes `argv[2]` (docs) into `argv[3]` (index)
 * and SIGKILLs itself after the new generation is written but before it is committed, the
 * worst moment for a crash. Not a test file itself (no .test.ts).
 */
import { indexDocuments } from '../../src/rag/build-index.ts';
import { hashingEmbedder } from './fixtures.ts';

const [docs, index, store] = process.argv.slice(2);
await indexDocuments({
  paths: [docs],
  dir: index,
  embedder: hashingEmbedder(256),
  store: store as 'flat' | 'hnsw',
  chunking: { chunkTokens: 12, overlapTokens: 3 },
  beforeCommit: () => process.kill(process.pid, 'SIGKILL'),
});
