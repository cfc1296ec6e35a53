/**
 * Prompt templates with named variables, in LangChain's (and Python f-string's) syntax:
 * `{name}` is a variable, `{{` and `}}` are literal braces.
 *
 * @example
 * const prompt = new PromptTemplate('Translate "{text}" into {language}:');
 * prompt.inputVariables;                       // ['text', 'language']
 * prompt.format({ text: 'cat', language: 'French' }); // 'Translate "cat" into French:'
 * prompt.format({ text: 'cat' });              // throws: missing variable "language"
 */
import { QkvValueError } from '../tensor/errors.ts';

type Part = { literal: string } | { variable: string };

function parse(template: string): Part[] {
  const parts: Part[] = [];
  let literal = '';
  for (let i = 0; i < template.length; i++) {
    const ch = template[i];
    if ((ch === '{' || ch === '}') && template[i + 1] === ch) {
      literal += ch;
      i++;
      continue;
    }
    if (ch === '}') throw new QkvValueError(`PromptTemplate: a lone "}" at offset ${i} (write "}}" for a literal brace)`);
    if (ch !== '{') {
      literal += ch;
      continue;
    }
    const end = template.indexOf('}', i + 1);
    if (end < 0) throw new QkvValueError(`PromptTemplate: "{" at offset ${i} is never closed (write "{{" for a literal brace)`);
    const name = template.slice(i + 1, end).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new QkvValueError(`PromptTemplate: "{${template.slice(i + 1, end)}}" at offset ${i} is not a variable name`);
    if (literal) parts.push({ literal });
    literal = '';
    parts.push({ variable: name });
    i = end;
  }
  if (literal) parts.push({ literal });
  return parts;
}

export class PromptTemplate {
  readonly template: string;
  /** Variable names in order of first appearance. */
  readonly inputVariables: readonly string[];
  private readonly parts: Part[];

  constructor(template: string) {
    this.template = template;
    this.parts = parse(template);
    this.inputVariables = [...new Set(this.parts.flatMap((p) => ('variable' in p ? [p.variable] : [])))];
  }

  /** Fills every variable; a missing one is a `QkvValueError` that names it. Extra values are ignored. */
  format(values: Readonly<Record<string, string | number>>): string {
    const missing = this.inputVariables.filter((name) => !(name in values) || values[name] === undefined);
    if (missing.length > 0) {
      throw new QkvValueError(`PromptTemplate: missing variable${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} (template: ${JSON.stringify(this.template)})`);
    }
    return this.parts.map((p) => ('literal' in p ? p.literal : String(values[p.variable]))).join('');
  }
}
