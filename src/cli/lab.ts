/**
 * `qkv lab` (issue 18): runnable experiments behind every "why" of the transformer.
 *
 *   qkv lab --list                       one line per experiment
 *   qkv lab scaling --quick --out lab/   prints the table, writes lab/scaling.svg and lab/scaling.html
 *   qkv lab scaling --dks 16,256 --seed 3 --json
 *   qkv lab serve [--port 8787] [--host 127.0.0.1]   the lab as a web page (compute in the browser)
 *   qkv lab serve --out dist/lab                     write that page as a static site instead
 *
 * Each experiment's own parameters are flags too (`--dks`, `--steps`, …, listed by
 * `qkv lab NAME --help-params`); `--param name=value` is the same thing spelled explicitly.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import { writeFileAtomic } from '../io/atomic.ts';
import { formatCell, formatTable, resolveParams, type Experiment } from '../lab/experiment.ts';
import { plotSvg } from '../lab/plot-svg.ts';
import { EXPERIMENTS, findExperiment } from '../lab/registry.ts';
import { reportHtml } from '../lab/report-html.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { collect, integerOption } from './options.ts';
import { createProgress, type Progress } from './progress.ts';

interface LabFlags {
  list?: boolean;
  quick?: boolean;
  out: string;
  json?: boolean;
  seed: number;
  param: string[];
  helpParams?: boolean;
}

/** `--name value` / `--name=value` pairs left over after commander's own flags. */
export function parseParamFlags(experiment: Experiment, rest: readonly string[], explicit: readonly string[]): Record<string, string> {
  const overrides: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i];
    if (!token.startsWith('--')) throw new QkvValueError(`lab ${experiment.name}: unexpected argument '${token}'`);
    const equals = token.indexOf('=');
    if (equals > 0) {
      overrides[token.slice(2, equals)] = token.slice(equals + 1);
    } else {
      const value = rest[i + 1];
      if (value === undefined) throw new QkvValueError(`lab ${experiment.name}: ${token} needs a value`);
      overrides[token.slice(2)] = value;
      i++;
    }
  }
  for (const pair of explicit) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new QkvValueError(`lab: --param must be name=value, got '${pair}'`);
    overrides[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return overrides;
}

function describeParams(experiment: Experiment): string {
  const lines = experiment.params.map((spec) => `  --${spec.name} <v>  ${spec.description} (default ${spec.default}${spec.quick !== undefined ? `, quick ${spec.quick}` : ''})`);
  return [`${experiment.name}: ${experiment.description}`, ...lines].join('\n');
}

interface ServeFlags {
  port: number;
  host: string;
  out?: string;
  site?: string;
}

/** `qkv lab serve`: the page (src/lab/web) served with cross-origin isolation, or written as a static site. */
async function labServe(flags: ServeFlags): Promise<void> {
  const { buildLabSite, readLabSite, staticHeadersFile } = await import('../lab/web/site.ts');
  const site = flags.site !== undefined ? readLabSite(flags.site) : await buildLabSite();
  if (flags.out !== undefined) {
    mkdirSync(flags.out, { recursive: true });
    for (const [name, body] of site) writeFileAtomic(join(flags.out, name), body);
    writeFileAtomic(join(flags.out, '_headers'), staticHeadersFile());
    console.log(`wrote the lab site to ${flags.out} (${site.size} files); serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp (see ${join(flags.out, '_headers')}), or: qkv lab serve --site ${flags.out}`);
    return;
  }
  const { serveLab } = await import('../lab/web/server.ts');
  const server = await serveLab(site, { host: flags.host, port: flags.port });
  console.log(`qkv lab: ${server.url} (the experiments run in your browser, on the wasm kernels; Ctrl-C stops)`);
  await new Promise<void>((resolve) => process.once('SIGINT', () => void server.close().then(resolve)));
}

export function registerLabCommands(program: Command): void {
  const lab = program
    .command('lab')
    .description('run an experiment behind a design choice (scaling, …): prints a table, writes NAME.svg and NAME.html')
    .argument('[name]', 'experiment name (see --list)')
    .argument('[params...]', "the experiment's parameters as --name value (see --help-params)")
    .option('--list', 'list the experiments, one line each')
    .option('--quick', 'the quick settings (≤ 30 s), as the tests use')
    .option('--out <dir>', 'folder for NAME.svg and NAME.html', 'lab')
    .option('--json', 'print one JSON object: parameters, columns, rows, series, findings, files')
    .option('--seed <n>', 'random seed', integerOption('--seed', 0), 0)
    .option('--param <name=value>', "set one of the experiment's parameters (repeatable)", collect, [])
    .option('--help-params', "list the experiment's parameters with their defaults")
    .allowUnknownOption()
    .action(async (name: string | undefined, rest: string[], flags: LabFlags) => {
      if (flags.list || name === undefined) {
        const width = Math.max(...EXPERIMENTS.map((e) => e.name.length));
        if (flags.json) console.log(JSON.stringify(EXPERIMENTS.map((e) => ({ name: e.name, description: e.description }))));
        else for (const experiment of EXPERIMENTS) console.log(`${experiment.name.padEnd(width)}  ${experiment.description}`);
        return;
      }
      const experiment = findExperiment(name);
      if (flags.helpParams) {
        console.log(describeParams(experiment));
        return;
      }
      const params = resolveParams(experiment, { quick: flags.quick, overrides: parseParamFlags(experiment, rest, flags.param) });
      let progress: Progress | null = null;
      const started = Date.now();
      const result = await experiment.run(params, {
        seed: flags.seed,
        onProgress: (done, total, fields) => {
          progress ??= createProgress({ total, silent: flags.json, fields: fields ? Object.keys(fields) : [] });
          progress.update(done, fields);
        },
      });
      (progress as Progress | null)?.stop();
      const seconds = (Date.now() - started) / 1000;
      mkdirSync(flags.out, { recursive: true });
      const svgPath = join(flags.out, `${experiment.name}.svg`);
      const htmlPath = join(flags.out, `${experiment.name}.html`);
      writeFileAtomic(svgPath, plotSvg(result.plot));
      const figurePaths = (result.figures ?? []).map((figure) => {
        const path = join(flags.out, `${experiment.name}-${figure.name}.svg`);
        writeFileAtomic(path, figure.svg);
        return path;
      });
      writeFileAtomic(htmlPath, reportHtml(experiment, params, result, flags.seed));
      if (flags.json) {
        console.log(JSON.stringify({
          experiment: experiment.name, params, seed: flags.seed, seconds,
          columns: result.columns, rows: result.rows.map((row) => row.map((cell) => (typeof cell === 'number' && !Number.isFinite(cell) ? formatCell(cell) : cell))),
          series: result.plot.series, findings: result.findings, files: { svg: svgPath, html: htmlPath, figures: figurePaths },
        }));
        return;
      }
      console.log(`qkv lab ${experiment.name} (${seconds.toFixed(1)} s, seed ${flags.seed})`);
      console.log(formatTable(result));
      for (const finding of result.findings) console.log(`- ${finding}`);
      console.log(`wrote ${svgPath} and ${htmlPath}`);
    });
  lab
    .command('serve')
    .description('the lab as a web page: pick an experiment, set its parameters, watch it train, on the wasm kernels in your browser')
    .option('--port <n>', 'port (0: any free one)', integerOption('--port', 0), 8787)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--out <dir>', 'write the site as static files to this folder instead of serving')
    .option('--site <dir>', 'serve (or copy) a site written earlier with --out, without bundling')
    .action((flags: ServeFlags, command: Command) => {
      // `lab` itself has --out (the experiments' folder) and parses it before dispatching here.
      const parent = command.parent!;
      const out = flags.out ?? (parent.getOptionValueSource('out') === 'cli' ? String(parent.opts().out) : undefined);
      return labServe({ ...flags, out });
    });
}
