/**
 * `qkv tokenizer train|encode|decode`:
 *
 *   qkv tokenizer train --model bpe --vocab-size 4000 --out tok/ data/brown.txt
 *   qkv tokenizer encode --tokenizer gpt2 "Hello world"          → 15496 995
 *   echo "Hello world" | qkv tokenizer encode --tokenizer tok/ --json --tokens
 *   qkv tokenizer decode --tokenizer gpt2 15496 995              → Hello world
 *
 * Text comes from the arguments, from `--file` (its bytes exactly, as UTF-8), or, when there are
 * none, from standard input minus one trailing newline (the one `echo` adds).
 */
import { readFileSync } from 'node:fs';
import { QkvFormatError } from '../io/errors.ts';
import type { Command } from 'commander';
import { QkvValueError } from '../tensor/errors.ts';
import { trainBpe } from '../tokenizers/bpe-trainer.ts';
import { trainCharTokenizer } from '../tokenizers/char.ts';
import { loadGpt2Tokenizer } from '../tokenizers/gpt2.ts';
import { bytesPerToken } from '../tokenizers/stats.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { loadTokenizer, saveTokenizer } from '../tokenizers/tokenizer-json.ts';
import { trainWordPiece } from '../tokenizers/wordpiece-trainer.ts';
import { createProgress, type Progress } from './progress.ts';

/** Where the commands read and write; tests pass their own. */
export interface TokenizerCliIo {
  write(text: string): void;
  readStdin(): Promise<string>;
}

const processIo: TokenizerCliIo = {
  write: (text) => void process.stdout.write(text),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

export function registerTokenizerCommands(program: Command, io: TokenizerCliIo = processIo): void {
  const tokenizer = program.command('tokenizer').description('train, apply and invert tokenizers (BPE, WordPiece, characters; GPT-2)');

  tokenizer
    .command('train')
    .description('train a tokenizer on text files and write DIR/tokenizer.json')
    .argument('<files...>', 'text files to train on')
    .requiredOption('--out <dir>', 'folder for tokenizer.json')
    .option('--model <model>', 'bpe | wordpiece | char', 'bpe')
    .option('--vocab-size <n>', 'vocabulary size, special tokens included', parseCount, 8000)
    .option('--min-frequency <n>', 'never merge a pair seen fewer times', parseCount, 2)
    .option('--special-tokens <list>', 'comma-separated special tokens (default: the model’s own)')
    .option('--no-lowercase', 'WordPiece: keep case and accents (cased BERT)')
    .option('--json', 'print a JSON summary')
    .action((files: string[], options: TrainOptions) => {
      const texts = files.map((file) => readFileSync(file, 'utf8'));
      const specialTokens = options.specialTokens?.split(',').filter((token) => token.length > 0);
      const started = performance.now();
      // The bar appears with the first merge, when the number of merges to do is known.
      let progress: Progress | null = null;
      const onProgress = (done: number, total: number) => {
        progress ??= createProgress({ total, silent: options.json === true });
        progress.update(done);
      };
      let trained: Tokenizer;
      if (options.model === 'bpe') trained = trainBpe(texts, { vocabSize: options.vocabSize, minFrequency: options.minFrequency, specialTokens, onProgress });
      else if (options.model === 'wordpiece')
        trained = trainWordPiece(texts, { vocabSize: options.vocabSize, minFrequency: options.minFrequency, specialTokens, lowercase: options.lowercase, onProgress });
      else if (options.model === 'char') trained = trainCharTokenizer(texts, { specialTokens });
      else throw new QkvValueError(`tokenizer train: --model must be bpe, wordpiece or char, got ${JSON.stringify(options.model)}`);
      (progress as Progress | null)?.stop(); // assigned inside onProgress
      const file = saveTokenizer(trained, options.out);
      const summary = {
        model: options.model,
        vocab_size: trained.vocabSize,
        bytes_per_token: Number(bytesPerToken(trained, texts.join('\n')).toFixed(4)),
        seconds: Number(((performance.now() - started) / 1000).toFixed(3)),
        file,
      };
      if (options.json) io.write(JSON.stringify(summary) + '\n');
      else io.write(`trained ${summary.model}: ${summary.vocab_size} tokens, ${summary.bytes_per_token} bytes/token, ${summary.seconds} s → ${file}\n`);
    });

  tokenizer
    .command('encode')
    .description('print the ids of a text (from the arguments, --file, or standard input)')
    .argument('[text...]', 'text to encode; standard input when absent (one trailing newline is dropped: use --file to keep it)')
    .requiredOption('--tokenizer <dir|gpt2>', 'a folder (or file) with tokenizer.json, or gpt2')
    .option('--file <path>', "encode this file's bytes exactly (UTF-8; nothing stripped)")
    .option('--tokens', 'also print the tokens')
    .option('--no-special-tokens', 'do not add [CLS]/[SEP] or other post-processor tokens')
    .option('--json', 'print JSON: {"ids": [...], "tokens": [...]}')
    .action(async (words: string[], options: EncodeOptions) => {
      if (options.file !== undefined && words.length > 0) throw new QkvValueError('tokenizer encode: give the text as arguments or as --file, not both');
      const tok = openTokenizer(options.tokenizer);
      const text = options.file !== undefined ? readUtf8Exactly(options.file) : words.length > 0 ? words.join(' ') : stripFinalNewline(await io.readStdin());
      const encoding = tok.encode(text, null, { addSpecialTokens: options.specialTokens });
      if (options.json) {
        io.write(JSON.stringify(options.tokens ? { ids: encoding.ids, tokens: encoding.tokens } : { ids: encoding.ids }) + '\n');
        return;
      }
      io.write(encoding.ids.join(' ') + '\n');
      if (options.tokens) io.write(encoding.tokens.map((token) => JSON.stringify(token)).join(' ') + '\n');
    });

  tokenizer
    .command('decode')
    .description('print the text of ids (from the arguments, or standard input: numbers or a JSON array)')
    .argument('[ids...]', 'token ids; standard input when absent')
    .requiredOption('--tokenizer <dir|gpt2>', 'a folder (or file) with tokenizer.json, or gpt2')
    .option('--skip-special-tokens', 'leave out special tokens')
    .option('--json', 'print JSON: {"text": ...}')
    .action(async (args: string[], options: DecodeOptions) => {
      const tok = openTokenizer(options.tokenizer);
      const ids = parseIds(args.length > 0 ? args.join(' ') : await io.readStdin());
      const text = tok.decode(ids, { skipSpecialTokens: options.skipSpecialTokens === true });
      io.write(options.json ? JSON.stringify({ text }) + '\n' : text + '\n');
    });
}

interface TrainOptions {
  out: string;
  model: string;
  vocabSize: number;
  minFrequency: number;
  specialTokens?: string;
  lowercase: boolean;
  json?: boolean;
}

interface EncodeOptions {
  tokenizer: string;
  file?: string;
  tokens?: boolean;
  specialTokens: boolean;
  json?: boolean;
}

interface DecodeOptions {
  tokenizer: string;
  skipSpecialTokens?: boolean;
  json?: boolean;
}

function openTokenizer(name: string): Tokenizer {
  return name === 'gpt2' ? loadGpt2Tokenizer() : loadTokenizer(name);
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new QkvValueError(`expected a non-negative integer, got ${JSON.stringify(value)}`);
  return n;
}

/** `15496 995`, `15496,995`, `[15496, 995]` or `{"ids": [15496, 995]}` → [15496, 995]. */
export function parseIds(text: string): number[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const parsed = JSON.parse(trimmed) as { ids?: unknown };
    return parseIds(JSON.stringify(parsed.ids ?? []));
  }
  const parts = trimmed.replace(/^\[|\]$/g, '').split(/[\s,]+/).filter((part) => part.length > 0);
  return parts.map((part) => {
    const id = Number(part);
    if (!Number.isInteger(id) || id < 0) throw new QkvValueError(`tokenizer decode: ${JSON.stringify(part)} is not a token id`);
    return id;
  });
}

/**
 * A file's text with nothing changed: a byte-order mark and trailing newlines are kept, and bytes
 * that are not UTF-8 are an error naming the file, not silently replaced by U+FFFD.
 */
function readUtf8Exactly(path: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(readFileSync(path));
  } catch (error) {
    if (error instanceof TypeError) throw new QkvFormatError(path, 'is not valid UTF-8; the tokenizers encode text', 'bytes');
    throw error;
  }
}

/** A shell's `echo` adds a newline the user did not mean to encode. */
function stripFinalNewline(text: string): string {
  return text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
}
