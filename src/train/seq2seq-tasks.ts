/**
 * Seeded source → target tasks that need real alignment, generated on the spot (no downloads),
 * and TSV files of pairs:
 *
 * - `dates`: a date in one of many surface forms → ISO 8601 ("3rd of March, 2021" → "2021-03-03");
 * - `number-words`: English number words → digits ("four hundred and two" → "402"), and
 *   `number-to-words` the other way;
 * - `reverse` and `sort`: space-separated digit sequences, reversed or sorted, their length drawn
 *   from [minLength, maxLength] so the length can grow past what a fixed vector holds.
 *
 * The same seed gives the same pairs; `heldOutPairs` draws with another seed and drops any source
 * seen in training, so held-out scores measure generalisation, not recall.
 */
import { readFileSync } from 'node:fs';
import { QkvFormatError } from '../io/errors.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { Rng } from '../tensor/random.ts';

export interface Seq2SeqPair {
  source: string;
  target: string;
}

export interface TaskOptions {
  /** Shortest sequence (reverse, sort: symbols; number-words: digits). */
  minLength?: number;
  /** Longest sequence. */
  maxLength?: number;
}

export interface Seq2SeqTask {
  readonly name: string;
  readonly description: string;
  /** One pair drawn from `rng`. */
  sample(rng: Rng, options?: TaskOptions): Seq2SeqPair;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function ordinal(day: number): string {
  const suffix = day % 100 >= 11 && day % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][day % 10] ?? 'th');
  return `${day}${suffix}`;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** The surface forms of one date; each gets the same ISO target. */
const DATE_FORMS: ((y: number, m: number, d: number, weekday: string) => string)[] = [
  (y, m, d) => `${ordinal(d)} of ${MONTHS[m - 1]}, ${y}`,
  (y, m, d) => `${MONTHS[m - 1]} ${d}, ${y}`,
  (y, m, d) => `${d} ${MONTHS[m - 1]} ${y}`,
  (y, m, d) => `${MONTHS[m - 1].slice(0, 3)} ${d} ${y}`,
  (y, m, d) => `${d}-${MONTHS[m - 1].slice(0, 3)}-${y}`,
  (y, m, d) => `${pad2(d)}.${pad2(m)}.${y}`,
  (y, m, d) => `${y}/${pad2(m)}/${pad2(d)}`,
  (y, m, d) => `${MONTHS[m - 1].toLowerCase()} ${ordinal(d)} ${y}`,
  (y, m, d) => `${MONTHS[m - 1].toUpperCase()} ${d}, ${y}`,
  (y, m, d) => `the ${ordinal(d)} of ${MONTHS[m - 1].toLowerCase()} ${y}`,
  (y, m, d, weekday) => `${weekday}, ${MONTHS[m - 1]} ${d}, ${y}`,
  (y, m, d, weekday) => `${weekday.slice(0, 3)} ${d} ${MONTHS[m - 1].slice(0, 3)} ${y}`,
];

export const datesTask: Seq2SeqTask = {
  name: 'dates',
  description: `a date from 1950–2049 in one of ${DATE_FORMS.length} surface forms → YYYY-MM-DD`,
  sample(rng) {
    const epochDay = Date.UTC(1950, 0, 1) / 86_400_000 + rng.randint(36_525); // 100 years of days
    const date = new Date(epochDay * 86_400_000);
    const [y, m, d] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    const form = DATE_FORMS[rng.randint(DATE_FORMS.length)];
    return { source: form(y, m, d, WEEKDAYS[date.getUTCDay()]), target: `${y}-${pad2(m)}-${pad2(d)}` };
  },
};

const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

/** 0 ≤ n < 1000 in words, British "and": 342 → "three hundred and forty-two". */
function hundredsToWords(n: number): string {
  const parts: string[] = [];
  const hundreds = Math.floor(n / 100);
  const rest = n % 100;
  if (hundreds > 0) parts.push(`${ONES[hundreds]} hundred`);
  if (rest > 0 || hundreds === 0) {
    const words = rest < 20 ? ONES[rest] : TENS[Math.floor(rest / 10)] + (rest % 10 ? `-${ONES[rest % 10]}` : '');
    parts.push(hundreds > 0 ? `and ${words}` : words);
  }
  return parts.join(' ');
}

/** 0 ≤ n < 10⁹ in English words. @example numberToWords(1042) // "one thousand and forty-two" */
export function numberToWords(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n >= 1e9) throw new QkvValueError(`numberToWords: expected an integer in [0, 10^9), got ${n}`);
  if (n < 1000) return hundredsToWords(n);
  const groups: [number, string][] = [[Math.floor(n / 1e6), 'million'], [Math.floor(n / 1e3) % 1000, 'thousand']];
  const parts = groups.filter(([value]) => value > 0).map(([value, scale]) => `${hundredsToWords(value)} ${scale}`);
  const rest = n % 1000;
  if (rest > 0) parts.push(rest < 100 ? `and ${hundredsToWords(rest)}` : hundredsToWords(rest));
  return parts.join(' ');
}

function drawLength(rng: Rng, options: TaskOptions, defaults: [number, number]): number {
  const min = options.minLength ?? defaults[0];
  const max = options.maxLength ?? defaults[1];
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min) {
    throw new QkvValueError(`seq2seq task: need integers 1 ≤ minLength ≤ maxLength, got ${min} and ${max}`);
  }
  return min + rng.randint(max - min + 1);
}

export const numberWordsTask: Seq2SeqTask = {
  name: 'number-words',
  description: 'an integer of minLength–maxLength digits (default 1–6) in English words → its digits',
  sample(rng, options = {}) {
    const digits = drawLength(rng, options, [1, 6]);
    const low = digits === 1 ? 0 : 10 ** (digits - 1);
    const n = low + rng.randint(10 ** digits - low);
    return { source: numberToWords(n), target: String(n) };
  },
};

export const numberToWordsTask: Seq2SeqTask = {
  name: 'number-to-words',
  description: 'the reverse direction: an integer of minLength–maxLength digits (default 1–6) → English words',
  sample(rng, options = {}) {
    const { source, target } = numberWordsTask.sample(rng, options);
    return { source: target, target: source };
  },
};

function digitSequence(rng: Rng, options: TaskOptions): number[] {
  return Array.from({ length: drawLength(rng, options, [3, 12]) }, () => rng.randint(10));
}

export const reverseTask: Seq2SeqTask = {
  name: 'reverse',
  description: 'minLength–maxLength (default 3–12) space-separated digits → the same digits reversed',
  sample(rng, options = {}) {
    const digits = digitSequence(rng, options);
    return { source: digits.join(' '), target: [...digits].reverse().join(' ') };
  },
};

export const sortTask: Seq2SeqTask = {
  name: 'sort',
  description: 'minLength–maxLength (default 3–12) space-separated digits → the same digits in ascending order',
  sample(rng, options = {}) {
    const digits = digitSequence(rng, options);
    return { source: digits.join(' '), target: [...digits].sort((a, b) => a - b).join(' ') };
  },
};

export const SEQ2SEQ_TASKS: Readonly<Record<string, Seq2SeqTask>> = {
  dates: datesTask,
  'number-words': numberWordsTask,
  'number-to-words': numberToWordsTask,
  reverse: reverseTask,
  sort: sortTask,
};

/** The task of that name; the error lists the others. */
export function getSeq2SeqTask(name: string): Seq2SeqTask {
  const task = SEQ2SEQ_TASKS[name];
  if (task === undefined) throw new QkvValueError(`unknown seq2seq task ${JSON.stringify(name)} (tasks: ${Object.keys(SEQ2SEQ_TASKS).join(', ')})`);
  return task;
}

/** `count` pairs from `seed`. @example generatePairs(datesTask, 1000, 1) */
export function generatePairs(task: Seq2SeqTask, count: number, seed: number, options: TaskOptions = {}): Seq2SeqPair[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => task.sample(rng, options));
}

/** `count` pairs from `seed` whose sources are not among `seen` (nor repeated). */
export function heldOutPairs(task: Seq2SeqTask, count: number, seed: number, seen: Iterable<Seq2SeqPair>, options: TaskOptions = {}): Seq2SeqPair[] {
  const used = new Set<string>();
  for (const pair of seen) used.add(pair.source);
  const rng = new Rng(seed);
  const out: Seq2SeqPair[] = [];
  for (let tries = 0; out.length < count && tries < count * 100; tries++) {
    const pair = task.sample(rng, options);
    if (used.has(pair.source)) continue;
    used.add(pair.source);
    out.push(pair);
  }
  return out;
}

/**
 * Pairs from a TSV file: one `source<TAB>target` per line; blank lines skipped. Errors name the
 * file and the line.
 */
export function readPairsTsv(path: string): Seq2SeqPair[] {
  const text = readFileSync(path, 'utf8');
  const pairs: Seq2SeqPair[] = [];
  for (const [index, rawLine] of text.split(/\r?\n/).entries()) {
    if (rawLine.trim() === '') continue;
    const fields = rawLine.split('\t');
    if (fields.length !== 2) throw new QkvFormatError(path, `line ${index + 1}: expected "source<TAB>target", found ${fields.length} tab-separated fields`);
    pairs.push({ source: fields[0], target: fields[1] });
  }
  if (pairs.length === 0) throw new QkvFormatError(path, 'no source/target pairs');
  return pairs;
}
