/**
 * JSON config files (`config.json`, `generation_config.json`, `trainer_state.json`, …) read with
 * errors that name the file and the field, and say what was expected and what was found:
 *
 *   out/config.json: field "n_head": expected an integer ≥ 1, found 0
 *
 * Fields that hold `null` count as absent, as in Hugging Face configs (`"n_inner": null`).
 * Writing goes through `writeJsonAtomic` in `./atomic.ts`.
 *
 * @example
 *   const raw = readJsonObject('out/config.json');
 *   const nEmbd = requireInteger(raw, 'n_embd', 'out/config.json', { min: 1 });
 *   const dropout = optionalNumber(raw, 'resid_pdrop', 'out/config.json', { min: 0, lessThan: 1 }) ?? 0.1;
 */
import { readFileSync } from 'node:fs';
import { QkvFileNotFoundError, QkvFormatError } from './errors.ts';

export type JsonObject = Record<string, unknown>;

/** Bounds for a number field; all inclusive except `greaterThan` and `lessThan`. */
export interface NumberBounds {
  min?: number;
  max?: number;
  greaterThan?: number;
  lessThan?: number;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value as it would appear in the file, shortened, with its JSON type: `"128" (a string)`. */
function describe(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  const text = json.length > 60 ? `${json.slice(0, 57)}...` : json;
  const type = Array.isArray(value) ? 'an array' : value === null ? 'null' : isJsonObject(value) ? 'an object' : `a ${typeof value}`;
  return `${text} (${type})`;
}

/** Line and column of a character offset, for JSON syntax errors. */
function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  return `line ${line}, column ${position - before.lastIndexOf('\n')}`;
}

/**
 * Parses a JSON file. A missing file throws `QkvFileNotFoundError`; bad JSON throws
 * `QkvFormatError` with the parser's message and the line and column.
 */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new QkvFileNotFoundError(path, 'file not found');
    throw error;
  }
  return parseJsonText(text, path);
}

/** `JSON.parse`, with a `QkvFormatError` naming `file` (and the line and column) on bad JSON. */
export function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message);
    const where = position ? ` (${lineAndColumn(text, Number(position[1]))})` : '';
    throw new QkvFormatError(file, `not valid JSON: ${message}${where}`);
  }
}

/** {@link readJsonFile}, requiring a JSON object at the top level (as every config file is). */
export function readJsonObject(path: string): JsonObject {
  return expectJsonObject(readJsonFile(path), path);
}

/** `value` if it is a JSON object; a `QkvFormatError` naming `file` otherwise. */
export function expectJsonObject(value: unknown, file: string): JsonObject {
  if (!isJsonObject(value)) throw new QkvFormatError(file, `expected a JSON object at the top level, found ${describe(value)}`);
  return value;
}

// ---- typed fields ----------------------------------------------------------------------------

interface FieldKind<T> {
  /** `a number`, `an integer ≥ 1`, `one of "gelu", "relu"` */
  expected: string;
  accepts(value: unknown): value is T;
}

function readField<T>(obj: JsonObject, field: string, file: string, kind: FieldKind<T>, required: boolean): T | undefined {
  const value = Object.hasOwn(obj, field) ? obj[field] : undefined;
  if (value === undefined || value === null) {
    if (!required) return undefined;
    throw new QkvFormatError(file, `${value === null ? 'is null' : 'missing'} (expected ${kind.expected})`, `field "${field}"`);
  }
  if (!kind.accepts(value)) throw new QkvFormatError(file, `expected ${kind.expected}, found ${describe(value)}`, `field "${field}"`);
  return value;
}

function boundsText({ min, max, greaterThan, lessThan }: NumberBounds): string {
  const parts: string[] = [];
  if (min !== undefined) parts.push(`≥ ${min}`);
  if (greaterThan !== undefined) parts.push(`> ${greaterThan}`);
  if (max !== undefined) parts.push(`≤ ${max}`);
  if (lessThan !== undefined) parts.push(`< ${lessThan}`);
  return parts.length === 0 ? '' : ` ${parts.join(' and ')}`;
}

function numberKind(integer: boolean, bounds: NumberBounds = {}): FieldKind<number> {
  const { min, max, greaterThan, lessThan } = bounds;
  return {
    expected: `${integer ? 'an integer' : 'a number'}${boundsText(bounds)}`,
    accepts: (value): value is number =>
      typeof value === 'number' &&
      Number.isFinite(value) &&
      (!integer || Number.isSafeInteger(value)) &&
      (min === undefined || value >= min) &&
      (max === undefined || value <= max) &&
      (greaterThan === undefined || value > greaterThan) &&
      (lessThan === undefined || value < lessThan),
  };
}

const STRING: FieldKind<string> = { expected: 'a string', accepts: (value): value is string => typeof value === 'string' };
const BOOLEAN: FieldKind<boolean> = { expected: 'a boolean', accepts: (value): value is boolean => typeof value === 'boolean' };
const OBJECT: FieldKind<JsonObject> = { expected: 'an object', accepts: isJsonObject };
const STRING_ARRAY: FieldKind<string[]> = {
  expected: 'an array of strings',
  accepts: (value): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string'),
};
const NUMBER_ARRAY: FieldKind<number[]> = {
  expected: 'an array of numbers',
  accepts: (value): value is number[] => Array.isArray(value) && value.every((item) => typeof item === 'number' && Number.isFinite(item)),
};
function oneOfKind<T extends string>(choices: readonly T[]): FieldKind<T> {
  return {
    expected: `one of ${choices.map((choice) => JSON.stringify(choice)).join(', ')}`,
    accepts: (value): value is T => typeof value === 'string' && (choices as readonly string[]).includes(value),
  };
}

/** A finite number, within optional bounds. @example requireNumber(raw, 'layer_norm_epsilon', file, { greaterThan: 0 }) */
export function requireNumber(obj: JsonObject, field: string, file: string, bounds?: NumberBounds): number {
  return readField(obj, field, file, numberKind(false, bounds), true)!;
}
export function optionalNumber(obj: JsonObject, field: string, file: string, bounds?: NumberBounds): number | undefined {
  return readField(obj, field, file, numberKind(false, bounds), false);
}

/** A safe integer, within optional bounds. @example requireInteger(raw, 'n_embd', file, { min: 1 }) */
export function requireInteger(obj: JsonObject, field: string, file: string, bounds?: NumberBounds): number {
  return readField(obj, field, file, numberKind(true, bounds), true)!;
}
export function optionalInteger(obj: JsonObject, field: string, file: string, bounds?: NumberBounds): number | undefined {
  return readField(obj, field, file, numberKind(true, bounds), false);
}

export function requireString(obj: JsonObject, field: string, file: string): string {
  return readField(obj, field, file, STRING, true)!;
}
export function optionalString(obj: JsonObject, field: string, file: string): string | undefined {
  return readField(obj, field, file, STRING, false);
}

export function requireBoolean(obj: JsonObject, field: string, file: string): boolean {
  return readField(obj, field, file, BOOLEAN, true)!;
}
export function optionalBoolean(obj: JsonObject, field: string, file: string): boolean | undefined {
  return readField(obj, field, file, BOOLEAN, false);
}

/** A nested object (not an array, not null). */
export function requireObject(obj: JsonObject, field: string, file: string): JsonObject {
  return readField(obj, field, file, OBJECT, true)!;
}
export function optionalObject(obj: JsonObject, field: string, file: string): JsonObject | undefined {
  return readField(obj, field, file, OBJECT, false);
}

export function requireStringArray(obj: JsonObject, field: string, file: string): string[] {
  return readField(obj, field, file, STRING_ARRAY, true)!;
}
export function optionalStringArray(obj: JsonObject, field: string, file: string): string[] | undefined {
  return readField(obj, field, file, STRING_ARRAY, false);
}

export function requireNumberArray(obj: JsonObject, field: string, file: string): number[] {
  return readField(obj, field, file, NUMBER_ARRAY, true)!;
}
export function optionalNumberArray(obj: JsonObject, field: string, file: string): number[] | undefined {
  return readField(obj, field, file, NUMBER_ARRAY, false);
}

/** A string from a fixed set. @example requireOneOf(raw, 'activation_function', file, ['gelu_new', 'relu'] as const) */
export function requireOneOf<T extends string>(obj: JsonObject, field: string, file: string, choices: readonly T[]): T {
  return readField(obj, field, file, oneOfKind(choices), true)!;
}
export function optionalOneOf<T extends string>(obj: JsonObject, field: string, file: string, choices: readonly T[]): T | undefined {
  return readField(obj, field, file, oneOfKind(choices), false);
}
