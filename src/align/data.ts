/**
 * Seeded instruction and preference data from a rule a person can check, written as the same
 * JSONL users bring (`{"prompt","completion"}`, TRL's `{"prompt","chosen","rejected"}`), and the
 * held-out quality measure that checks the rule itself (which a learned reward model never sees).
 *
 * The rule here is arithmetic: `"12+7="` is answered `"19"`. A preferred completion answers
 * correctly and the rejected one is off by a little (a plausible mistake), so a reward model has
 * to learn the arithmetic to rank them. `suffixRate` makes the labels imperfect in a way real
 * preference data is: in that fraction of pairs the chosen answer also ends in `suffix` (labelers
 * who liked enthusiasm), a feature that correlates with preference but is not the rule — what a
 * policy optimised against the learned reward can exploit (reward hacking).
 *
 * @example
 * writeJsonl('sums.jsonl', arithmeticInstructions({ count: 500, seed: 1 }));
 * writeJsonl('prefs.jsonl', arithmeticPreferences({ count: 500, seed: 2, suffixRate: 0.5 }));
 * arithmeticQuality([{ prompt: '12+7=', completion: '19' }]); // 1
 */
import { QkvValueError } from '../tensor/errors.ts';
import { Rng } from '../tensor/random.ts';
import type { PreferenceRecord, PromptCompletionRecord } from '../adapt/jsonl.ts';

export type Operation = '+' | '-';

export interface ArithmeticOptions {
  count: number;
  seed: number;
  /** Operands are drawn from 0 … maxOperand (default 20). */
  maxOperand?: number;
  /** '+' (default) or '-' (a − b with a ≥ b, so answers are never negative). */
  operation?: Operation;
}

function checkCount(count: number): void {
  if (!Number.isInteger(count) || count <= 0) throw new QkvValueError(`count must be a positive integer, got ${count}`);
}

/** One problem `a op b =` and its answer. */
export function arithmeticProblem(rng: Rng, maxOperand: number, operation: Operation): { prompt: string; answer: number } {
  let a = rng.randint(maxOperand + 1);
  let b = rng.randint(maxOperand + 1);
  if (operation === '-' && b > a) [a, b] = [b, a];
  return { prompt: `${a}${operation}${b}=`, answer: operation === '+' ? a + b : a - b };
}

/** The answer the rule gives for a prompt `a+b=` / `a-b=`, or null when it is not one. */
export function arithmeticAnswer(prompt: string): number | null {
  const match = /(\d+)\s*([+-])\s*(\d+)\s*=\s*$/.exec(prompt);
  if (match === null) return null;
  const [a, b] = [Number(match[1]), Number(match[3])];
  return match[2] === '+' ? a + b : a - b;
}

/** Whether a completion answers its prompt correctly: its first integer is the rule's answer. */
export function isCorrectAnswer(prompt: string, completion: string): boolean {
  const answer = arithmeticAnswer(prompt);
  const given = /^\s*(-?\d+)/.exec(completion);
  return answer !== null && given !== null && Number(given[1]) === answer;
}

/** The held-out quality measure: the fraction of completions that answer correctly. */
export function arithmeticQuality(samples: readonly { prompt: string; completion: string }[]): number {
  if (samples.length === 0) return NaN;
  return samples.filter((sample) => isCorrectAnswer(sample.prompt, sample.completion)).length / samples.length;
}

/** `{"prompt": "12+7=", "completion": "19"}` records. */
export function arithmeticInstructions(options: ArithmeticOptions): PromptCompletionRecord[] {
  checkCount(options.count);
  const rng = new Rng(options.seed);
  return Array.from({ length: options.count }, () => {
    const { prompt, answer } = arithmeticProblem(rng, options.maxOperand ?? 20, options.operation ?? '+');
    return { prompt, completion: String(answer) };
  });
}

/** Plain text of worked problems, one per line (`12+7=19`), for pre-training a base model. */
export function arithmeticText(options: ArithmeticOptions): string {
  return arithmeticInstructions(options).map((record) => `${record.prompt}${record.completion}\n`).join('');
}

export interface PreferenceOptions extends ArithmeticOptions {
  /** Fraction of pairs whose chosen answer also carries `suffix` (default 0: clean labels). */
  suffixRate?: number;
  /** The spurious feature (default '!'). */
  suffix?: string;
}

/** A plausible wrong answer: off by 1 to 3, or the digits swapped, never the right one. */
function wrongAnswer(rng: Rng, answer: number): number {
  if (answer >= 10 && rng.uniform() < 0.3) {
    const swapped = Number(String(answer).split('').reverse().join(''));
    if (swapped !== answer) return swapped;
  }
  const offset = 1 + rng.randint(3);
  return answer - offset >= 0 && rng.uniform() < 0.5 ? answer - offset : answer + offset;
}

/** TRL preference pairs: chosen = the correct answer, rejected = a wrong one. */
export function arithmeticPreferences(options: PreferenceOptions): PreferenceRecord[] {
  checkCount(options.count);
  const suffixRate = options.suffixRate ?? 0;
  if (!(suffixRate >= 0 && suffixRate <= 1)) throw new QkvValueError(`suffixRate must be in [0, 1], got ${suffixRate}`);
  const rng = new Rng(options.seed);
  return Array.from({ length: options.count }, () => {
    const { prompt, answer } = arithmeticProblem(rng, options.maxOperand ?? 20, options.operation ?? '+');
    const chosen = String(answer) + (rng.uniform() < suffixRate ? (options.suffix ?? '!') : '');
    return { prompt, chosen, rejected: String(wrongAnswer(rng, answer)) };
  });
}
