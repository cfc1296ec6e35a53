/**
 * Typed reading of a parsed JSON document: every accessor names the file and the dotted path
 * of the field (`model.merges[3]`) when the value is missing or of the wrong type, so a
 * malformed file gives a `QkvFormatError`, never a bare TypeError.
 */
import { describeValue, formatError } from './errors.ts';

export type JsonObject = Record<string, unknown>;

export class JsonReader {
  constructor(readonly file: string) {}

  fail(field: string, expected: string, found: unknown): never {
    throw formatError(this.file, field, expected, typeof found === 'string' && found.startsWith('!') ? found.slice(1) : describeValue(found));
  }

  object(value: unknown, field: string): JsonObject {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(field, 'an object', value);
    return value as JsonObject;
  }

  /** An object, or null when the value is null or absent. */
  objectOrNull(value: unknown, field: string): JsonObject | null {
    return value === null || value === undefined ? null : this.object(value, field);
  }

  array(value: unknown, field: string): unknown[] {
    if (!Array.isArray(value)) this.fail(field, 'an array', value);
    return value as unknown[];
  }

  string(value: unknown, field: string): string {
    if (typeof value !== 'string') this.fail(field, 'a string', value);
    return value as string;
  }

  stringOrNull(value: unknown, field: string): string | null {
    return value === null || value === undefined ? null : this.string(value, field);
  }

  boolean(value: unknown, field: string, fallback?: boolean): boolean {
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'boolean') this.fail(field, 'true or false', value);
    return value as boolean;
  }

  booleanOrNull(value: unknown, field: string): boolean | null {
    return value === null || value === undefined ? null : this.boolean(value, field);
  }

  /** A non-negative integer (ids, lengths). */
  index(value: unknown, field: string, fallback?: number): number {
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) this.fail(field, 'a non-negative integer', value);
    return value as number;
  }

  oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
    if (typeof value !== 'string' || !allowed.includes(value as T)) this.fail(field, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, value);
    return value as T;
  }
}
