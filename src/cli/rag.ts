/**
 * `qkv rag index|search|ask|eval|make-eval` and `qkv embed-train` (issue 14): a thin layer over
 * src/rag. Library calls beside each command are in the README.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { loadCausalLM } from '../models/load.ts';
import { BertModel } from '../models/bert.ts';
import { loadBert, saveBert } from '../models/bert-folder.ts';
import { bertBody } from '../models/bert-heads.ts';
import { trainWordPiece } from '../tokenizers/wordpiece-trainer.ts';
import { Rng } from '../tensor/random.ts';
import { answerQuestion, causalLMGenerator, openAIGenerator, type Generator } from '../rag/answer.ts';
import { loadBertEmbedder } from '../rag/bert-embedder.ts';
import { makeBrownEval, writeBrownEval, BROWN_EVAL_DEFAULTS } from '../rag/brown-eval.ts';
import { indexDocuments } from '../rag/build-index.ts';
import { trainContrastive } from '../rag/contrastive.ts';
import { createLsaBert } from '../rag/lsa-init.ts';
import type { Embedder } from '../rag/embedder.ts';
import { evaluateRetrieval, readLabelledQueries } from '../rag/evaluate.ts';
import { currentGenerationDir, readManifest } from '../rag/index-folder.ts';
import { loadDocuments } from '../rag/loaders.ts';
import { STORE_KINDS } from '../rag/open-store.ts';
import { Retriever, SEARCH_MODES, type SearchMode } from '../rag/retriever.ts';
import type { MetadataFilter, StoreKind } from '../rag/vector-store.ts';
import { collect, integerOption, numberOption } from './options.ts';
import { createProgress, type Progress } from './progress.ts';

function choice<T extends string>(name: string, allowed: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(allowed as readonly string[]).includes(value)) throw new InvalidArgumentError(`${name} must be one of ${allowed.join(', ')}, got "${value}"`);
    return value as T;
  };
}

/** `--filter key=value` (repeatable); numbers and booleans are parsed, so `year=1961` matches the number. */
function parseFilters(pairs: readonly string[] | undefined): MetadataFilter | undefined {
  if (pairs === undefined || pairs.length === 0) return undefined;
  const filter: MetadataFilter = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new InvalidArgumentError(`--filter must be key=value, got "${pair}"`);
    const raw = pair.slice(at + 1);
    filter[pair.slice(0, at)] = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }
  return filter;
}

/** The embedder for an existing index: `--embed-model`, else the folder recorded at index time. */
function embedderForIndex(indexDir: string, embedModel: string | undefined): Embedder | null {
  const manifest = readManifest(currentGenerationDir(indexDir));
  const dir = embedModel ?? manifest.embedder?.model;
  return manifest.embedder === null || dir === undefined ? null : loadBertEmbedder(dir);
}

interface RetrievalFlags {
  index: string;
  embedModel?: string;
  databaseUrl?: string;
  mode?: SearchMode;
  k: number;
  filter?: string[];
  perDocument?: boolean;
  json?: boolean;
}

function addRetrievalOptions(command: Command, defaultK: number): Command {
  return command
    .requiredOption('--index <dir>', 'index folder (from `qkv rag index`)')
    .option('--mode <mode>', `${SEARCH_MODES.join(' | ')} (default hybrid, or bm25 for an index without vectors)`, choice('--mode', SEARCH_MODES))
    .option('--k <n>', 'passages retrieved', integerOption('--k', 1), defaultK)
    .option('--filter <key=value>', 'only chunks whose metadata matches (repeatable; `source=PATH` works too)', collect)
    .option('--per-document', 'one result per source document (its best chunk), in every mode')
    .option('--embed-model <dir>', 'BERT folder for queries (default: the one the index was built with)')
    .option('--database-url <url>', 'PostgreSQL URL for a postgres index (default DATABASE_URL)')
    .option('--json', 'print JSON');
}

async function openRetriever(flags: RetrievalFlags): Promise<Retriever> {
  return Retriever.open(flags.index, { embedder: embedderForIndex(flags.index, flags.embedModel), databaseUrl: flags.databaseUrl });
}

export function registerRagCommands(program: Command): void {
  const rag = program.command('rag').description('retrieval-augmented generation: index documents, search, answer with citations, evaluate');

  rag
    .command('index')
    .description('load, chunk, embed and store documents (.txt .md .html .jsonl); re-running updates only what changed')
    .argument('<paths...>', 'files or folders')
    .requiredOption('--index <dir>', 'index folder (created, or updated in place atomically)')
    .option('--store <kind>', `vector store for a new index: ${STORE_KINDS.join(' | ')}`, choice('--store', STORE_KINDS))
    .option('--database-url <url>', 'PostgreSQL URL for --store postgres (default DATABASE_URL)')
    .option('--collection <name>', 'PostgreSQL table suffix (qkv_rag_<name>)', 'default')
    .option('--embed-model <dir>', 'BERT folder (config.json, model.safetensors, tokenizer.json); without it the index is BM25-only')
    .option('--chunk-tokens <n>', 'most tokens per chunk', integerOption('--chunk-tokens', 1))
    .option('--overlap <n>', 'tokens repeated between neighbouring chunks', integerOption('--overlap', 0))
    .option('--jsonl-field <name>', 'text field of .jsonl records', 'text')
    .option('--threads <n>', 'HNSW build threads (at least 2)', integerOption('--threads', 2))
    .option('--batch-size <n>', 'chunks per embedding batch', integerOption('--batch-size', 1), 32)
    .option('--json', 'print the report as JSON')
    .action(async (paths: string[], flags: { index: string; store?: StoreKind; databaseUrl?: string; collection: string; embedModel?: string; chunkTokens?: number; overlap?: number; jsonlField: string; threads?: number; batchSize: number; json?: boolean }) => {
      const embedder = flags.embedModel === undefined ? null : loadBertEmbedder(flags.embedModel);
      let progress: Progress | null = null;
      const report = await indexDocuments({
        paths,
        dir: flags.index,
        embedder,
        embedderModel: flags.embedModel,
        store: flags.store,
        storeOptions: { databaseUrl: flags.databaseUrl, collection: flags.collection, threads: flags.threads },
        chunking: { chunkTokens: flags.chunkTokens, overlapTokens: flags.overlap },
        load: { jsonlTextField: flags.jsonlField },
        batchSize: flags.batchSize,
        onProgress: (done, total) => {
          progress ??= createProgress({ total, silent: Boolean(flags.json) });
          progress.update(done);
        },
      });
      (progress as Progress | null)?.stop();
      for (const problem of report.problems) process.stderr.write(`skipped ${problem.path}: ${problem.reason}\n`);
      if (flags.json) {
        console.log(JSON.stringify(report));
        return;
      }
      console.log(`${report.generation}: ${report.totalDocuments} documents, ${report.totalChunks} chunks (${report.newDocuments} new, ${report.changedDocuments} changed, ${report.unchangedDocuments} unchanged, ${report.removedDocuments} removed; +${report.chunksAdded} −${report.chunksRemoved} chunks) in ${report.seconds.toFixed(1)} s`);
    });

  addRetrievalOptions(rag.command('search').description('the passages that best match a query').argument('<query>', 'what to search for'), 10)
    .action(async (query: string, flags: RetrievalFlags) => {
      const retriever = await openRetriever(flags);
      try {
        const hits = await retriever.search(query, { mode: flags.mode, k: flags.k, filter: parseFilters(flags.filter), perDocument: flags.perDocument });
        if (flags.json) {
          console.log(JSON.stringify(hits.map((hit, i) => ({ rank: i + 1, score: hit.score, id: hit.chunk.id, source: hit.chunk.source, start: hit.chunk.start, end: hit.chunk.end, text: hit.chunk.text }))));
          return;
        }
        hits.forEach((hit, i) => console.log(`${i + 1}. ${hit.chunk.source}:${hit.chunk.start}-${hit.chunk.end} (${hit.score.toFixed(4)})\n   ${hit.chunk.text.replace(/\s+/g, ' ').slice(0, 200)}`));
      } finally {
        await retriever.close();
      }
    });

  addRetrievalOptions(rag.command('ask').description('answer a question from the retrieved passages, citing them as [n]').argument('<question>', 'the question'), 4)
    .option('--model <dir>', 'qkv causal LM folder (GPT or Llama) to answer with')
    .option('--base-url <url>', 'any OpenAI-compatible endpoint, e.g. http://localhost:8000/v1')
    .option('--openai-model <name>', 'model name sent to --base-url', 'gpt-4o-mini')
    .option('--max-new-tokens <n>', 'answer length limit', integerOption('--max-new-tokens', 1), 128)
    .action(async (question: string, flags: RetrievalFlags & { model?: string; baseUrl?: string; openaiModel: string; maxNewTokens: number }) => {
      if ((flags.model === undefined) === (flags.baseUrl === undefined)) throw new InvalidArgumentError('give exactly one of --model DIR or --base-url URL');
      let generator: Generator;
      if (flags.model !== undefined) {
        const { model, tokenizer } = loadCausalLM(flags.model);
        generator = causalLMGenerator(model, tokenizer, { max_new_tokens: flags.maxNewTokens });
      } else {
        generator = openAIGenerator({ baseURL: flags.baseUrl!, model: flags.openaiModel, maxTokens: flags.maxNewTokens });
      }
      const retriever = await openRetriever(flags);
      try {
        const answer = await answerQuestion({ question, retriever, generator, mode: flags.mode, k: flags.k, filter: parseFilters(flags.filter) });
        const sources = answer.passages.map((hit, i) => ({ n: i + 1, id: hit.chunk.id, source: hit.chunk.source, start: hit.chunk.start, end: hit.chunk.end, cited: answer.citations.some((c) => c.n === i + 1) }));
        if (flags.json) {
          console.log(JSON.stringify({ answer: answer.answer, citations: answer.citations, invalid_citations: answer.invalidCitations, sources }));
          return;
        }
        console.log(answer.answer);
        console.log('\nSources:');
        for (const source of sources) console.log(`[${source.n}]${source.cited ? '*' : ' '} ${source.source}:${source.start}-${source.end}`);
        if (answer.invalidCitations.length > 0) console.log(`(cited but not retrieved: ${answer.invalidCitations.map((n) => `[${n}]`).join(' ')})`);
      } finally {
        await retriever.close();
      }
    });

  addRetrievalOptions(rag.command('eval').description('recall@1/5/10, MRR and nDCG@10 on labelled queries'), 10)
    .requiredOption('--queries <file>', 'JSONL, one {"query": "...", "relevant": ["<source path>", ...]} per line')
    .action(async (flags: RetrievalFlags & { queries: string }) => {
      const queries = readLabelledQueries(flags.queries);
      const retriever = await openRetriever(flags);
      try {
        const { mode, metrics, queriesPerSecond } = await evaluateRetrieval(retriever, queries, { mode: flags.mode, k: flags.k, perDocument: flags.perDocument });
        if (flags.json) {
          console.log(JSON.stringify({ mode, ...metrics, queries_per_second: queriesPerSecond }));
          return;
        }
        console.log(`${mode} over ${metrics.queries} queries: recall@1 ${metrics['recall@1'].toFixed(3)}  recall@5 ${metrics['recall@5'].toFixed(3)}  recall@10 ${metrics['recall@10'].toFixed(3)}  MRR ${metrics.mrr.toFixed(3)}  nDCG@10 ${metrics['ndcg@10'].toFixed(3)}  (${queriesPerSecond.toFixed(1)} queries/s)`);
      } finally {
        await retriever.close();
      }
    });

  rag
    .command('make-eval')
    .description('write the labelled Brown Corpus retrieval set: DIR/docs/*.txt and DIR/queries.jsonl (held-out sentences, rewritten)')
    .requiredOption('--out <dir>', 'where to write it')
    .option('--brown <file>', 'the Brown Corpus text', 'data/brown.txt')
    .option('--documents <n>', 'documents given a query', integerOption('--documents', 1), BROWN_EVAL_DEFAULTS.documents)
    .option('--seed <n>', 'seed', integerOption('--seed', 0), BROWN_EVAL_DEFAULTS.seed)
    .option('--json', 'print JSON')
    .action((flags: { out: string; brown: string; documents: number; seed: number; json?: boolean }) => {
      const set = makeBrownEval({ brownText: readFileSync(flags.brown, 'utf8'), documents: flags.documents, seed: flags.seed });
      const { docsDir, queriesFile } = writeBrownEval(flags.out, set);
      const summary = { documents: set.documents.length, queries: set.queries.length, shared_word_fraction: set.sharedWordFraction, docs: docsDir, queries_file: queriesFile };
      console.log(flags.json ? JSON.stringify(summary) : `${summary.documents} documents in ${docsDir}, ${summary.queries} queries in ${queriesFile} (on average ${(100 * summary.shared_word_fraction).toFixed(0)}% of a query's words occur in its document)`);
    });

  program
    .command('embed-train')
    .description('train a BERT sentence embedder contrastively (in-batch negatives) on your documents')
    .requiredOption('--data <paths...>', 'documents to train on (files or folders, as for `rag index`)')
    .requiredOption('--out <dir>', 'BERT folder to write (config.json, model.safetensors, tokenizer.json)')
    .option('--init <dir>', 'start from this BERT folder (else a new model and WordPiece vocabulary)')
    .option('--steps <n>', 'optimiser steps (default 150 from LSA, 300 from random weights or --init)', integerOption('--steps', 0))
    .option('--batch-size <n>', 'pairs per batch (in-batch negatives)', integerOption('--batch-size', 2), 32)
    .option('--lr <rate>', 'peak learning rate (default 5e-5 from LSA, which a larger rate undoes; else 5e-4)', numberOption('--lr', 0))
    .option('--temperature <t>', 'softmax temperature', numberOption('--temperature', 1e-4), 0.05)
    .option('--max-length <n>', 'tokens per passage', integerOption('--max-length', 8), 96)
    .option('--vocab-size <n>', 'WordPiece vocabulary for a new model', integerOption('--vocab-size', 100), 30000)
    .option('--hidden-size <n>', 'width of a new model', integerOption('--hidden-size', 8), 256)
    .option('--layers <n>', 'layers of a new model', integerOption('--layers', 1), 1)
    .option('--heads <n>', 'attention heads of a new model', integerOption('--heads', 1), 4)
    .option('--pairs <kind>', "anchors: eval-like (the Brown eval's query rewrite) or words (any 8 words of the sentence)", choice('--pairs', ['eval-like', 'words'] as const), 'eval-like')
    .option('--no-lsa', 'start a new model from random word embeddings instead of LSA over the documents')
    .option('--seed <n>', 'seed', integerOption('--seed', 0), 0)
    .option('--json', 'print the summary as JSON')
    .action((flags: { data: string[]; out: string; init?: string; steps?: number; batchSize: number; lr?: number; temperature: number; maxLength: number; vocabSize: number; hiddenSize: number; layers: number; heads: number; lsa: boolean; pairs: 'eval-like' | 'words'; seed: number; json?: boolean }) => {
      const { documents, problems } = loadDocuments(flags.data);
      for (const problem of problems) process.stderr.write(`skipped ${problem.path}: ${problem.reason}\n`);
      const texts = documents.map((document) => document.text);
      let model: BertModel;
      let tokenizer;
      if (flags.init !== undefined) {
        const loaded = loadBert(flags.init);
        model = bertBody(loaded.model);
        tokenizer = loaded.tokenizer;
      } else if (flags.lsa) {
        // Word vectors from document co-occurrence (src/rag/lsa-init.ts): topic similarity from the start.
        ({ model, tokenizer } = createLsaBert(texts, { vocabSize: flags.vocabSize, hiddenSize: flags.hiddenSize, layers: flags.layers, heads: flags.heads, maxPositions: Math.max(256, flags.maxLength), seed: flags.seed }));
      } else {
        tokenizer = trainWordPiece(texts, { vocabSize: flags.vocabSize });
        model = new BertModel(
          { vocab_size: tokenizer.vocabSize, hidden_size: flags.hiddenSize, num_hidden_layers: flags.layers, num_attention_heads: flags.heads, intermediate_size: 4 * flags.hiddenSize, max_position_embeddings: Math.max(128, flags.maxLength) },
          { rng: new Rng(flags.seed) }, // the pooler gets no gradient, but BertModel folders carry one
        );
      }
      const fromLsa = flags.init === undefined && flags.lsa;
      const steps = flags.steps ?? (fromLsa ? 150 : 300);
      const lr = flags.lr ?? (fromLsa ? 5e-5 : 5e-4);
      if (steps === 0) {
        saveBert(flags.out, model, tokenizer);
        console.log(flags.json ? JSON.stringify({ steps: 0, out: flags.out }) : `no contrastive steps; saved ${flags.out}`);
        return;
      }
      const progress = createProgress({ total: steps, fields: ['loss'], silent: Boolean(flags.json) });
      const summary = trainContrastive({
        model, tokenizer, documents: texts, steps, batchSize: flags.batchSize, lr, temperature: flags.temperature, maxLength: flags.maxLength, seed: flags.seed, pairs: flags.pairs,
        onStep: (step, loss) => progress.update(step, { loss: loss.toFixed(3) }),
      });
      progress.stop();
      saveBert(flags.out, model, tokenizer);
      if (flags.json) console.log(JSON.stringify({ ...summary, out: flags.out }));
      else console.log(`loss ${summary.firstLoss.toFixed(3)} → ${summary.finalMeanLoss.toFixed(3)} (chance ln B = ${summary.chanceLoss.toFixed(3)}) in ${summary.seconds.toFixed(0)} s; saved ${flags.out}`);
    });
}
