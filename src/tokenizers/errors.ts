/**
 * Errors of the tokenizers: a malformed `tokenizer.json` names the file and the field
 * (`model.merges[12]`), what was expected and what was found.
 */
import { QkvError } from '../tensor/errors.ts';

/** A tokenizer file that does not have the shape `tokenizer.json` must have. */
export class QkvFormatError extends QkvError {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`${file}: field "${field}": expected ${expected}, found ${found}`);
  }
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
