/**
 * The lab's experiment contract (issue 18): each "why" behind a design choice is an experiment
 * that measures both sides on the same data and seed, and returns a table and a plot.
 *
 * An experiment declares its parameters with defaults and a `quick` value (≤ 30 s, used by the
 * tests and `--quick`); `run` gets the resolved parameters, the seed and a progress callback.
 *
 * @example
 * const params = resolveParams(scalingExperiment, { quick: true, overrides: { 'max-dk': 256 } });
 * const result = await scalingExperiment.run(params, { seed: 0, onProgress: () => {} });
 * console.log(formatTable(result));
 */
import { QkvValueError } from '../tensor/errors.ts';

export type ParamValue = number | string | boolean;
export type Params = Record<string, ParamValue>;

export interface ParamSpec {
  /** Kebab-case, as the CLI flag: `--max-dk 512`. */
  name: string;
  description: string;
  default: ParamValue;
  /** The value under `--quick`; the default when absent. */
  quick?: ParamValue;
}

/** One line of a plot: (x, y) points in x order. */
export interface Series {
  name: string;
  points: Array<[number, number]>;
}

export interface PlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  kind: 'line' | 'bar';
  logX?: boolean;
  logY?: boolean;
  series: Series[];
  /** For bar plots: the category name of each x index 0, 1, 2, … */
  categories?: string[];
}

/** A further picture an experiment draws beside its plot (e.g. what each head attends to). */
export interface LabFigure {
  /** File-name part: written as NAME-FIGURE.svg. */
  name: string;
  title: string;
  svg: string;
}

export interface ExperimentResult {
  columns: string[];
  rows: Array<Array<string | number>>;
  plot: PlotSpec;
  /** What the numbers say, in one or two sentences computed from them. */
  findings: string[];
  /** Further figures, shown in the report and written beside the plot. */
  figures?: LabFigure[];
}

export interface RunContext {
  seed: number;
  /** Called as work proceeds: `done` of `total` units. */
  onProgress: (done: number, total: number, fields?: Record<string, string | number>) => void;
}

export interface Experiment {
  name: string;
  /** One line, for `qkv lab --list`. */
  description: string;
  params: ParamSpec[];
  run(params: Params, context: RunContext): Promise<ExperimentResult> | ExperimentResult;
}

/** Defaults (or quick values), then overrides parsed to the type of each default. */
export function resolveParams(experiment: Experiment, options: { quick?: boolean; overrides?: Record<string, string | ParamValue> } = {}): Params {
  const params: Params = {};
  for (const spec of experiment.params) params[spec.name] = options.quick && spec.quick !== undefined ? spec.quick : spec.default;
  for (const [name, raw] of Object.entries(options.overrides ?? {})) {
    const spec = experiment.params.find((candidate) => candidate.name === name);
    if (!spec) {
      throw new QkvValueError(`lab ${experiment.name}: unknown parameter '${name}' (has ${experiment.params.map((p) => p.name).join(', ') || 'none'})`);
    }
    params[name] = coerce(experiment.name, spec, raw);
  }
  return params;
}

function coerce(experimentName: string, spec: ParamSpec, raw: string | ParamValue): ParamValue {
  if (typeof raw !== 'string') return raw;
  if (typeof spec.default === 'number') {
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new QkvValueError(`lab ${experimentName}: --${spec.name} must be a number, got '${raw}'`);
    return value;
  }
  if (typeof spec.default === 'boolean') {
    if (raw !== 'true' && raw !== 'false') throw new QkvValueError(`lab ${experimentName}: --${spec.name} must be true or false, got '${raw}'`);
    return raw === 'true';
  }
  return raw;
}

export function numberParam(params: Params, name: string): number {
  const value = params[name];
  if (typeof value !== 'number') throw new QkvValueError(`lab: parameter '${name}' must be a number, got ${JSON.stringify(value)}`);
  return value;
}

export function stringParam(params: Params, name: string): string {
  const value = params[name];
  if (typeof value !== 'string') throw new QkvValueError(`lab: parameter '${name}' must be a string, got ${JSON.stringify(value)}`);
  return value;
}

/** Comma-separated list parameter, e.g. `--dks 16,64,256`. */
export function listParam(params: Params, name: string): string[] {
  return stringParam(params, name).split(',').map((part) => part.trim()).filter((part) => part.length > 0);
}

export function numberListParam(params: Params, name: string): number[] {
  return listParam(params, name).map((part) => {
    const value = Number(part);
    if (!Number.isFinite(value)) throw new QkvValueError(`lab: parameter '${name}' must be numbers separated by commas, got '${part}'`);
    return value;
  });
}

/** A number for a table cell: 4 significant digits, exponent form for the very small or large. */
export function formatCell(value: string | number): string {
  if (typeof value === 'string') return value;
  if (Number.isInteger(value) && Math.abs(value) < 1e9) return String(value);
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e6)) return value.toExponential(3);
  return Number(value.toPrecision(4)).toString();
}

/** The result's table as aligned plain text, one row a line. */
export function formatTable(result: Pick<ExperimentResult, 'columns' | 'rows'>): string {
  const cells = [result.columns, ...result.rows.map((row) => row.map(formatCell))];
  const widths = result.columns.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd();
  return [line(cells[0]), widths.map((width) => '-'.repeat(width)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** Markdown table of the result (for docs/lab). */
export function formatMarkdownTable(result: Pick<ExperimentResult, 'columns' | 'rows'>): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  return [
    `| ${result.columns.map(escape).join(' | ')} |`,
    `|${result.columns.map(() => '---').join('|')}|`,
    ...result.rows.map((row) => `| ${row.map((cell) => escape(formatCell(cell))).join(' | ')} |`),
  ].join('\n');
}
