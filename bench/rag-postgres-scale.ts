/**
 * PostgreSQL + pgvector at 10k and 100k rows, on the path a user takes to load a collection: the
 * adapter's `addBulk` (drop the HNSW index, multi-row INSERTs into the bare table, one
 * `CREATE INDEX … USING hnsw (embedding vector_cosine_ops)` over all of it, with
 * maintenance_work_mem raised), then one query per call over the wire, recall@10 against the exact
 * flat store, memory and load. PGlite (PostgreSQL compiled to wasm, single-threaded, in this
 * process) with its pgvector extension, served by @electric-sql/pglite-socket on 127.0.0.1: the
 * adapter talks to it through `pg` as it would to a server. A real PostgreSQL server builds HNSW
 * natively and on parallel workers, so these figures are a floor, not a forecast.
 *
 * For contrast, rows added one `add` at a time into the table with its index already there (the
 * path that ran 28–91 rows/s here), on a small sample.
 *
 * Not part of `npm run bench` (minutes at 10k, far more at 100k):
 *   node --import tsx bench/rag-postgres-scale.ts [--n 10000] [--queries 200] [--maintenance-work-mem 512MB] [--contrast 500] [--json]
 *
 * The vectors are bench/rag.ts's (200 Gaussian clusters, spread 0.5, unit length).
 */
import { loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { FlatVectorStore } from '../src/rag/flat-store.ts';
import { PostgresVectorStore } from '../src/rag/postgres-store.ts';
import type { SearchHit, VectorRecord } from '../src/rag/vector-store.ts';
import { clusterCentres, clustered, recallAt10 } from './rag.ts';
import { BenchReport } from './report.ts';

const C = 384;
const K = 10;

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback;
}

/** Peak and current resident memory of this process (PGlite's wasm heap included), MB. */
function memoryMb(): { rss: number; peak: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const field = (key: string): number => Number(/(\d+) kB/.exec(status.split('\n').find((line) => line.startsWith(key)) ?? '')?.[1] ?? NaN) / 1024;
  return { rss: field('VmRSS:'), peak: field('VmHWM:') };
}

async function main(): Promise<void> {
  const N = Number(option('n', '10000'));
  const queryCount = Number(option('queries', '200'));
  const maintenanceWorkMem = option('maintenance-work-mem', '512MB');
  const contrast = Number(option('contrast', '500'));
  const report = new BenchReport(process.argv.includes('--json'));
  const shape = `${N / 1000}k x ${C}`;
  report.section(`rag: PostgreSQL + pgvector (PGlite over the wire) at ${shape}`);
  report.row({ name: 'load average (1 min), start', value: loadavg()[0], unit: '' });

  const centres = clusterCentres();
  const records: VectorRecord[] = clustered(N, 1, centres).map((vector, i) => ({ id: String(i), vector, metadata: { shard: i % 8 } }));
  const queries = clustered(queryCount, 2, centres);
  const oracle = new FlatVectorStore({ dim: C });
  await oracle.add(records);
  const exact: SearchHit[][] = oracle.searchManySync(queries, K);

  const { PGlite } = await import('@electric-sql/pglite');
  const { vector } = await import('@electric-sql/pglite/vector');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const memoryBefore = memoryMb();
  const db = await PGlite.create({ extensions: { vector } });
  const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1' });
  await server.start();
  const url = `postgres://postgres@127.0.0.1:${(server as unknown as { port: number }).port}/postgres`;
  try {
    const store = await PostgresVectorStore.connect({ url, collection: 'scale', dim: C });
    try {
      const start = performance.now();
      const { insertMs, indexMs } = await store.addBulk(records, { maintenanceWorkMem });
      const totalMs = performance.now() - start;
      report.row({ name: 'bulk insert (multi-row INSERT, no index)', shape, timeMs: insertMs, value: N / (insertMs / 1000), unit: 'rows/s' });
      report.row({ name: `CREATE INDEX hnsw (m 16, ef_c 64, mwm ${maintenanceWorkMem})`, shape, timeMs: indexMs, value: N / (indexMs / 1000), unit: 'rows/s' });
      report.row({ name: 'addBulk total (insert + index + commit)', shape, timeMs: totalMs, value: N / (totalMs / 1000), unit: 'rows/s' });
      report.row({ name: 'load average (1 min), after the build', value: loadavg()[0], unit: '' });
      if ((await store.count()) !== N) throw new Error(`bench/rag-postgres-scale: the table holds ${await store.count()} rows, expected ${N}`);

      const results: SearchHit[][] = [];
      await store.search(queries[0], K); // warm-up: the first scan reads the index pages in
      const searchStart = performance.now();
      for (const query of queries) results.push(await store.search(query, K));
      const perQueryMs = (performance.now() - searchStart) / queries.length;
      report.row({ name: `search, 1 query per call (ef_search 64, ${queries.length} queries)`, shape, timeMs: perQueryMs, value: 1000 / perQueryMs, unit: 'queries/s' });
      report.row({ name: 'recall@10 vs flat', shape, value: recallAt10(exact, results), unit: '' });
      const memory = memoryMb();
      report.row({ name: 'process RSS after build + search', shape, value: memory.rss, unit: 'MB' });
      report.row({ name: 'process RSS growth since before PGlite', shape, value: memory.rss - memoryBefore.rss, unit: 'MB' });
      report.row({ name: 'process peak RSS (VmHWM)', shape, value: memory.peak, unit: 'MB' });

      if (contrast > 0) {
        // The slow path for contrast: rows added one call each into the indexed table.
        const extra = clustered(contrast, 3, centres).map((vector, i) => ({ id: `extra-${i}`, vector, metadata: {} }));
        const oneByOneStart = performance.now();
        for (const record of extra) await store.add([record]);
        const oneByOneMs = performance.now() - oneByOneStart;
        report.row({ name: `add into the indexed table, 1 row a call`, shape: `${contrast} rows onto ${shape}`, timeMs: oneByOneMs / contrast, value: contrast / (oneByOneMs / 1000), unit: 'rows/s' });
      }
    } finally {
      await store.close();
    }
  } finally {
    await server.stop();
    await db.close();
  }
  report.row({ name: 'load average (1 min), end', value: loadavg()[0], unit: '' });
}

await main();
