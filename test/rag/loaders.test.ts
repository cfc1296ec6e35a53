import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadDocuments } from '../../src/rag/loaders.ts';
import { htmlToText } from '../../src/rag/html-text.ts';

test('htmlToText: a real parser: entities (&nbsp; folded to a space), skipped scripts and title, block boundaries, a ">" inside an attribute', () => {
  const page = htmlToText(`<!doctype html><html><head><title>The  Page</title><style>p { color: red }</style></head>
    <body><h1>Heading</h1><p data-x="a > b">One &amp; two&nbsp;three <b>bold</b></p><script>if (a < b) alert("x")</script>
    <ul><li>first</li><li>second</li></ul><!-- a comment --></body></html>`);
  assert.equal(page.title, 'The Page');
  assert.equal(page.text, 'Heading\n\nOne & two three bold\n\nfirst\n\nsecond');
});

test('loadDocuments: folders of txt/md/html/jsonl, with problems reported by path and the rest loaded', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-load-'));
  try {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'a.txt'), '\ufeffPlain text.');
    writeFileSync(join(dir, 'sub', 'b.md'), '# Title\n\nSome *markdown*.');
    writeFileSync(join(dir, 'c.html'), '<title>T</title><p>Hello &lt;world&gt;</p>');
    writeFileSync(join(dir, 'd.jsonl'), '{"body": "first record", "lang": "en", "n": 3}\nnot json\n{"other": 1}\n\n{"body": "second", "id": "x"}\n');
    writeFileSync(join(dir, 'bad.txt'), Buffer.from([0x48, 0x69, 0xff, 0xfe, 0x21]));
    writeFileSync(join(dir, 'empty.md'), '  \n\n ');
    writeFileSync(join(dir, 'image.png'), Buffer.from([1, 2, 3])); // not a document: skipped silently in a folder
    const { documents, problems } = loadDocuments([dir, join(dir, 'missing.txt'), join(dir, 'image.png')], { jsonlTextField: 'body' });
    assert.deepEqual(documents.map((d) => [d.path.slice(dir.length + 1), d.text]), [
      ['a.txt', 'Plain text.'],
      ['c.html', 'Hello <world>'],
      ['d.jsonl#1', 'first record'],
      ['d.jsonl#5', 'second'],
      ['sub/b.md', '# Title\n\nSome *markdown*.'],
    ]);
    assert.deepEqual(documents[2].metadata, { type: 'jsonl', lang: 'en', n: 3 });
    assert.deepEqual(documents[1].metadata, { type: 'html', title: 'T' });
    assert.deepEqual(problems.map((p) => [p.path.slice(dir.length + 1), p.reason]), [
      ['bad.txt', 'not valid UTF-8 text'],
      ['d.jsonl#2', 'not valid JSON'],
      ['d.jsonl#3', 'field "body" is missing, not a string, or empty'],
      ['empty.md', 'empty document (no text)'],
      ['missing.txt', 'cannot read: ENOENT'],
      ['image.png', 'unsupported file type ".png" (expected one of .txt .md .markdown .html .htm .jsonl)'],
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
