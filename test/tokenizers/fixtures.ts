/**
 * Shared test text: slices of the Brown Corpus for training and held-out evaluation, and a
 * varied text (prose, code, numbers, whitespace runs, CJK, emoji, accents, control characters).
 */
import { readFileSync } from 'node:fs';

let corpus: string | null = null;

export function brown(): string {
  corpus ??= readFileSync(new URL('../../data/brown.txt', import.meta.url), 'utf8');
  return corpus;
}

/** The first bytes of the corpus (training slice). */
export function trainingText(length = 250_000): string {
  return brown().slice(0, length);
}

/** A slice far from the training slice (held out). */
export function heldOutText(length = 50_000): string {
  return brown().slice(3_000_000, 3_000_000 + length);
}

/** Multilingual text that every implementation handles the same (BMP CJK, assigned characters only). */
export const MULTILINGUAL =
  'Hello world! Ünïcödé café naïve résumé Ærøskøbing Œuvre. 你好世界，我们在北京。日本語のテキスト、カタカナ。한국어 텍스트. ' +
  'Русский текст, Ελληνικά, עברית, العربية. Emoji 🎉🚀 👨‍👩‍👧 ok. Numbers 3.14159 1,000,000 42nd. ' +
  "Code: function f(x) { return x * 2; } // done\n\n\tTabs   and   spaces. Don't stop—it's \"quoted\" (really) [sic] #tag @user $5 100%.";

const CODE = `
export function fibonacci(n: number): number {
  if (n < 2) return n;
  let [a, b] = [0, 1];
  for (let i = 2; i <= n; i++) [a, b] = [b, a + b];
  return b;
}
def main():\n    print("hello", {'k': [1, 2.5e-3, None]})  # comment
<div class="x">&amp; &lt;tag&gt;</div>\r\n
`;

/** At least 20 KB of varied text for the GPT-2 comparison with js-tiktoken. */
export function variedText(): string {
  const parts: string[] = [brown().slice(100_000, 112_000), CODE];
  let numbers = '';
  for (let i = 0; i < 300; i++) numbers += `${i * 7919} ${(i / 7).toFixed(4)} 0x${(i * 2654435761 >>> 0).toString(16)} ${-i}e${i % 9}, `;
  parts.push(numbers);
  parts.push('a  b   c    d\t\t\te\n\n\n f \u00a0 g\u3000h' + ' '.repeat(40) + 'end\n' + '\n'.repeat(10) + '   \t \n');
  parts.push('北京是中华人民共和国的首都。東京は日本の首都です。서울은 한국의 수도입니다. 𠀀𠀁 𪚥 CJK ext-B.');
  parts.push('Emoji: 😀😃😄 👍🏽 🇺🇳 👩‍💻 ❤️ ✨🔥 ok🎉ok. Accents: àéîõü ÀÉÎÕÜ ñ ç ß ø å ę ł ő ű. Combining: e\u0301 a\u0308 n\u0303.');
  parts.push('Control: \u0000\u0001\u0007\u001b[31mred\u001b[0m \u0085 \u200b\u200d\ufeff \ufffd \uffff end.');
  parts.push("Contractions: I'm you're he's we've they'll I'd don't ISN'T 'quoted' ''double''.");
  parts.push(MULTILINGUAL);
  let text = parts.join('\n');
  while (text.length < 20_500) text += '\n' + parts.slice(1).join(' | ');
  return text;
}
