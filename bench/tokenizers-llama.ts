/**
 * Llama-style tokenizer.json encode throughput (SentencePiece pieces as a BPE with byte_fallback),
 * qkv vs @huggingface/tokenizers on the same file and text in the same run: 64 KB of Brown prose,
 * a SentencePiece-style vocabulary of 1000 merges trained here, in the legacy form (Prepend +
 * Replace normalizer: the whole text is one word) and the Metaspace split form; and qkv's
 * score-driven SPM model (the GGUF import) on the same text. Cold cache: every run starts empty.
 * All must give the same ids. Standalone: `npx tsx bench/tokenizers-llama.ts`.
 */
import { readFileSync } from 'node:fs';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { llamaTokenizerFromGguf } from '../src/tokenizers/gguf-import.ts';
import { SPACE_SYMBOL } from '../src/tokenizers/sentencepiece.ts';
import { learnSentencePieceMerges } from '../test/tokenizers/sentencepiece-merges.ts';
import { tokenizerFromJson, tokenizerToJson } from '../src/tokenizers/tokenizer-json.ts';
import type { GgufReadValue } from '../src/io/gguf-format.ts';
import { BenchReport, timeMedianMs } from './report.ts';

const TEXT_BYTES = 64 * 1024;
const MERGES = 1000;

/** SentencePiece BPE training, greedy on word counts: merged pieces scored by merge order, characters after. */
function sentencePieceMetadata(corpus: string): Map<string, GgufReadValue> {
  const { merged, alphabet } = learnSentencePieceMerges(corpus, MERGES);
  const bytes = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  return new Map<string, GgufReadValue>([
    ['tokenizer.ggml.model', 'llama'],
    ['tokenizer.ggml.tokens', ['<unk>', '<s>', '</s>', ...bytes, ...merged, ...alphabet]],
    ['tokenizer.ggml.scores', [0, 0, 0, ...bytes.map(() => 0), ...merged.map((_, i) => -i), ...alphabet.map((_, i) => -(merged.length + i))]],
    ['tokenizer.ggml.token_type', [2, 3, 3, ...bytes.map(() => 6), ...new Array(merged.length + alphabet.length).fill(1)]],
  ]);
}

export async function run(report: BenchReport): Promise<void> {
  const corpus = readFileSync(new URL('../data/brown.txt', import.meta.url), 'utf8');
  const spm = llamaTokenizerFromGguf(sentencePieceMetadata(corpus.slice(0, 200_000)), 'bench.gguf');
  const text = corpus.slice(300_000, 300_000 + TEXT_BYTES);
  const megabytes = Buffer.byteLength(text, 'utf8') / 1e6;
  const shape = `${Math.round(megabytes * 1000)} KB`;
  const legacy = tokenizerToJson(spm) as Record<string, unknown>;
  const metaspace = { ...legacy, normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: SPACE_SYMBOL, prepend_scheme: 'first', split: true } };
  const expected = JSON.stringify(spm.encodeIds(text));
  const options = { warmup: 1, minRuns: 5, minTimeMs: 300 };
  for (const [form, json] of [['legacy', legacy], ['metaspace split', metaspace]] as const) {
    const ours = tokenizerFromJson(json);
    const hf = new HfTokenizer(json as never, {});
    const theirs = JSON.stringify([...hf.encode(text, { add_special_tokens: false }).ids]);
    if (JSON.stringify(ours.encodeIds(text)) !== theirs) throw new Error(`bench tokenizers-llama: qkv and @huggingface/tokenizers disagree (${form})`);
    // the legacy form is the SPM algorithm exactly; split can only cut merges across words, not here (no piece spans a ▁ inside)
    if (theirs !== expected) throw new Error(`bench tokenizers-llama: ${form} differs from the SPM model's ids`);
    const hfMs = timeMedianMs(() => void hf.encode(text), options);
    const oursMs = timeMedianMs(() => {
      ours.clearCache();
      ours.encodeIds(text);
    }, options);
    const baseline = `llama json ${form} @hf/tokenizers`;
    report.row({ name: baseline, shape, timeMs: hfMs, value: megabytes / (hfMs / 1000), unit: 'MB/s' });
    report.row({ name: `llama json ${form} qkv`, shape, timeMs: oursMs, value: megabytes / (oursMs / 1000), unit: 'MB/s', ratio: hfMs / oursMs, baseline });
  }
  const spmMs = timeMedianMs(() => {
    spm.clearCache();
    spm.encodeIds(text);
  }, options);
  report.row({ name: 'llama gguf spm qkv', shape, timeMs: spmMs, value: megabytes / (spmMs / 1000), unit: 'MB/s' });
}

if (import.meta.url === `file://${process.argv[1]}`) await run(new BenchReport(false));
