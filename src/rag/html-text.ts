/**
 * The text of an HTML page, taken out with a real parser (htmlparser2), not regexes: entities
 * decoded, `<script>`/`<style>`/`<template>` dropped, block elements (`<p>`, `<li>`, `<h1>`, …)
 * ending a paragraph so the chunker can still prefer their boundaries, runs of spaces folded.
 *
 * @example htmlToText('<h1>Title</h1><p>One &amp; two</p>'); // { text: 'Title\n\nOne & two', title: undefined }
 */
import { Parser } from 'htmlparser2';

const SKIPPED = new Set(['script', 'style', 'template', 'noscript', 'head', 'title']);
const BLOCKS = new Set([
  'p', 'div', 'section', 'article', 'header', 'footer', 'main', 'aside', 'nav', 'li', 'ul', 'ol', 'dl', 'dt', 'dd',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'pre', 'blockquote', 'table', 'tr', 'figure', 'figcaption', 'hr', 'br', 'body',
]);

export interface HtmlText {
  text: string;
  /** The `<title>`, when the page has one. */
  title: string | undefined;
}

export function htmlToText(html: string): HtmlText {
  const paragraphs: string[] = [];
  let current = '';
  let skipDepth = 0;
  let inTitle = false;
  let title = '';
  const endParagraph = (): void => {
    const folded = current.replace(/\s+/g, ' ').trim();
    if (folded.length > 0) paragraphs.push(folded);
    current = '';
  };
  const parser = new Parser(
    {
      onopentag(name) {
        if (name === 'title') inTitle = true;
        if (SKIPPED.has(name)) skipDepth++;
        else if (BLOCKS.has(name)) endParagraph();
      },
      ontext(data) {
        if (inTitle) title += data;
        if (skipDepth === 0) current += data;
      },
      onclosetag(name) {
        if (name === 'title') inTitle = false;
        if (SKIPPED.has(name)) skipDepth = Math.max(0, skipDepth - 1);
        else if (BLOCKS.has(name)) endParagraph();
      },
    },
    { decodeEntities: true, lowerCaseTags: true },
  );
  parser.write(html);
  parser.end();
  endParagraph();
  const foldedTitle = title.replace(/\s+/g, ' ').trim();
  return { text: paragraphs.join('\n\n'), title: foldedTitle.length > 0 ? foldedTitle : undefined };
}
