import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDocument, DomUtils } from 'htmlparser2';
import { reportHtml } from '../../src/lab/report-html.ts';

test('report page holds the table cells, the inline SVG plot, the findings and a rerun line', () => {
  const html = reportHtml({ name: 'demo', description: 'a <demo>' }, { steps: 3 }, {
    columns: ['variant', 'loss'], rows: [['x&y', 0.5], ['z', 1e-7]],
    plot: { title: 'p', xLabel: 'x', yLabel: 'y', kind: 'line', series: [{ name: 's', points: [[0, 1], [1, 2]] }] },
    findings: ['loss fell'],
  }, 4);
  const doc = parseDocument(html);
  const cells = DomUtils.findAll((e) => e.name === 'td', doc.children).map((e) => DomUtils.textContent(e));
  assert.deepEqual(cells, ['x&y', '0.5', 'z', '1.000e-7']);
  assert.equal(DomUtils.findAll((e) => e.name === 'svg', doc.children).length, 1);
  assert.ok(DomUtils.textContent(doc).includes('a <demo>'));
  assert.ok(html.includes('qkv lab demo --steps 3 --seed 4'));
  assert.ok(DomUtils.textContent(doc).includes('loss fell'));
});

test('report page shows an experiment\'s further figures after its plot, each with its caption', () => {
  const figure = '<svg xmlns="http://www.w3.org/2000/svg" width="2" height="2"><rect class="head" width="1" height="1"/></svg>';
  const html = reportHtml({ name: 'heads', description: 'd' }, {}, {
    columns: ['heads'], rows: [[1]],
    plot: { title: 'p', xLabel: 'x', yLabel: 'y', kind: 'line', series: [{ name: 's', points: [[0, 1]] }] },
    findings: [], figures: [{ name: 'attention-1-heads', title: 'What <each> head attends to', svg: figure }],
  }, 0);
  const doc = parseDocument(html);
  assert.equal(DomUtils.findAll((e) => e.name === 'svg', doc.children).length, 2);
  assert.equal(DomUtils.findAll((e) => e.name === 'rect' && e.attribs.class === 'head', doc.children).length, 1);
  const captions = DomUtils.findAll((e) => e.name === 'figcaption', doc.children).map((e) => DomUtils.textContent(e));
  assert.deepEqual(captions, ['What <each> head attends to']);
});
