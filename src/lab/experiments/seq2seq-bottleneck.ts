/**
 * `qkv lab seq2seq-bottleneck`: why attention replaced the fixed context vector.
 *
 * `RnnSeq2Seq` (GRU encoder-decoder) learns to copy a random token sequence, once with
 * `attention: 'none'` (the encoder's last state is the only thing the decoder gets: the whole
 * source squeezed into H numbers) and once with `attention: 'additive'` (Bahdanau: each step
 * attends over all encoder states), on the same batches, for growing source lengths.
 * Reported: held-out per-token accuracy under teacher forcing and whole-sequence exact match.
 *
 * Legend: B = batch, S = source length, V = vocabulary, H = hidden size.
 */
import { RnnSeq2Seq, type RnnAttentionKind } from '../../models/rnn-seq2seq.ts';
import { Adam } from '../../optim/adam.ts';
import { noGrad } from '../../tensor/autograd.ts';
import { Rng } from '../../tensor/random.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { numberListParam, numberParam, type Experiment, type ExperimentResult, type Series } from '../experiment.ts';

const PAD = 0;
const BOS = 1;
const EOS = 2;
const FIRST_TOKEN = 3;

/** source (B, S) random tokens; labels (B, S + 1) = the source then EOS. */
export function copyBatch(batch: number, length: number, vocab: number, rng: Rng): { source: Tensor; labels: Tensor } {
  const source = Tensor.zeros([batch, length]);
  const labels = Tensor.zeros([batch, length + 1]);
  for (let b = 0; b < batch; b++) {
    for (let s = 0; s < length; s++) {
      const token = FIRST_TOKEN + rng.randint(vocab - FIRST_TOKEN);
      source.data[b * length + s] = token;
      labels.data[b * (length + 1) + s] = token;
    }
    labels.data[b * (length + 1) + length] = EOS;
  }
  return { source, labels };
}

export interface BottleneckRun {
  attention: RnnAttentionKind;
  length: number;
  tokenAccuracy: number;
  exactMatch: number;
}

export function trainCopy(attention: RnnAttentionKind, length: number, options: { vocab: number; hidden: number; batch: number; steps: number; lr: number; seed: number }): BottleneckRun {
  const model = new RnnSeq2Seq(
    { vocab_size: options.vocab, embedding_size: options.hidden, hidden_size: options.hidden, attention, pad_token_id: PAD, bos_token_id: BOS, eos_token_id: EOS, decoder_start_token_id: BOS },
    { rng: new Rng(options.seed) },
  );
  const optimizer = new Adam(model.parameters(), { lr: options.lr });
  const data = new Rng(options.seed + 1);
  for (let step = 0; step < options.steps; step++) {
    const { source, labels } = copyBatch(options.batch, length, options.vocab, data);
    const { loss } = model.forward(source, { targets: labels });
    optimizer.zeroGrad();
    loss!.backward();
    optimizer.step();
  }
  model.eval();
  const held = copyBatch(128, length, options.vocab, new Rng(options.seed + 2));
  return noGrad(() => {
    const logits = model.forward(held.source, { targets: held.labels }).logits.contiguousData(); // (B, S + 1, V)
    const T = length + 1;
    let correct = 0;
    let exact = 0;
    for (let b = 0; b < 128; b++) {
      let all = true;
      for (let t = 0; t < T; t++) {
        const row = (b * T + t) * options.vocab;
        let best = 0;
        for (let v = 1; v < options.vocab; v++) if (logits[row + v] > logits[row + best]) best = v;
        if (best === held.labels.data[b * T + t]) correct++;
        else all = false;
      }
      if (all) exact++;
    }
    return { attention, length, tokenAccuracy: correct / (128 * T), exactMatch: exact / 128 };
  });
}

export const seq2seqBottleneckExperiment: Experiment = {
  name: 'seq2seq-bottleneck',
  description: 'GRU seq2seq copying longer and longer inputs: one fixed context vector vs additive attention over the encoder states',
  params: [
    { name: 'lengths', description: 'source lengths', default: '4,8,12,16', quick: '4,10' },
    { name: 'vocab', description: 'vocabulary (3 special tokens included)', default: 16 },
    { name: 'hidden', description: 'embedding and GRU width H', default: 32, quick: 24 },
    { name: 'steps', description: 'training steps per run', default: 200, quick: 80 },
    { name: 'batch', description: 'sequences per step', default: 16 },
    { name: 'lr', description: 'Adam learning rate', default: 0.01 },
  ],
  run(params, { seed, onProgress }): ExperimentResult {
    const lengths = numberListParam(params, 'lengths');
    const options = { vocab: numberParam(params, 'vocab'), hidden: numberParam(params, 'hidden'), batch: numberParam(params, 'batch'), steps: numberParam(params, 'steps'), lr: numberParam(params, 'lr'), seed };
    const runs: BottleneckRun[] = [];
    let done = 0;
    for (const length of lengths) {
      for (const attention of ['none', 'additive'] as const) {
        runs.push(trainCopy(attention, length, options));
        onProgress(++done, lengths.length * 2, { length });
      }
    }
    const series: Series[] = (['none', 'additive'] as const).map((attention) => ({
      name: attention === 'none' ? 'fixed context vector' : 'additive attention',
      points: runs.filter((r) => r.attention === attention).map((r) => [r.length, r.tokenAccuracy]),
    }));
    const longest = lengths.at(-1)!;
    const at = (attention: RnnAttentionKind) => runs.find((r) => r.attention === attention && r.length === longest)!;
    return {
      columns: ['source length', 'decoder context', 'token accuracy', 'exact match'],
      rows: runs.map((r) => [r.length, r.attention === 'none' ? 'fixed vector' : 'additive attention', r.tokenAccuracy, r.exactMatch]),
      plot: { title: `copy task, H = ${options.hidden}: held-out token accuracy`, xLabel: 'source length', yLabel: 'token accuracy', kind: 'line', series },
      findings: [`At source length ${longest}: fixed vector ${at('none').tokenAccuracy.toFixed(3)}, attention ${at('additive').tokenAccuracy.toFixed(3)} token accuracy.`],
    };
  },
};
