/**
 * The Brown Corpus text the lab measures on (data/brown.txt, built by scripts/make-corpus.ts):
 * a training part and a held-out part taken from disjoint lines, so held-out figures are honest.
 *
 * @example
 * const { train, heldOut } = brownSplit({ trainLines: 2000, heldOutLines: 300 });
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { QkvValueError } from '../../tensor/errors.ts';

const BROWN_PATH = fileURLToPath(new URL('../../../data/brown.txt', import.meta.url));
let cachedLines: string[] | null = null;

function brownLines(): string[] {
  cachedLines ??= readFileSync(BROWN_PATH, 'utf8').split('\n').filter((line) => line.trim().length > 0);
  return cachedLines;
}

/** The first `trainLines` lines, and `heldOutLines` lines from the end of the corpus (other documents). */
export function brownSplit(options: { trainLines: number; heldOutLines: number }): { train: string[]; heldOut: string[] } {
  const lines = brownLines();
  if (options.trainLines + options.heldOutLines > lines.length) {
    throw new QkvValueError(`${BROWN_PATH}: asked for ${options.trainLines} + ${options.heldOutLines} lines, the corpus has ${lines.length}`);
  }
  return { train: lines.slice(0, options.trainLines), heldOut: lines.slice(lines.length - options.heldOutLines) };
}
