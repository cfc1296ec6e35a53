/**
 * The associative-recall task several attention experiments share: a sequence of n slots,
 * each a (key, value) pair embedded as E_key[k] + E_value[v], and one query key (or, with
 * `queries: 2`, two query keys whose values must both be returned). The model must attend
 * to the slot whose key matches and read its value: one layer of attention, then a linear
 * read-out per query. Order plays no part, so no positions are needed.
 *
 * Legend: B = batch, S = slots, C = width, K = keys, V = values, Q = queries (1 or 2).
 */
import { Embedding } from '../../nn/embedding.ts';
import { Linear } from '../../nn/linear.ts';
import { Module } from '../../nn/module.ts';
import { ModuleList } from '../../nn/module-list.ts';
import { Adam } from '../../optim/adam.ts';
import { noGrad } from '../../tensor/autograd.ts';
import { crossEntropy } from '../../tensor/ops/loss.ts';
import { concat } from '../../tensor/ops/shape.ts';
import { Rng } from '../../tensor/random.ts';
import { Tensor } from '../../tensor/tensor.ts';

export interface RecallTask {
  keys: number;
  values: number;
  slots: number;
  /** How many keys each example asks for at once (1 or 2). */
  queries: number;
  /**
   * 'identity' (default): the query key names the slot to read. 'successor' (one query only):
   * the query key a asks for the slot whose key is a + 1 (mod K), and a slot with key a itself
   * is always present as a distractor.
   */
  relation?: 'identity' | 'successor';
}

export interface RecallBatch {
  slotKeys: Int32Array;
  slotValues: Int32Array;
  /** (B·Q) query keys, example-major. */
  queryKeys: Int32Array;
  /** (B·Q) the values to return. */
  targets: Int32Array;
  batch: number;
}

/** Distinct keys per example (so the answer is unique), random values. */
export function recallBatch(task: RecallTask, batch: number, rng: Rng): RecallBatch {
  const { slots, queries } = task;
  const slotKeys = new Int32Array(batch * slots);
  const slotValues = new Int32Array(batch * slots);
  const queryKeys = new Int32Array(batch * queries);
  const targets = new Int32Array(batch * queries);
  for (let b = 0; b < batch; b++) {
    const order = rng.permutation(task.keys);
    for (let s = 0; s < slots; s++) {
      slotKeys[b * slots + s] = order[s];
      slotValues[b * slots + s] = rng.randint(task.values);
    }
    const asked = rng.permutation(slots);
    if (task.relation === 'successor') {
      const answerKey = slotKeys[b * slots + asked[0]];
      const queryKey = (answerKey + task.keys - 1) % task.keys;
      // Make sure the query's own key is among the slots (the distractor a shared W cannot resist).
      const row = slotKeys.subarray(b * slots, (b + 1) * slots);
      if (!row.includes(queryKey)) row[asked[1]] = queryKey;
      queryKeys[b] = queryKey;
      targets[b] = slotValues[b * slots + asked[0]];
      continue;
    }
    for (let q = 0; q < queries; q++) {
      queryKeys[b * queries + q] = slotKeys[b * slots + asked[q]];
      targets[b * queries + q] = slotValues[b * slots + asked[q]];
    }
  }
  return { slotKeys, slotValues, queryKeys, targets, batch };
}

/** slots (B, S, C) and the query (B, 1, C) → what the attention read, (B, 1, C). */
export type AttentionReader = Module & { read(query: Tensor, slots: Tensor): Tensor };

export class RecallModel extends Module {
  key_embed: Embedding;
  value_embed: Embedding;
  /**
   * The second asked key is embedded with its own table, so the query says which key is asked
   * first (a shared table plus a role vector would make E[a] + E[b] symmetric in a and b).
   */
  second_key_embed: Embedding | null;
  attention: AttentionReader;
  readouts: ModuleList<Linear>;
  readonly task: RecallTask;
  constructor(task: RecallTask, width: number, attention: AttentionReader, rng: Rng) {
    super();
    this.task = task;
    this.key_embed = new Embedding(task.keys, width, { rng });
    this.value_embed = new Embedding(task.values, width, { rng });
    this.second_key_embed = task.queries > 1 ? new Embedding(task.keys, width, { rng }) : null;
    this.attention = attention;
    this.readouts = new ModuleList(Array.from({ length: task.queries }, () => new Linear(width, task.values, { rng })));
  }

  /** → logits (B·Q, V), example-major. */
  forward(batch: RecallBatch): Tensor {
    const { slots, queries } = this.task;
    const B = batch.batch;
    const slotStates = this.key_embed.forward(batch.slotKeys).add(this.value_embed.forward(batch.slotValues)).reshape([B, slots, -1]); // (B, S, C)
    const first = Array.from({ length: B }, (_, b) => batch.queryKeys[b * queries]);
    let summed = this.key_embed.forward(first).reshape([B, 1, -1]); // (B, 1, C)
    if (this.second_key_embed !== null) {
      const second = Array.from({ length: B }, (_, b) => batch.queryKeys[b * queries + 1]);
      summed = summed.add(this.second_key_embed.forward(second).reshape([B, 1, -1])); // both asks in one query vector
    }
    const read = this.attention.read(summed, slotStates); // (B, 1, C)
    const logits = [...this.readouts].map((readout) => readout.forward(read)); // Q × (B, 1, V)
    const joined = logits.length === 1 ? logits[0] : concat(logits, 1); // (B, Q, V): example-major, as the targets
    return joined.reshape([B * queries, -1]);
  }
}

export interface RecallRun {
  losses: number[];
  accuracy: number;
  /** Median milliseconds per training step (forward + backward + update). */
  stepMs: number;
  parameters: number;
}

export function trainRecall(model: RecallModel, options: { steps: number; batch: number; lr: number; seed: number }): RecallRun {
  const optimizer = new Adam(model.parameters(), { lr: options.lr });
  const data = new Rng(options.seed + 1);
  const losses: number[] = [];
  const times: number[] = [];
  for (let step = 0; step < options.steps; step++) {
    const batch = recallBatch(model.task, options.batch, data);
    const started = performance.now();
    const loss = crossEntropy(model.forward(batch), batch.targets);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    times.push(performance.now() - started);
    losses.push(loss.item());
  }
  const held = recallBatch(model.task, 256, new Rng(options.seed + 2));
  const accuracy = noGrad(() => {
    const logits = model.forward(held).contiguousData();
    const V = model.task.values;
    let correct = 0;
    held.targets.forEach((target, row) => {
      let best = 0;
      for (let v = 1; v < V; v++) if (logits[row * V + v] > logits[row * V + best]) best = v;
      if (best === target) correct++;
    });
    return correct / held.targets.length;
  });
  times.sort((a, b) => a - b);
  const parameters = model.attention.parameters().reduce((total, p) => total + p.size, 0);
  return { losses, accuracy, stepMs: times[Math.floor(times.length / 2)], parameters };
}

export function tailMean(values: number[]): number {
  const part = values.slice(-Math.max(1, Math.floor(values.length / 10)));
  return part.reduce((a, b) => a + b, 0) / part.length;
}
