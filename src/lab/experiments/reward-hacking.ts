/**
 * `qkv lab reward-hacking`: optimise against a learned proxy reward and watch the true ("gold")
 * reward part ways with it as the policy moves away from the reference (Gao, Schulman & Hilton
 * 2022, "Scaling Laws for Reward Model Overoptimization", their best-of-n curves).
 *
 * The world: completions are strings of `length` letters; the gold rule rewards the letter `a`
 * up to `cap` of them and punishes every one beyond (a little of a feature is good, a lot is
 * padding, as length is for answers). The proxy is a src/align `RewardModel` (a tiny GPT body +
 * scalar head) trained with the Bradley–Terry loss on pairs of reference samples ranked by a
 * labeller's rule of thumb, "more a's is better", which agrees with gold on most reference
 * samples (they rarely hold more than `cap`). The control is the same reward model trained on
 * pairs ranked by the gold rule itself.
 *
 * Optimisation pressure is best-of-n from the reference, KL = log n − (n−1)/n nats. For each
 * of G prompt groups, N reference samples are drawn once; the expected gold and proxy of the
 * best of n are computed exactly over the N samples (Gao et al.'s unbiased estimator: sorted by
 * proxy, sample i of N is the best of a random n-subset with probability C(i−1, n−1)/C(N, n)).
 * The proxy is put on the gold scale by a least-squares line fitted on the reference samples
 * (so the gap is 0 at n = 1 by construction); the gap is that calibrated proxy minus gold.
 *
 * Legend: N = samples per group, G = groups, L = completion length, V = vocabulary.
 */
import { RewardModel, trainRewardModel } from '../../align/reward-model.ts';
import { GPT } from '../../models/gpt.ts';
import { noGrad } from '../../tensor/autograd.ts';
import { QkvValueError } from '../../tensor/errors.ts';
import { Rng } from '../../tensor/random.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { charTokenizerFromAlphabet } from '../../tokenizers/char.ts';
import type { Tokenizer } from '../../tokenizers/tokenizer.ts';
import { numberListParam, numberParam, type Experiment, type ExperimentResult } from '../experiment.ts';

const PROMPT = ':';
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** The gold rule: +1 per `a` up to `cap`, −`penalty` per `a` beyond it. */
export function goldReward(completion: string, cap: number, penalty: number): number {
  const count = [...completion].filter((ch) => ch === 'a').length;
  return Math.min(count, cap) - penalty * Math.max(0, count - cap);
}

/** N completions of `length` letters from `policy` after the prompt, sampled in one batch per position. */
export function sampleLetters(policy: GPT, tokenizer: Tokenizer, letters: readonly string[], count: number, length: number, rng: Rng): string[] {
  const letterIds = letters.map((letter) => tokenizer.tokenToId(letter)!);
  const promptId = tokenizer.tokenToId(PROMPT)!;
  const rows: number[][] = Array.from({ length: count }, () => [promptId]);
  noGrad(() => {
    for (let position = 0; position < length; position++) {
      const t = position + 1;
      const ids = Tensor.from(rows.flat(), [count, t]);
      const logits = policy.forward(ids).logits.contiguousData(); // (N, t, V), only letters sampled
      const V = logits.length / (count * t);
      for (let b = 0; b < count; b++) {
        const base = (b * t + t - 1) * V;
        const scores = letterIds.map((id) => logits[base + id]);
        const top = Math.max(...scores);
        const weights = scores.map((score) => Math.exp(score - top));
        let u = rng.uniform() * weights.reduce((sum, w) => sum + w, 0);
        let pick = 0;
        while (pick < weights.length - 1 && (u -= weights[pick]) > 0) pick++;
        rows[b].push(letterIds[pick]);
      }
    }
  });
  return rows.map((row) => tokenizer.decode(row.slice(1)));
}

function logChoose(n: number, k: number): number {
  let total = 0;
  for (let i = 0; i < k; i++) total += Math.log(n - i) - Math.log(i + 1);
  return total;
}

/**
 * Expected value of `values` for the best-of-n (by `scores`) of a random n-subset of the N
 * samples: with samples sorted by score, the i-th (1-based) is the best with probability
 * C(i−1, n−1)/C(N, n). Ties in score are broken by index.
 */
export function bestOfNExpectation(scores: readonly number[], values: readonly number[], n: number): number {
  const N = scores.length;
  if (!(Number.isInteger(n) && n >= 1 && n <= N)) throw new QkvValueError(`best-of-n: n must be in [1, ${N}], got ${n}`);
  const order = scores.map((_, i) => i).sort((a, b) => scores[a] - scores[b] || a - b);
  const denominator = logChoose(N, n);
  let total = 0;
  for (let rank = n; rank <= N; rank++) total += Math.exp(logChoose(rank - 1, n - 1) - denominator) * values[order[rank - 1]];
  return total;
}

const mean = (xs: readonly number[]) => xs.reduce((sum, x) => sum + x, 0) / xs.length;

export const rewardHackingExperiment: Experiment = {
  name: 'reward-hacking',
  description: 'best-of-n against a learned proxy reward model: the proxy rises with KL while the gold rule it was trained from peaks and falls (Gao et al. 2022)',
  params: [
    { name: 'ns', description: 'best-of-n values (n ≤ samples)', default: '1,2,4,8,16,32,64,128,256,512', quick: '1,4,16,64,256' },
    { name: 'samples', description: 'reference samples N per group', default: 512, quick: 256 },
    { name: 'groups', description: 'groups G (independent draws of N samples)', default: 24, quick: 12 },
    { name: 'letters', description: 'alphabet size (a, b, c, …)', default: 8 },
    { name: 'length', description: 'completion length L', default: 8 },
    { name: 'cap', description: "gold rule: a's that still help", default: 3 },
    { name: 'penalty', description: "gold rule: cost of each a beyond the cap", default: 2 },
    { name: 'pairs', description: 'preference pairs the proxy is trained on', default: 2000, quick: 1000 },
    { name: 'rm-steps', description: 'reward-model training steps', default: 300, quick: 150 },
  ],
  run(params, { seed, onProgress }): ExperimentResult {
    const ns = numberListParam(params, 'ns');
    const N = numberParam(params, 'samples');
    const groups = numberParam(params, 'groups');
    const length = numberParam(params, 'length');
    const cap = numberParam(params, 'cap');
    const penalty = numberParam(params, 'penalty');
    const letterCount = numberParam(params, 'letters');
    if (!(letterCount >= 2 && letterCount <= LETTERS.length)) throw new QkvValueError(`lab reward-hacking: --letters must be in [2, ${LETTERS.length}], got ${letterCount}`);
    if (ns.some((n) => n > N)) throw new QkvValueError(`lab reward-hacking: every n in --ns must be ≤ --samples ${N}, got ${ns.join(',')}`);
    const letters = [...LETTERS.slice(0, letterCount)];
    const tokenizer = charTokenizerFromAlphabet([...letters, PROMPT], { specialTokens: ['<|endoftext|>'] });
    const block = length + 2;
    const gold = (completion: string) => goldReward(completion, cap, penalty);
    const aCount = (completion: string) => [...completion].filter((ch) => ch === 'a').length;
    const rng = new Rng(seed + 1);
    // π_ref: an untrained GPT, close to uniform over the letters.
    const reference = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 16, n_head: 2, n_positions: block }, { rng: new Rng(seed) }).eval();

    // The preference data: pairs of reference samples, ranked by the labeller's rule of thumb
    // ("more a's is better", which agrees with gold up to the cap) for the proxy, and by the gold
    // rule itself for the control; ties dropped.
    const pairCount = numberParam(params, 'pairs');
    const pool = sampleLetters(reference, tokenizer, letters, 2 * pairCount + 400, length, rng);
    const trainProxy = (label: (completion: string) => number, offset: number): { model: RewardModel; accuracy: number } => {
      const pairs: Array<{ prompt: string; chosen: string; rejected: string }> = [];
      for (let i = 0; i + 1 < pool.length; i += 2) {
        const [x, y] = [pool[i], pool[i + 1]];
        if (label(x) !== label(y)) pairs.push(label(x) > label(y) ? { prompt: PROMPT, chosen: x, rejected: y } : { prompt: PROMPT, chosen: y, rejected: x });
      }
      const heldOut = pairs.splice(Math.max(1, pairs.length - 100));
      const model = new RewardModel(new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 32, n_head: 2, n_positions: block }, { rng: new Rng(seed + offset) }), new Rng(seed + offset + 1));
      const log = trainRewardModel(model, tokenizer, pairs, heldOut, { steps: numberParam(params, 'rm-steps'), batchSize: 32, learningRate: 3e-3, blockSize: block, evalInterval: 1e9, seed: seed + offset + 2 });
      return { model, accuracy: log.at(-1)!.eval_accuracy ?? NaN };
    };
    const proxyRun = trainProxy(aCount, 10);
    const proxy = proxyRun.model;
    const control = trainProxy(gold, 20).model;
    onProgress(1, groups + 1, { stage: 'reward models' });

    // Best-of-n: per group, N samples scored once by both rewards.
    const perN = ns.map(() => ({ proxy: [] as number[], gold: [] as number[], aCount: [] as number[], controlGold: [] as number[] }));
    const allProxy: number[] = [];
    const allGold: number[] = [];
    for (let g = 0; g < groups; g++) {
      const completions = sampleLetters(reference, tokenizer, letters, N, length, rng);
      const proxyScores = proxy.scoreCompletions(tokenizer, completions.map((completion) => ({ prompt: PROMPT, completion })), block);
      const goldScores = completions.map(gold);
      const controlScores = control.scoreCompletions(tokenizer, completions.map((completion) => ({ prompt: PROMPT, completion })), block);
      const aCounts = completions.map(aCount);
      allProxy.push(...proxyScores);
      allGold.push(...goldScores);
      ns.forEach((n, k) => {
        perN[k].proxy.push(bestOfNExpectation(proxyScores, proxyScores, n));
        perN[k].gold.push(bestOfNExpectation(proxyScores, goldScores, n));
        perN[k].aCount.push(bestOfNExpectation(proxyScores, aCounts, n));
        perN[k].controlGold.push(bestOfNExpectation(controlScores, goldScores, n));
      });
      onProgress(g + 2, groups + 1, { stage: `group ${g + 1}` });
    }
    // gold ≈ α·proxy + β on the reference distribution: the proxy in gold units.
    const mp = mean(allProxy);
    const mg = mean(allGold);
    const covariance = mean(allProxy.map((p, i) => (p - mp) * (allGold[i] - mg)));
    const variance = mean(allProxy.map((p) => (p - mp) ** 2));
    const alpha = variance > 0 ? covariance / variance : 0;
    const toGold = (p: number) => mg + alpha * (p - mp);

    const rows: ExperimentResult['rows'] = ns.map((n, k) => {
      const calibrated = toGold(mean(perN[k].proxy));
      const goldMean = mean(perN[k].gold);
      return [n, Math.log(n) - (n - 1) / n, mean(perN[k].proxy), calibrated, goldMean, calibrated - goldMean, mean(perN[k].aCount), mean(perN[k].controlGold)];
    });
    const peak = rows.reduce((best, row) => ((row[4] as number) > (best[4] as number) ? row : best), rows[0]);
    const last = rows[rows.length - 1];
    return {
      columns: ['best of n', 'KL bound (nats)', 'proxy reward', 'proxy in gold units', 'gold reward', 'gap (proxy − gold)', "a's in the pick", 'gold, picking by a gold-labelled RM'],
      rows,
      plot: {
        title: 'best-of-n against a proxy reward model: proxy vs gold', xLabel: 'KL(best-of-n ‖ reference), nats', yLabel: 'reward (gold units)', kind: 'line',
        series: [
          { name: 'proxy (calibrated to gold)', points: rows.map((row) => [row[1] as number, row[3] as number]) },
          { name: 'gold of the proxy pick', points: rows.map((row) => [row[1] as number, row[4] as number]) },
          { name: 'gold of a gold-labelled RM pick', points: rows.map((row) => [row[1] as number, row[7] as number]) },
        ],
      },
      findings: [
        `The proxy ranks ${(proxyRun.accuracy * 100).toFixed(0)}% of its held-out preference pairs right, yet optimising it overshoots: gold peaks at ${(peak[4] as number).toFixed(2)} at n = ${peak[0]} (KL ${(peak[1] as number).toFixed(2)}) and is ${(last[4] as number).toFixed(2)} at n = ${last[0]} (KL ${(last[1] as number).toFixed(2)}), while the proxy keeps rising.`,
        `The gap between the calibrated proxy and gold grows from ${(rows[0][5] as number).toFixed(2)} to ${(last[5] as number).toFixed(2)}: the picks carry ${(last[6] as number).toFixed(1)} a's, past the gold rule's cap of ${cap}. A reward model trained on the gold labels themselves, with as few examples past the cap, over-optimises too: its picks' gold peaks at ${Math.max(...rows.map((row) => row[7] as number)).toFixed(2)} and is ${(last[7] as number).toFixed(2)} at n = ${last[0]}.`,
      ],
    };
  },
};
