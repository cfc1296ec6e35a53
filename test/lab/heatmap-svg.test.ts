import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attentionColorHex, collectAttentionMaps } from '../../src/lab/attention-maps.ts';
import { escapeXml, renderAttentionSvg } from '../../src/lab/heatmap-svg.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { chromiumInstalled, CHROMIUM_MISSING, launchChromium, SAMPLE_TEXT, tinyModel } from './fixtures.ts';

interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_:][\w:.-]*/;
const ENTITY = /^&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/;

/** Checks `&` only starts a known entity and `<` never appears raw; `where` names the place. */
function checkCharacterData(text: string, where: string): void {
  assert.ok(!text.includes('<'), `raw "<" in ${where}`);
  for (let at = text.indexOf('&'); at !== -1; at = text.indexOf('&', at + 1)) {
    assert.match(text.slice(at, at + 12), ENTITY, `bad entity in ${where}: ${JSON.stringify(text.slice(at, at + 12))}`);
  }
}

/**
 * A small well-formedness checker for the XML we write: one root, properly nested and closed
 * tags, quoted unique attributes, valid entities, no raw `<` or `&` in text.
 */
function parseXml(source: string): XmlElement {
  let at = 0;
  const stack: XmlElement[] = [{ name: '#document', attributes: {}, children: [], text: '' }];
  while (at < source.length) {
    const open = source.indexOf('<', at);
    const text = source.slice(at, open === -1 ? source.length : open);
    checkCharacterData(text, `text before byte ${open}`);
    if (stack.length === 1) assert.equal(text.trim(), '', `text outside the root at byte ${at}`);
    stack.at(-1)!.text += text;
    if (open === -1) break;
    if (source.startsWith('<?', open)) {
      at = source.indexOf('?>', open) + 2;
      assert.ok(at > 1, 'unterminated <?');
      continue;
    }
    if (source.startsWith('<!--', open)) {
      at = source.indexOf('-->', open) + 3;
      assert.ok(at > 2, 'unterminated comment');
      continue;
    }
    if (source.startsWith('</', open)) {
      const close = source.indexOf('>', open);
      const name = source.slice(open + 2, close).trim();
      const element = stack.pop()!;
      assert.equal(name, element.name, `</${name}> at byte ${open} closes <${element.name}>`);
      at = close + 1;
      continue;
    }
    let cursor = open + 1;
    const name = NAME.exec(source.slice(cursor))?.[0];
    assert.ok(name, `bad tag name at byte ${open}`);
    cursor += name.length;
    const element: XmlElement = { name, attributes: {}, children: [], text: '' };
    for (;;) {
      const space = /^\s*/.exec(source.slice(cursor))![0];
      cursor += space.length;
      if (source.startsWith('/>', cursor) || source[cursor] === '>') break;
      assert.ok(space.length > 0, `attributes of <${name}> at byte ${open} must be separated by space`);
      const attribute = /^([A-Za-z_:][\w:.-]*)="([^"]*)"/.exec(source.slice(cursor));
      assert.ok(attribute, `bad attribute in <${name}> at byte ${cursor}: ${JSON.stringify(source.slice(cursor, cursor + 30))}`);
      assert.ok(!(attribute[1] in element.attributes), `duplicate attribute ${attribute[1]} in <${name}>`);
      checkCharacterData(attribute[2], `attribute ${attribute[1]} of <${name}>`);
      element.attributes[attribute[1]] = attribute[2];
      cursor += attribute[0].length;
    }
    stack.at(-1)!.children.push(element);
    if (source.startsWith('/>', cursor)) {
      at = cursor + 2;
    } else {
      stack.push(element);
      at = cursor + 1;
    }
  }
  assert.equal(stack.length, 1, `unclosed <${stack.at(-1)!.name}>`);
  assert.equal(stack[0].children.length, 1, 'exactly one root element');
  return stack[0].children[0];
}

function* descendants(element: XmlElement): Generator<XmlElement> {
  for (const child of element.children) {
    yield child;
    yield* descendants(child);
  }
}

function classOf(element: XmlElement): string[] {
  return (element.attributes.class ?? '').split(/\s+/);
}

test('the XML checker itself rejects what is not well-formed', () => {
  assert.throws(() => parseXml('<a><b></a>'), /closes <b>/);
  assert.throws(() => parseXml('<a x="1" x="2"/>'), /duplicate attribute/);
  assert.throws(() => parseXml('<a>1 & 2</a>'), /bad entity/);
  assert.throws(() => parseXml('<a/><b/>'), /one root/);
  assert.equal(parseXml('<a t="&lt;&amp;"><b/>x</a>').children.length, 1);
});

test('the SVG is well-formed, one panel per head, every cell the colour of the model\'s weight', () => {
  const { model, tokenizer } = tinyModel();
  const maps = collectAttentionMaps(model, tokenizer, SAMPLE_TEXT);
  const svg = renderAttentionSvg(maps);
  const root = parseXml(svg);
  assert.equal(root.name, 'svg');
  assert.equal(root.attributes.xmlns, 'http://www.w3.org/2000/svg');
  const panels = [...descendants(root)].filter((e) => e.name === 'svg' && classOf(e).includes('panel'));
  assert.deepEqual(panels.map((p) => [p.attributes['data-layer'], p.attributes['data-head']]), [['0', '0'], ['0', '1'], ['1', '0'], ['1', '1']]);

  const T = maps.ids.length;
  model.forward(Tensor.from(maps.ids, [1, T]), { returnAttention: true });
  const reference = model.attentionWeights();
  for (const panel of panels) {
    const layer = Number(panel.attributes['data-layer']);
    const head = Number(panel.attributes['data-head']);
    const cells = [...descendants(panel)].filter((e) => e.name === 'rect' && 'data-i' in e.attributes);
    assert.equal(cells.length, T * T, `layer ${layer} head ${head}: ${cells.length} cells, expected ${T}×${T}`);
    for (const cell of cells) {
      const i = Number(cell.attributes['data-i']);
      const j = Number(cell.attributes['data-j']);
      const weight = reference[layer]!.get(0, head, i, j);
      assert.equal(cell.attributes.fill, attentionColorHex(weight), `layer ${layer} head ${head} cell (${i},${j}), weight ${weight}`);
      if (j > i) assert.equal(cell.attributes.fill, '#ffffff', `causal cell (${i},${j}) is white`);
      assert.match(cell.children[0].text, new RegExp(`: ${weight.toFixed(3)}$`));
    }
    const keyLabels = [...descendants(panel)].filter((e) => classOf(e).includes('key-label')).map((e) => e.text);
    const queryLabels = [...descendants(panel)].filter((e) => classOf(e).includes('query-label')).map((e) => e.text);
    assert.deepEqual(keyLabels, maps.labels.map(escapeXml));
    assert.deepEqual(queryLabels, maps.labels.map(escapeXml));
  }
  // tokens that are markup characters arrive escaped, and the title says which head
  assert.ok(svg.includes('>&lt;</text>') && svg.includes('>&amp;</text>') && svg.includes('>&quot;</text>'));
  assert.ok(svg.includes('layer 1 · head 0'));
  assert.ok(!/https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(svg), 'no external references');
});

test('one head, and long multi-character labels turned and shortened', () => {
  const { model, tokenizer } = tinyModel();
  const maps = collectAttentionMaps(model, tokenizer, 'said it', { layer: 0, head: 1 });
  maps.labels = maps.labels.map((label, i) => (i === 0 ? 'a-very-long-token-label' : label));
  const root = parseXml(renderAttentionSvg(maps, { title: 'x < y' }));
  const panels = [...descendants(root)].filter((e) => classOf(e).includes('panel'));
  assert.equal(panels.length, 1);
  const keys = [...descendants(root)].filter((e) => classOf(e).includes('key-label'));
  assert.equal(keys[0].text, 'a-very-long…');
  assert.match(keys[0].attributes.transform, /rotate\(-90\)/);
});

test('past 64 tokens cells carry no tooltip (the file stays small), and still parse', () => {
  const T = 65;
  const weights = Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (j <= i ? 1 / (i + 1) : 0)));
  const maps = { text: 'x'.repeat(T), ids: [], tokens: [], labels: new Array<string>(T).fill('x'), numLayers: 1, numHeads: 1, maps: [{ layer: 0, head: 0, weights }] };
  const svg = renderAttentionSvg(maps);
  const cells = [...descendants(parseXml(svg))].filter((e) => e.name === 'rect' && 'data-i' in e.attributes);
  assert.equal(cells.length, T * T);
  assert.ok(cells.every((cell) => cell.children.length === 0));
  assert.equal(cells[T * T - 1].attributes.fill, attentionColorHex(1 / T));
});

test('Chromium parses the SVG as XML and draws one panel per head', { timeout: 60_000 }, async (t) => {
  if (!chromiumInstalled()) {
    t.skip(CHROMIUM_MISSING);
    return;
  }
  const { model, tokenizer } = tinyModel();
  const svg = renderAttentionSvg(collectAttentionMaps(model, tokenizer, SAMPLE_TEXT));
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await browser.newPage();
  const parsed = (await page.evaluate(
    `(() => {
      const doc = new DOMParser().parseFromString(${JSON.stringify(svg)}, 'image/svg+xml');
      const error = doc.querySelector('parsererror');
      return { error: error ? error.textContent : null, panels: doc.querySelectorAll('svg.panel').length };
    })()`,
  )) as { error: string | null; panels: number };
  assert.equal(parsed.error, null);
  assert.equal(parsed.panels, 4);
  await page.goto(`data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`);
  const boxes = await page.locator('svg.panel').evaluateAll(
    // a string body keeps DOM types out of this Node-only project
    new Function('panels', 'return panels.map((p) => { const r = p.getBoundingClientRect(); return [r.width, r.height]; })') as (panels: unknown[]) => number[][],
  );
  assert.equal(boxes.length, 4);
  for (const [width, height] of boxes) assert.ok(width > 50 && height > 50, `panel drawn ${width}×${height}`);
});
