/**
 * Vectors in PostgreSQL with pgvector, through the `pg` client: for collections that outgrow
 * one process, or that several servers share. One table per collection:
 *
 *   CREATE TABLE qkv_rag_<collection> (id text PRIMARY KEY, embedding vector(C), metadata jsonb NOT NULL)
 *   CREATE INDEX … USING hnsw (embedding vector_cosine_ops)      -- vector_ip_ops for 'ip'
 *
 * Search is `ORDER BY embedding <=> $query LIMIT k` (`<=>` is cosine distance, `<#>` the negated
 * inner product), so the HNSW index serves it; a metadata filter becomes `metadata @> $filter`
 * (one-of filters `metadata->>key = ANY(…)`). Every `add` and `delete` is one transaction: a
 * failure (a dimension that differs from the table's, a lost connection) leaves the table as
 * it was. `addBulk` is `add` for a large batch: the HNSW index is dropped, the rows inserted and
 * the index built once over the whole table, in one transaction (pgvector builds the graph from
 * all rows far faster than it inserts rows one by one into an existing one). `save(dir)` writes only `store.json` (kind, table, dim, metric and the URL without its
 * password): the rows are committed already.
 *
 * Tested over the wire protocol against PGlite with its pgvector extension, served on 127.0.0.1
 * by @electric-sql/pglite-socket (Debian's PostgreSQL here has no pgvector).
 *
 * @example
 *   const store = await PostgresVectorStore.connect({ url: 'postgres://localhost/rag', collection: 'docs', dim: 384 });
 *   await store.add(records);
 *   const hits = await store.search(query, 10, { lang: 'en' });
 *   await store.close();
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { writeJsonAtomic } from '../io/atomic.ts';
import type { Metadata } from './loaders.ts';
import { l2Normalize } from './embedder.ts';
import { QkvStoreError } from './errors.ts';
import { checkDimensions, checkQuery } from './vector-store.ts';
import type { MetadataFilter, Metric, SearchHit, VectorRecord, VectorStore } from './vector-store.ts';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` */
  url: string;
  /** Table name suffix: letters, digits and `_` (default `default`). */
  collection?: string;
  /** Needed to create the table; for an existing table it must match (or be left out). */
  dim?: number;
  metric?: Metric;
  /** ef_search for the HNSW index scan (default 64, as usearch). */
  efSearch?: number;
  /** Fail fast on a dead URL (default 5000 ms). */
  connectTimeoutMs?: number;
}

/** The URL with the password removed, for messages and store.json. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable database URL>';
  }
}

function vectorLiteral(vector: Float32Array): string {
  return `[${Array.from(vector).join(',')}]`;
}

const ROWS_PER_INSERT = 200;

export interface BulkAddOptions {
  /** `maintenance_work_mem` for the index build, e.g. '512MB' (pgvector builds faster when the graph fits). */
  maintenanceWorkMem?: string;
}

export class PostgresVectorStore implements VectorStore {
  readonly kind = 'postgres' as const;
  readonly dim: number;
  readonly metric: Metric;
  readonly table: string;
  private readonly client: pg.Client;
  private readonly where: string;
  private readonly url: string;

  private constructor(client: pg.Client, url: string, table: string, dim: number, metric: Metric) {
    this.client = client;
    this.url = url;
    this.table = table;
    this.dim = dim;
    this.metric = metric;
    this.where = `${redactUrl(url)} table ${table}`;
  }

  /** Connects, creates the extension, table and index when missing, and checks the dimension of an existing table. */
  static async connect(options: PostgresStoreOptions): Promise<PostgresVectorStore> {
    const collection = options.collection ?? 'default';
    if (!/^[A-Za-z0-9_]{1,48}$/.test(collection)) throw new QkvStoreError('postgres store', `collection must be 1–48 letters, digits or _, got ${JSON.stringify(collection)}`);
    const table = `qkv_rag_${collection.toLowerCase()}`;
    const client = new pg.Client({ connectionString: options.url, connectionTimeoutMillis: options.connectTimeoutMs ?? 5000 });
    client.on('error', () => {}); // a dropped connection surfaces on the next query instead of crashing the process
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw new QkvStoreError(redactUrl(options.url), `cannot connect to PostgreSQL (${(error as Error).message || (error as NodeJS.ErrnoException).code})`);
    }
    try {
      await client.query('CREATE EXTENSION IF NOT EXISTS vector');
      const existing = await client.query<{ dim: number }>(
        `SELECT a.atttypmod AS dim FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
         WHERE c.relname = $1 AND a.attname = 'embedding' AND NOT a.attisdropped`,
        [table],
      );
      const metric = options.metric ?? 'cos';
      let dim: number;
      if (existing.rows.length > 0) {
        dim = Number(existing.rows[0].dim);
        if (options.dim !== undefined && options.dim !== dim) {
          throw new QkvStoreError(`${redactUrl(options.url)} table ${table}`, `holds vectors of dim ${dim}, but dim ${options.dim} was asked for`);
        }
      } else {
        if (options.dim === undefined) throw new QkvStoreError(`${redactUrl(options.url)} table ${table}`, 'does not exist; give dim to create it');
        dim = options.dim;
        const ops = metric === 'cos' ? 'vector_cosine_ops' : 'vector_ip_ops';
        await client.query('BEGIN');
        await client.query(`CREATE TABLE ${table} (id text PRIMARY KEY, embedding vector(${dim}) NOT NULL, metadata jsonb NOT NULL DEFAULT '{}')`);
        await client.query(`CREATE INDEX ${table}_embedding_hnsw ON ${table} USING hnsw (embedding ${ops})`);
        await client.query(`COMMENT ON TABLE ${table} IS '${metric}'`);
        await client.query('COMMIT');
      }
      const comment = await client.query<{ metric: string | null }>(`SELECT obj_description($1::regclass, 'pg_class') AS metric`, [table]);
      const storedMetric: Metric = comment.rows[0]?.metric === 'ip' ? 'ip' : 'cos';
      const efSearch = options.efSearch ?? 64;
      if (!Number.isInteger(efSearch) || efSearch < 1) throw new QkvStoreError('postgres store', `efSearch must be a positive integer, got ${efSearch}`);
      await client.query(`SET hnsw.ef_search = ${efSearch}`);
      return new PostgresVectorStore(client, options.url, table, dim, storedMetric);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end().catch(() => undefined);
      if (error instanceof QkvStoreError) throw error;
      throw new QkvStoreError(`${redactUrl(options.url)} table ${table}`, (error as Error).message);
    }
  }

  async count(): Promise<number> {
    const result = await this.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.table}`);
    return Number(result.rows[0].n);
  }

  async add(records: readonly VectorRecord[]): Promise<void> {
    checkDimensions(this.where, this.dim, records);
    if (records.length === 0) return;
    await this.transaction(() => this.insertRows(records));
  }

  /**
   * Adds or replaces many records the fast way: drops the HNSW index, inserts, builds the index
   * once over the whole table, all in one transaction (a failure leaves table and index as they
   * were). Worth it when the batch is large beside the table; queries wait for the commit.
   * Returns the time spent inserting and building the index (the commit excluded).
   *
   * @example
   *   await store.addBulk(records, { maintenanceWorkMem: '512MB' });
   */
  async addBulk(records: readonly VectorRecord[], options: BulkAddOptions = {}): Promise<{ insertMs: number; indexMs: number }> {
    checkDimensions(this.where, this.dim, records);
    const memory = options.maintenanceWorkMem;
    if (memory !== undefined && !/^[1-9][0-9]{0,9}(kB|MB|GB)$/.test(memory)) {
      throw new QkvStoreError(this.where, `maintenanceWorkMem must look like '512MB' (kB, MB or GB), got ${JSON.stringify(memory)}`);
    }
    const timings = { insertMs: 0, indexMs: 0 };
    if (records.length === 0) return timings;
    const index = `${this.table}_embedding_hnsw`;
    await this.transaction(async () => {
      const start = performance.now();
      await this.client.query(`DROP INDEX IF EXISTS ${index}`);
      await this.insertRows(records);
      const inserted = performance.now();
      timings.insertMs = inserted - start;
      if (memory !== undefined) await this.client.query(`SET LOCAL maintenance_work_mem = '${memory}'`);
      await this.client.query(`CREATE INDEX ${index} ON ${this.table} USING hnsw (embedding ${this.metric === 'cos' ? 'vector_cosine_ops' : 'vector_ip_ops'})`);
      timings.indexMs = performance.now() - inserted;
    });
    return timings;
  }

  /** Multi-row INSERT … ON CONFLICT of `records` (inside the caller's transaction). */
  private async insertRows(records: readonly VectorRecord[]): Promise<void> {
    const latest = new Map<string, VectorRecord>();
    for (const record of records) latest.set(record.id, record); // ON CONFLICT cannot touch a row twice in one statement
    const rows = [...latest.values()];
    for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
      const batch = rows.slice(start, start + ROWS_PER_INSERT);
      const values: string[] = [];
      const params: string[] = [];
      for (const record of batch) {
        const vector = this.metric === 'cos' ? l2Normalize(record.vector) : record.vector;
        params.push(record.id, vectorLiteral(vector), JSON.stringify(record.metadata));
        const n = params.length;
        values.push(`($${n - 2}, $${n - 1}::vector, $${n}::jsonb)`);
      }
      await this.client.query(
        `INSERT INTO ${this.table} (id, embedding, metadata) VALUES ${values.join(', ')}
         ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding, metadata = EXCLUDED.metadata`,
        params,
      );
    }
  }

  async delete(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    let removed = 0;
    await this.transaction(async () => {
      const result = await this.client.query(`DELETE FROM ${this.table} WHERE id = ANY($1::text[])`, [ids]);
      removed = result.rowCount ?? 0;
    });
    return removed;
  }

  async search(query: Float32Array, k: number, filter?: MetadataFilter): Promise<SearchHit[]> {
    checkQuery(this.where, this.dim, query, k);
    const vector = this.metric === 'cos' ? l2Normalize(query) : query;
    const operator = this.metric === 'cos' ? '<=>' : '<#>';
    const params: unknown[] = [vectorLiteral(vector), k];
    const conditions: string[] = [];
    const equalities: Metadata = {};
    for (const [key, wanted] of Object.entries(filter ?? {})) {
      if (Array.isArray(wanted)) {
        params.push(key, wanted.map((value) => JSON.stringify(value)));
        conditions.push(`(metadata -> $${params.length - 1})::text = ANY($${params.length}::text[])`);
      } else {
        equalities[key] = wanted as Metadata[string];
      }
    }
    if (Object.keys(equalities).length > 0) {
      params.push(JSON.stringify(equalities));
      conditions.push(`metadata @> $${params.length}::jsonb`);
    }
    const whereClause = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const result = await this.query<{ id: string; distance: number; metadata: Metadata }>(
      `SELECT id, metadata, (embedding ${operator} $1::vector)::float8 AS distance FROM ${this.table} ${whereClause}
       ORDER BY embedding ${operator} $1::vector LIMIT $2`,
      params,
    );
    // <=> is 1 − cos; <#> is −⟨q, x⟩.
    return result.rows.map((row) => ({ id: row.id, score: this.metric === 'cos' ? 1 - row.distance : -row.distance, metadata: row.metadata }));
  }

  async searchMany(queries: readonly Float32Array[], k: number, filter?: MetadataFilter): Promise<SearchHit[][]> {
    const results: SearchHit[][] = [];
    for (const query of queries) results.push(await this.search(query, k, filter));
    return results;
  }

  async save(dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    writeJsonAtomic(join(dir, 'store.json'), { kind: 'postgres', url: redactUrl(this.url), table: this.table, collection: this.table.slice('qkv_rag_'.length), dim: this.dim, metric: this.metric });
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }

  /** Drops the collection's table (tests, `--rebuild`). */
  async dropTable(): Promise<void> {
    await this.query(`DROP TABLE IF EXISTS ${this.table}`);
  }

  private async query<Row extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<pg.QueryResult<Row>> {
    try {
      return await this.client.query<Row>(text, params);
    } catch (error) {
      throw new QkvStoreError(this.where, (error as Error).message);
    }
  }

  private async transaction(body: () => Promise<void>): Promise<void> {
    try {
      await this.client.query('BEGIN');
      await body();
      await this.client.query('COMMIT');
    } catch (error) {
      await this.client.query('ROLLBACK').catch(() => undefined);
      throw error instanceof QkvStoreError ? error : new QkvStoreError(this.where, (error as Error).message);
    }
  }
}
