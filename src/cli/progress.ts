/**
 * The progress bar every long CLI job shows (cli-progress), silenced for `--json` output and
 * when stderr is not a terminal, so scripts and logs get clean output.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** Advances to `value` and refreshes the named fields shown after the bar. */
  update(value: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

export interface ProgressOptions {
  total: number;
  /** Field names shown after the bar, in order, e.g. `['loss', 'lr']`. */
  fields?: string[];
  /** Force the bar off (e.g. `--json`). */
  silent?: boolean;
  /** Where the bar starts (a resumed run). */
  start?: number;
}

export function createProgress(options: ProgressOptions): Progress {
  if (options.silent || !process.stderr.isTTY) {
    return { update: () => {}, stop: () => {} };
  }
  const fieldText = (options.fields ?? []).map((name) => `${name} {${name}}`).join(' | ');
  const bar = new cliProgress.SingleBar(
    {
      format: `{bar} {percentage}% | {value}/{total} | ETA {eta_formatted}${fieldText ? ' | ' + fieldText : ''}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const initial: Record<string, string> = {};
  for (const name of options.fields ?? []) initial[name] = '-';
  bar.start(options.total, options.start ?? 0, initial);
  return {
    update: (value, fields) => bar.update(value, fields),
    stop: () => bar.stop(),
  };
}
