/**
 * Runs every lab experiment at its defaults (or `--quick`) and writes, for each, the plot
 * `docs/lab/NAME.svg` and a markdown page `docs/lab/NAME.md` (description, findings, table,
 * the command that reproduces it), plus `docs/lab/README.md` indexing them. Everything is
 * written atomically; rerun any time:
 *
 *   node --import tsx scripts/lab-docs.ts            # all experiments, defaults
 *   node --import tsx scripts/lab-docs.ts --quick    # quick settings
 *   node --import tsx scripts/lab-docs.ts scaling mask
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/io/atomic.ts';
import { formatMarkdownTable, resolveParams } from '../src/lab/experiment.ts';
import { plotSvg } from '../src/lab/plot-svg.ts';
import { EXPERIMENTS, findExperiment } from '../src/lab/registry.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const names = args.filter((arg) => !arg.startsWith('--'));
const selected = names.length > 0 ? names.map(findExperiment) : EXPERIMENTS;
const outDir = join(import.meta.dirname, '..', 'docs', 'lab');
mkdirSync(outDir, { recursive: true });
const seed = 0;

for (const experiment of selected) {
  const params = resolveParams(experiment, { quick });
  const started = Date.now();
  const result = await experiment.run(params, { seed, onProgress: () => {} });
  const seconds = (Date.now() - started) / 1000;
  writeFileAtomic(join(outDir, `${experiment.name}.svg`), plotSvg(result.plot));
  // Figures beside the plot (heads: what each head attends to), where an experiment returns them.
  const figures = (result as { figures?: Array<{ name: string; title: string; svg: string }> }).figures ?? [];
  for (const figure of figures) writeFileAtomic(join(outDir, `${experiment.name}-${figure.name}.svg`), figure.svg);
  const command = `qkv lab ${experiment.name}${quick ? ' --quick' : ''} --seed ${seed}`;
  const page = [
    `# lab: ${experiment.name}`,
    '',
    experiment.description,
    '',
    ...result.findings.map((finding) => `- ${finding}`),
    '',
    `![${experiment.name}](${experiment.name}.svg)`,
    '',
    formatMarkdownTable(result),
    '',
    ...figures.flatMap((figure) => [`![${figure.title}](${experiment.name}-${figure.name}.svg)`, '']),
    `Reproduce: \`${command}\` (${seconds.toFixed(1)} s on the machine that wrote this page).`,
    '',
  ].join('\n');
  writeFileAtomic(join(outDir, `${experiment.name}.md`), page);
  console.log(`${experiment.name}: ${seconds.toFixed(1)} s`);
}

// The index lists every experiment with a page, whichever ones this run rewrote.
const index = EXPERIMENTS.filter((experiment) => existsSync(join(outDir, `${experiment.name}.md`)))
  .map((experiment) => `- [${experiment.name}](${experiment.name}.md): ${experiment.description}`);
writeFileAtomic(join(outDir, 'README.md'), ['# The lab', '', 'Each page is written by `node --import tsx scripts/lab-docs.ts` from a real run.', '', ...index, ''].join('\n'));
