/**
 * Shared test fixtures for the retrieval tests: a deterministic hashing embedder (words hashed
 * into buckets, counts L2-normalised: texts sharing words get similar vectors, no model needed),
 * seeded clustered vectors, and a PGlite + pgvector server on 127.0.0.1.
 */
import { createHash } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite/vector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { Rng } from '../../src/tensor/random.ts';
import type { Embedder } from '../../src/rag/embedder.ts';
import { l2Normalize } from '../../src/rag/embedder.ts';

export function hashingEmbedder(dim = 64): Embedder {
  return {
    name: `test-hashing-${dim}`,
    dim,
    embed: async (texts) =>
      texts.map((text) => {
        const counts = new Float32Array(dim);
        for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
          counts[createHash('md5').update(word).digest().readUInt32LE(0) % dim] += 1;
        }
        return l2Normalize(counts);
      }),
  };
}

/** n vectors of dim C around `clusters` random centres (spread 0.3), plus the centres. */
export function clusteredVectors(n: number, C: number, clusters: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: C }, () => rng.normal()));
  return Array.from({ length: n }, (_, i) => {
    const centre = centres[i % clusters];
    return Float32Array.from(centre, (value) => value + 0.3 * rng.normal());
  });
}

export interface PgliteServer {
  url: string;
  stop(): Promise<void>;
}

/** PGlite with pgvector behind the Postgres wire protocol on a free loopback port. */
export async function startPgliteServer(): Promise<PgliteServer> {
  const db = await PGlite.create({ extensions: { vector } });
  const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1' });
  await server.start();
  const port = (server as unknown as { port: number }).port;
  return {
    url: `postgres://postgres:secret@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
