/**
 * The HTML report page of one lab run: the experiment's description, parameters, findings,
 * the table and the SVG plot inlined, in one self-contained file (no scripts, no fetches).
 *
 * @example
 * writeFileAtomic('out/scaling.html', reportHtml(scalingExperiment, params, result));
 */
import { formatCell, type Experiment, type ExperimentResult, type Params } from './experiment.ts';
import { escapeXml, plotSvg } from './plot-svg.ts';

export function reportHtml(experiment: Pick<Experiment, 'name' | 'description'>, params: Params, result: ExperimentResult, seed: number): string {
  const header = result.columns.map((column) => `<th>${escapeXml(column)}</th>`).join('');
  const body = result.rows
    .map((row) => `<tr>${row.map((cell) => `<td>${escapeXml(formatCell(cell))}</td>`).join('')}</tr>`)
    .join('\n');
  const paramList = Object.entries(params).map(([name, value]) => `<li><code>--${escapeXml(name)} ${escapeXml(String(value))}</code></li>`).join('');
  const findings = result.findings.map((finding) => `<li>${escapeXml(finding)}</li>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>qkv lab: ${escapeXml(experiment.name)}</title>
<style>
body { font-family: sans-serif; max-width: 900px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
th { background: #f2f2f2; }
td:first-child, th:first-child { text-align: left; }
</style>
</head>
<body>
<h1>qkv lab: ${escapeXml(experiment.name)}</h1>
<p>${escapeXml(experiment.description)}</p>
<h2>Findings</h2>
<ul class="findings">${findings}</ul>
<figure>${plotSvg(result.plot)}</figure>
${(result.figures ?? []).map((figure) => `<figure>${figure.svg}<figcaption>${escapeXml(figure.title)}</figcaption></figure>`).join('\n')}
<h2>Table</h2>
<table>
<thead><tr>${header}</tr></thead>
<tbody>
${body}
</tbody>
</table>
<h2>Parameters</h2>
<ul>${paramList}<li><code>--seed ${seed}</code></li></ul>
<p>Rerun: <code>qkv lab ${escapeXml(experiment.name)} ${Object.entries(params).map(([n, v]) => `--${escapeXml(n)} ${escapeXml(String(v))}`).join(' ')} --seed ${seed}</code></p>
</body>
</html>
`;
}
