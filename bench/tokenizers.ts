/**
 * BPE encode throughput, qkv vs js-tiktoken, with GPT-2's ranks, on the same text in the same
 * run: 512 KB of Brown Corpus prose. qkv caches each word's ids, so it is measured twice:
 * warm (the cache filled by the warm-up runs, as in a long-running process) and cold (the
 * cache cleared before every run). Both must give the same ids as js-tiktoken.
 */
import { readFileSync } from 'node:fs';
import { getEncoding } from 'js-tiktoken';
import { loadGpt2Tokenizer } from '../src/tokenizers/gpt2.ts';
import { type BenchReport, timeMedianMs } from './report.ts';

const TEXT_BYTES = 512 * 1024;

export async function run(report: BenchReport): Promise<void> {
  const corpus = readFileSync(new URL('../data/brown.txt', import.meta.url), 'utf8');
  const text = corpus.slice(0, TEXT_BYTES);
  const megabytes = Buffer.byteLength(text, 'utf8') / 1e6;
  const shape = `${Math.round(megabytes * 1000)} KB`;

  const tiktoken = getEncoding('gpt2');
  const qkv = loadGpt2Tokenizer();
  const expected = tiktoken.encode(text);
  const got = qkv.encodeIds(text);
  if (got.length !== expected.length || got.some((id, i) => id !== expected[i])) {
    throw new Error('bench tokenizers: qkv and js-tiktoken disagree on the bench text');
  }

  const options = { warmup: 2, minRuns: 5, minTimeMs: 500 };
  const tiktokenMs = timeMedianMs(() => void tiktoken.encode(text), options);
  const warmMs = timeMedianMs(() => void qkv.encodeIds(text), options);
  const coldMs = timeMedianMs(() => {
    qkv.clearCache();
    qkv.encodeIds(text);
  }, options);

  const baseline = 'bpe encode js-tiktoken';
  const tiktokenRate = megabytes / (tiktokenMs / 1000);
  report.row({ name: baseline, shape, timeMs: tiktokenMs, value: tiktokenRate, unit: 'MB/s' });
  for (const [name, ms] of [
    ['bpe encode qkv', warmMs],
    ['bpe encode qkv (cold cache)', coldMs],
  ] as const) {
    const rate = megabytes / (ms / 1000);
    report.row({ name, shape, timeMs: ms, value: rate, unit: 'MB/s', ratio: rate / tiktokenRate, baseline });
  }
}
