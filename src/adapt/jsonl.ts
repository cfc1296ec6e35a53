/**
 * The JSONL files fine-tuning and alignment read, in TRL's formats, one JSON object per line:
 *
 *   {"text": "..."}                                       plain language modelling
 *   {"prompt": "...", "completion": "..."}                instruction tuning (loss on the completion)
 *   {"messages": [{"role": "user", "content": "..."}, …]} chat (loss on the assistant turns)
 *   {"prompt": "...", "chosen": "...", "rejected": "..."} preference pairs (reward model, DPO)
 *
 * Every line is checked before anything is used, and every bad line is reported at once by its
 * number, so a broken file stops a run before it trains or writes anything.
 *
 * @example
 * const pairs = readJsonl('prefs.jsonl', 'preference'); // [{ prompt, chosen, rejected }, …]
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { writeFileAtomic } from '../io/atomic.ts';
import { QkvFileNotFoundError, QkvFormatError } from '../io/errors.ts';

const text = z.object({ text: z.string() });
const promptCompletion = z.object({ prompt: z.string(), completion: z.string() });
const chat = z.object({ messages: z.array(z.object({ role: z.string(), content: z.string() })).min(1) });
const preference = z.object({ prompt: z.string(), chosen: z.string(), rejected: z.string() });

export const JSONL_SCHEMAS = { text, promptCompletion, chat, preference } as const;
export type JsonlKind = keyof typeof JSONL_SCHEMAS;
export type JsonlRecord<K extends JsonlKind> = z.infer<(typeof JSONL_SCHEMAS)[K]>;
export type TextRecord = JsonlRecord<'text'>;
export type PromptCompletionRecord = JsonlRecord<'promptCompletion'>;
export type ChatRecord = JsonlRecord<'chat'>;
export type PreferenceRecord = JsonlRecord<'preference'>;

/** Which format a record is in, by its fields (the first line decides for the file). */
export function detectKind(record: unknown): JsonlKind | null {
  if (typeof record !== 'object' || record === null) return null;
  const has = (field: string) => Object.hasOwn(record, field);
  if (has('chosen') || has('rejected')) return 'preference';
  if (has('messages')) return 'chat';
  if (has('completion')) return 'promptCompletion';
  if (has('text')) return 'text';
  return null;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length === 0 ? '' : `field "${issue.path.join('.')}": `;
  return `${path}${issue.message}`;
}

/** Parses JSONL text; `kind` 'auto' takes the first record's format. Throws listing every bad line. */
export function parseJsonl<K extends JsonlKind>(source: string, file: string, kind: K | 'auto'): { kind: K; records: JsonlRecord<K>[] } {
  const problems: string[] = [];
  const parsed: { line: number; value: unknown }[] = [];
  source.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      parsed.push({ line: index + 1, value: JSON.parse(line) });
    } catch (error) {
      problems.push(`line ${index + 1}: not valid JSON (${(error as Error).message})`);
    }
  });
  let resolved = kind === 'auto' ? null : kind;
  if (resolved === null) {
    const first = parsed[0];
    resolved = (first === undefined ? null : detectKind(first.value)) as K | null;
    if (resolved === null && first !== undefined) {
      problems.unshift(`line ${first.line}: cannot tell the format (expected "text", "prompt"+"completion", "messages", or "prompt"+"chosen"+"rejected")`);
    }
  }
  const records: JsonlRecord<K>[] = [];
  if (resolved !== null) {
    const schema = JSONL_SCHEMAS[resolved];
    for (const { line, value } of parsed) {
      const result = schema.safeParse(value);
      if (result.success) records.push(result.data as JsonlRecord<K>);
      else problems.push(`line ${line}: ${result.error.issues.map(describeIssue).join('; ')}`);
    }
  }
  if (problems.length > 0) throw new QkvFormatError(file, `${problems.length} bad line${problems.length === 1 ? '' : 's'}: ${problems.join(' | ')}`);
  if (records.length === 0) throw new QkvFormatError(file, 'no records (the file is empty)');
  return { kind: resolved as K, records };
}

/** Reads and checks a JSONL file (see `parseJsonl`). */
export function readJsonl<K extends JsonlKind>(path: string, kind: K | 'auto' = 'auto'): { kind: K; records: JsonlRecord<K>[] } {
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch {
    throw new QkvFileNotFoundError(path, 'cannot read the data file');
  }
  return parseJsonl(source, path, kind);
}

/** Writes records as JSONL, atomically. */
export function writeJsonl(path: string, records: readonly unknown[]): void {
  writeFileAtomic(path, records.map((record) => JSON.stringify(record) + '\n').join(''));
}
