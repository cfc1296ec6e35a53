/**
 * Labelled text for sequence classification: JSONL (one object per line) or CSV (RFC 4180: a
 * header row, quoted fields with "" escapes and embedded commas or newlines), read by column
 * name; and the dataset that samples (ids, label) batches for the trainer.
 *
 * Legend: B = batch, T = tokens per example (the longest in the batch, at most the block size).
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { QkvValueError } from '../tensor/errors.ts';
import type { Rng } from '../tensor/random.ts';
import { Tensor } from '../tensor/tensor.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { encodeBertBatch } from '../models/bert-inputs.ts';

export interface LabelledExample {
  text: string;
  label: string;
  /** The value of the group column, when one was asked for (fairness checks). */
  group?: string;
}

export interface ReadLabelledOptions {
  /** Default "text". */
  textColumn?: string;
  /** Default "label"; null reads texts only (prediction), labels then are ''. */
  labelColumn?: string | null;
  groupColumn?: string;
}

/** Parses CSV text into rows of fields (RFC 4180). */
export function parseCsv(text: string, file = '<csv>'): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else {
        if (ch === '\n') line++;
        field += ch;
      }
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      line++;
    } else field += ch;
  }
  if (quoted) throw new QkvValueError(`${file}: unterminated quoted field (opened before line ${line})`);
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((fields) => !(fields.length === 1 && fields[0] === ''));
}

/** Column name → value for every record of a JSONL or CSV file; errors name the file and line. */
function readRecords(path: string): { records: Record<string, unknown>[]; lineOf: (index: number) => number } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new QkvValueError(`cannot read data file ${path}: ${(error as Error).message}`);
  }
  if (extname(path).toLowerCase() === '.csv') {
    const [header, ...rows] = parseCsv(text, path);
    if (header === undefined) throw new QkvValueError(`${path}: empty CSV file (expected a header row)`);
    const records = rows.map((fields, i) => {
      if (fields.length !== header.length) throw new QkvValueError(`${path}: row ${i + 2} has ${fields.length} fields, the header has ${header.length}`);
      return Object.fromEntries(header.map((name, k) => [name, fields[k]]));
    });
    return { records, lineOf: (index) => index + 2 };
  }
  const lines = text.split('\n');
  const records: Record<string, unknown>[] = [];
  const lineNumbers: number[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new QkvValueError(`${path}:${i + 1}: not valid JSON (${(error as Error).message})`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new QkvValueError(`${path}:${i + 1}: expected a JSON object per line`);
    records.push(value as Record<string, unknown>);
    lineNumbers.push(i + 1);
  });
  return { records, lineOf: (index) => lineNumbers[index] };
}

/**
 * Reads labelled examples from a `.jsonl` or `.csv` file.
 *
 * @example readLabelledFile('data/genre-train.jsonl', { labelColumn: 'genre', groupColumn: 'family' })
 */
export function readLabelledFile(path: string, options: ReadLabelledOptions = {}): LabelledExample[] {
  const textColumn = options.textColumn ?? 'text';
  const labelColumn = options.labelColumn === undefined ? 'label' : options.labelColumn;
  const { records, lineOf } = readRecords(path);
  if (records.length === 0) throw new QkvValueError(`${path}: no examples`);
  const field = (record: Record<string, unknown>, column: string, index: number): string => {
    if (!(column in record)) {
      throw new QkvValueError(`${path}:${lineOf(index)}: missing column "${column}" (columns: ${Object.keys(record).join(', ')})`);
    }
    const value = record[column];
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new QkvValueError(`${path}:${lineOf(index)}: column "${column}" must be a string or number, got ${JSON.stringify(value)}`);
    }
    return String(value);
  };
  return records.map((record, index) => {
    const text = field(record, textColumn, index);
    if (text.trim() === '') throw new QkvValueError(`${path}:${lineOf(index)}: empty text in column "${textColumn}"`);
    const example: LabelledExample = { text, label: labelColumn === null ? '' : field(record, labelColumn, index) };
    if (options.groupColumn !== undefined) example.group = field(record, options.groupColumn, index);
    return example;
  });
}

/** The sorted distinct labels of examples. */
export function labelSet(examples: readonly LabelledExample[]): string[] {
  return [...new Set(examples.map((example) => example.label))].sort();
}

/** Label ids of examples under `labels`; an unknown label is an error naming it and the known ones. */
export function labelIds(examples: readonly LabelledExample[], labels: readonly string[], source = 'data'): number[] {
  const index = new Map(labels.map((label, i) => [label, i]));
  return examples.map((example, i) => {
    const id = index.get(example.label);
    if (id === undefined) throw new QkvValueError(`${source}: example ${i + 1} has label ${JSON.stringify(example.label)}, which the model does not know (labels: ${labels.join(', ')})`);
    return id;
  });
}

/** A batch for BertForSequenceClassification: ids, label ids, mask and segments. */
export interface ClassificationBatch {
  /** (B, T) */
  ids: Tensor;
  /** (B) label ids. */
  targets: Tensor;
  forwardOptions: { attentionMask: Tensor; tokenTypeIds: Int32Array };
}

/** Random batches of labelled examples for `trainLanguageModel`; blockSize is the longest an example may be. */
export class ClassificationDataset {
  private readonly trainIds: number[];
  private readonly validationIds: number[];

  constructor(readonly tokenizer: Tokenizer, readonly labels: readonly string[], readonly train: readonly LabelledExample[], readonly validation: readonly LabelledExample[]) {
    if (train.length === 0) throw new QkvValueError('classification: no training examples');
    if (validation.length === 0) throw new QkvValueError('classification: no validation examples');
    this.trainIds = labelIds(train, labels, 'training data');
    this.validationIds = labelIds(validation, labels, 'validation data');
  }

  sampleBatch(split: 'train' | 'validation', batchSize: number, blockSize: number, rng: Rng): ClassificationBatch {
    const examples = split === 'train' ? this.train : this.validation;
    const ids = split === 'train' ? this.trainIds : this.validationIds;
    const chosen = Array.from({ length: batchSize }, () => rng.randint(examples.length));
    const batch = encodeBertBatch(this.tokenizer, chosen.map((i) => examples[i].text), blockSize);
    return {
      ids: batch.ids,
      targets: Tensor.from(chosen.map((i) => ids[i]), [batchSize]),
      forwardOptions: { attentionMask: batch.attentionMask, tokenTypeIds: batch.tokenTypeIds },
    };
  }
}

/**
 * `count` examples spread evenly over the whole list (item ⌊i·n/count⌋ for i < count), in file
 * order; all of them when count ≥ n. Taking every ⌊n/count⌋-th and cutting at count would keep
 * only the front of the file when n/count is not a whole number (525 lines, 200 wanted: the first
 * 400 lines), and files sorted by label would lose whole labels.
 */
export function evenlySpaced<T>(examples: readonly T[], count: number): T[] {
  if (!Number.isInteger(count) || count < 1) throw new QkvValueError(`evenlySpaced: count must be a positive integer, got ${count}`);
  if (count >= examples.length) return [...examples];
  return Array.from({ length: count }, (_, i) => examples[Math.floor((i * examples.length) / count)]);
}

/** Splits off every k-th example (k = round(1 / fraction)) as validation: deterministic and spread over the file. */
export function holdOut<T>(examples: readonly T[], fraction: number): { train: T[]; validation: T[] } {
  if (!(fraction > 0 && fraction < 1)) throw new QkvValueError(`holdOut: fraction must be in (0, 1), got ${fraction}`);
  const every = Math.max(2, Math.min(Math.round(1 / fraction), examples.length)); // at least one held out
  return { train: examples.filter((_, i) => i % every !== every - 1), validation: examples.filter((_, i) => i % every === every - 1) };
}
