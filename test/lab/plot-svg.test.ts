import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDocument } from 'htmlparser2';
import { plotSvg } from '../../src/lab/plot-svg.ts';
import { formatMarkdownTable, formatTable, resolveParams, type Experiment } from '../../src/lab/experiment.ts';

type Node = { name?: string; attribs?: Record<string, string>; children?: Node[] };
function elements(node: Node, name: string, found: Node[] = []): Node[] {
  if (node.name === name) found.push(node);
  for (const child of node.children ?? []) elements(child, name, found);
  return found;
}

test('line plot: one path per series, points placed linearly, and the log axis puts the geometric mean in the middle', () => {
  const svg = plotSvg({
    title: 'a <b> & c', xLabel: 'x', yLabel: 'y', kind: 'line', logX: true,
    series: [{ name: 'one', points: [[10, 0], [100, 5], [1000, 10]] }, { name: 'two', points: [[10, 10], [1000, 0]] }],
  });
  const doc = parseDocument(svg, { xmlMode: true }) as unknown as Node;
  assert.equal(elements(doc, 'path').length, 2);
  const circles = elements(doc, 'circle').map((c) => [Number(c.attribs!.cx), Number(c.attribs!.cy)]);
  assert.equal(circles.length, 5);
  const [first, middle, last] = circles;
  // x = 100 is halfway between 10 and 1000 on a log axis; y = 5 halfway between 0 and 10.
  assert.ok(Math.abs(middle[0] - (first[0] + last[0]) / 2) < 0.2);
  assert.ok(Math.abs(middle[1] - (first[1] + last[1]) / 2) < 0.2);
  assert.ok(first[1] > last[1], 'larger y is drawn higher (smaller pixel y)');
  assert.ok(svg.includes('a &lt;b&gt; &amp; c'), 'title is escaped');
});

test('bar plot: bar heights are proportional to values from a zero baseline', () => {
  const svg = plotSvg({ title: 't', xLabel: 'x', yLabel: 'y', kind: 'bar', categories: ['a', 'b'], series: [{ name: 's', points: [[0, 2], [1, 4]] }] });
  const doc = parseDocument(svg, { xmlMode: true }) as unknown as Node;
  const bars = elements(doc, 'rect').filter((r) => r.attribs!.class === 'bar').map((r) => Number(r.attribs!.height));
  assert.equal(bars.length, 2);
  assert.ok(Math.abs(bars[1] / bars[0] - 2) < 0.01);
});

test('plotSvg rejects a plot without finite points and a log axis with non-positive values', () => {
  assert.throws(() => plotSvg({ title: 't', xLabel: 'x', yLabel: 'y', kind: 'line', series: [{ name: 's', points: [[0, NaN]] }] }), /no finite points/);
  assert.throws(() => plotSvg({ title: 't', xLabel: 'x', yLabel: 'y', kind: 'line', logY: true, series: [{ name: 's', points: [[0, 0], [1, 1]] }] }), /log y axis/);
});

test('resolveParams: quick values, typed overrides, unknown names rejected; tables align', () => {
  const experiment: Experiment = { name: 'e', description: 'd', params: [{ name: 'steps', description: '', default: 100, quick: 5 }, { name: 'mode', description: '', default: 'a' }], run: () => { throw new Error('unused'); } };
  assert.deepEqual(resolveParams(experiment), { steps: 100, mode: 'a' });
  assert.deepEqual(resolveParams(experiment, { quick: true, overrides: { mode: 'b' } }), { steps: 5, mode: 'b' });
  assert.deepEqual(resolveParams(experiment, { overrides: { steps: '7' } }), { steps: 7, mode: 'a' });
  assert.throws(() => resolveParams(experiment, { overrides: { steps: 'x' } }), /must be a number/);
  assert.throws(() => resolveParams(experiment, { overrides: { nope: '1' } }), /unknown parameter 'nope'/);
  const table = { columns: ['name', 'value'], rows: [['long name', 0.123456], ['b', 2]] };
  assert.equal(formatTable(table), 'name       value\n---------  ------\nlong name  0.1235\nb          2');
  assert.equal(formatMarkdownTable(table), '| name | value |\n|---|---|\n| long name | 0.1235 |\n| b | 2 |');
});
