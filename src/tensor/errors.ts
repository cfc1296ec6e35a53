/**
 * Typed errors. Every error qkv throws on bad input is one of these, and its message names
 * the op (or file, or field) and the offending shapes or values, so a user never has to
 * read a stack of `undefined`.
 */

/** Base class of every error qkv throws on purpose. */
export class QkvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit an op: `matmul: cannot multiply (2,3) by (4,5): inner dimensions 3 and 4 differ`. */
export class QkvShapeError extends QkvError {}

/** A value out of its domain: an axis out of range, a negative size, an unknown option. */
export class QkvValueError extends QkvError {}

/** A state dict that does not fit a module: names the unknown, missing or wrongly shaped keys. */
export class QkvStateDictError extends QkvError {}

/** `(2,3)` — the way shapes are printed in every message. */
export function formatShape(shape: readonly number[]): string {
  return `(${shape.join(',')})`;
}
