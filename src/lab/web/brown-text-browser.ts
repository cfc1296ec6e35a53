/**
 * src/lab/experiments/brown-text.ts in the browser build: the page's worker fetches brown.txt
 * (served beside the page) and hands it over before an experiment runs; `brownSplit` then
 * splits it exactly as the Node version does.
 */
import { QkvValueError } from '../../tensor/errors.ts';

let lines: string[] | null = null;

/** The corpus text, as data/brown.txt holds it. */
export function provideBrownText(text: string): void {
  lines = text.split('\n').filter((line) => line.trim().length > 0);
}

export function brownSplit(options: { trainLines: number; heldOutLines: number }): { train: string[]; heldOut: string[] } {
  if (lines === null) throw new QkvValueError('brown.txt has not been loaded into the page (the lab worker fetches it before a run)');
  if (options.trainLines + options.heldOutLines > lines.length) {
    throw new QkvValueError(`brown.txt: asked for ${options.trainLines} + ${options.heldOutLines} lines, the corpus has ${lines.length}`);
  }
  return { train: lines.slice(0, options.trainLines), heldOut: lines.slice(lines.length - options.heldOutLines) };
}
