/**
 * Errors of the tokenizers: a malformed `tokenizer.json` names the file and the field
 * (`model.merges[12]`), what was expected and what was found.
 */
import { QkvFormatError } from '../io/errors.ts';

export { QkvFormatError };

/**
 * The error for a tokenizer file that does not have the shape it must have: qkv's one
 * `QkvFormatError`, worded `file: field "model.merges[3]": expected a string, found number 5`.
 */
export function formatError(file: string, field: string, expected: string, found: string): QkvFormatError {
  return new QkvFormatError(file, `expected ${expected}, found ${found}`, `field "${field}"`);
}

/** `"abc"`, `number 3`, `array(2)`, `null` — how a found value is described in a message. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing (missing)';
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'object') return 'object';
  return `${typeof value} ${String(value)}`;
}
