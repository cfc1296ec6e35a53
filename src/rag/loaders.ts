/**
 * Loading documents for retrieval: files or folders (walked recursively, in sorted order) of
 * `.txt`, `.md`, `.html`/`.htm` (text through ./html-text.ts) and `.jsonl` (one document per
 * line, its text in a named field, the other scalar fields kept as metadata).
 *
 * A file that cannot be read, is not UTF-8, is empty, or (for `.jsonl`) has a line that is not
 * a JSON object with the text field, is reported in `problems` by path (and line) and the rest
 * of the run goes on: one bad file in a folder of thousands should not stop an index build.
 *
 * @example
 *   const { documents, problems } = loadDocuments(['docs/', 'faq.jsonl'], { jsonlTextField: 'body' });
 *   for (const problem of problems) console.error(`${problem.path}: ${problem.reason}`);
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { htmlToText } from './html-text.ts';

export type MetadataValue = string | number | boolean;
export type Metadata = Record<string, MetadataValue>;

export interface RagDocument {
  /** Where the text came from: the file path as given (`docs/a.md`), `#line` added for `.jsonl` records. */
  path: string;
  text: string;
  /** `type` (the format) always; `title` for HTML with a `<title>`; other scalar fields for `.jsonl`. */
  metadata: Metadata;
}

export interface LoadProblem {
  path: string;
  reason: string;
}

export interface LoadResult {
  documents: RagDocument[];
  problems: LoadProblem[];
}

export interface LoadOptions {
  /** Field of a `.jsonl` record holding its text (default `text`). */
  jsonlTextField?: string;
  /** Field of a `.jsonl` record naming it (default: the line number, `file.jsonl#3`). */
  jsonlIdField?: string;
}

export const SUPPORTED_EXTENSIONS = ['.txt', '.md', '.markdown', '.html', '.htm', '.jsonl'] as const;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Loads every supported file under `paths`; see the module comment for what is reported. */
export function loadDocuments(paths: readonly string[], options: LoadOptions = {}): LoadResult {
  const result: LoadResult = { documents: [], problems: [] };
  for (const path of paths) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch (error) {
      result.problems.push({ path, reason: `cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}` });
      continue;
    }
    if (isDirectory) {
      for (const file of walk(path, result.problems)) loadFile(file, options, result);
    } else if (isSupported(path)) {
      loadFile(path, options, result);
    } else {
      result.problems.push({ path, reason: `unsupported file type "${extname(path)}" (expected one of ${SUPPORTED_EXTENSIONS.join(' ')})` });
    }
  }
  return result;
}

function isSupported(path: string): boolean {
  return (SUPPORTED_EXTENSIONS as readonly string[]).includes(extname(path).toLowerCase());
}

function* walk(dir: string, problems: LoadProblem[]): Generator<string> {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    problems.push({ path: dir, reason: `cannot list: ${(error as NodeJS.ErrnoException).code ?? String(error)}` });
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue; // hidden files and our own temporaries
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path, problems);
    else if (entry.isFile() && isSupported(path)) yield path;
  }
}

function loadFile(path: string, options: LoadOptions, result: LoadResult): void {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    result.problems.push({ path, reason: `cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}` });
    return;
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    result.problems.push({ path, reason: 'not valid UTF-8 text' });
    return;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte-order mark is not content
  const extension = extname(path).toLowerCase();
  if (extension === '.jsonl') {
    loadJsonl(path, text, options, result);
    return;
  }
  let metadata: Metadata = { type: extension.slice(1) };
  if (extension === '.html' || extension === '.htm') {
    const page = htmlToText(text);
    text = page.text;
    metadata = { type: 'html', ...(page.title !== undefined ? { title: page.title } : {}) };
  }
  if (text.trim().length === 0) {
    result.problems.push({ path, reason: 'empty document (no text)' });
    return;
  }
  result.documents.push({ path, text, metadata });
}

function loadJsonl(path: string, text: string, options: LoadOptions, result: LoadResult): void {
  const textField = options.jsonlTextField ?? 'text';
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].trim();
    if (line.length === 0) continue;
    const lineNumber = index + 1;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      result.problems.push({ path: `${path}#${lineNumber}`, reason: 'not valid JSON' });
      continue;
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      result.problems.push({ path: `${path}#${lineNumber}`, reason: 'expected a JSON object' });
      continue;
    }
    const fields = record as Record<string, unknown>;
    const body = fields[textField];
    if (typeof body !== 'string' || body.trim().length === 0) {
      result.problems.push({ path: `${path}#${lineNumber}`, reason: `field "${textField}" is missing, not a string, or empty` });
      continue;
    }
    const metadata: Metadata = { type: 'jsonl' };
    for (const [key, value] of Object.entries(fields)) {
      if (key !== textField && (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')) metadata[key] = value;
    }
    const name = options.jsonlIdField !== undefined ? fields[options.jsonlIdField] : undefined;
    const suffix = typeof name === 'string' || typeof name === 'number' ? String(name) : String(lineNumber);
    result.documents.push({ path: `${path}#${suffix}`, text: body, metadata });
  }
}
