/**
 * `qkv lab lora-rank`: what LoRA's rank buys (src/adapt).
 *
 * A tiny GPT is pre-trained on one order task (predict the previous token), then adapted to
 * another (predict the token `lag` places back) either by full fine-tuning or by LoRA
 * (`applyLora` on c_attn, c_proj and c_fc; α = 2r; base weights frozen) at each rank, all from
 * the same base weights, on the same batches. Reported: trainable parameters, their share of
 * the model, and accuracy on the new task (and the base model's, before adaptation).
 *
 * Legend: B = batch, T = sequence length, V = vocabulary.
 */
import { applyLora } from '../../adapt/lora.ts';
import { GPT } from '../../models/gpt.ts';
import { Adam } from '../../optim/adam.ts';
import { Rng } from '../../tensor/random.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { numberListParam, numberParam, type Experiment, type ExperimentResult } from '../experiment.ts';
import { lagAccuracy, lagBatch } from './positions.ts';

interface LagTraining {
  vocab: number;
  length: number;
  batch: number;
  lr: number;
}

function trainOnLag(model: GPT, parameters: Tensor[], lag: number, steps: number, options: LagTraining, rng: Rng): void {
  const optimizer = new Adam(parameters, { lr: options.lr });
  model.train();
  for (let step = 0; step < steps; step++) {
    const batch = lagBatch(options.batch, options.length, options.vocab, lag, rng);
    const { loss } = model.forward(batch.ids, { targets: batch.targets });
    optimizer.zeroGrad();
    loss!.backward();
    optimizer.step();
  }
  model.eval();
}

export const loraRankExperiment: Experiment = {
  name: 'lora-rank',
  description: 'LoRA rank vs full fine-tuning when adapting a tiny GPT to a new order task: trainable parameters and accuracy',
  params: [
    { name: 'ranks', description: 'LoRA ranks', default: '1,2,4,8,16', quick: '1,8' },
    { name: 'lag', description: 'the new task: predict the token this many places back', default: 3 },
    { name: 'length', description: 'sequence length T', default: 16, quick: 12 },
    { name: 'vocab', description: 'vocabulary V', default: 16 },
    { name: 'embd', description: 'n_embd', default: 32 },
    { name: 'layers', description: 'n_layer', default: 2, quick: 1 },
    { name: 'base-steps', description: 'pre-training steps (previous-token task)', default: 300, quick: 150 },
    { name: 'steps', description: 'adaptation steps', default: 300, quick: 150 },
    { name: 'batch', description: 'sequences per step', default: 16 },
    { name: 'lr', description: 'Adam learning rate (0.01 makes LoRA unstable here)', default: 0.003 },
  ],
  run(params, { seed, onProgress }): ExperimentResult {
    const options: LagTraining = { vocab: numberParam(params, 'vocab'), length: numberParam(params, 'length'), batch: numberParam(params, 'batch'), lr: numberParam(params, 'lr') };
    const lag = numberParam(params, 'lag');
    const ranks = numberListParam(params, 'ranks');
    const config = { vocab_size: options.vocab, n_positions: options.length, n_embd: numberParam(params, 'embd'), n_layer: numberParam(params, 'layers'), n_head: 2, embd_pdrop: 0, attn_pdrop: 0, resid_pdrop: 0 };
    const base = new GPT(config, { rng: new Rng(seed) });
    trainOnLag(base, base.parameters(), 1, numberParam(params, 'base-steps'), options, new Rng(seed + 1));
    const baseState = base.stateDict();
    const heldOut = lagBatch(128, options.length, options.vocab, lag, new Rng(seed + 2));
    const totalParameters = base.parameters().reduce((sum, p) => sum + p.size, 0);
    const rows: ExperimentResult['rows'] = [['base (no adaptation)', 0, 0, lagAccuracy(base, heldOut)]];
    const steps = numberParam(params, 'steps');
    const variants: Array<number | 'full'> = [...ranks, 'full'];
    variants.forEach((variant, index) => {
      const model = new GPT(config, { rng: new Rng(seed) });
      model.loadStateDict(baseState);
      let trainable: Tensor[];
      if (variant === 'full') {
        trainable = model.parameters();
      } else {
        applyLora(model, { r: variant, lora_alpha: 2 * variant, lora_dropout: 0, target_modules: ['c_attn', 'c_proj', 'c_fc'] }, { rng: new Rng(seed + 3) });
        trainable = model.parameters().filter((p) => p.requiresGrad);
      }
      trainOnLag(model, trainable, lag, steps, options, new Rng(seed + 4));
      const count = trainable.reduce((sum, p) => sum + p.size, 0);
      rows.push([variant === 'full' ? 'full fine-tuning' : `LoRA r=${variant}`, count, count / totalParameters, lagAccuracy(model, heldOut)]);
      onProgress(index + 1, variants.length, { variant: String(variant) });
    });
    return {
      columns: ['adaptation', 'trainable parameters', 'share of the model', `accuracy (token ${lag} back)`],
      rows,
      plot: {
        title: `accuracy on the new task (token ${lag} back) vs trainable parameters`, xLabel: 'adaptation', yLabel: 'accuracy', kind: 'bar', categories: rows.map((r) => String(r[0]).replace('LoRA ', '').replace(' (no adaptation)', '').replace(' fine-tuning', '')),
        series: [{ name: 'accuracy', points: rows.map((r, i) => [i, r[3] as number]) }],
      },
      findings: [rows.map((r) => `${r[0]}: ${(r[3] as number).toFixed(3)} with ${r[1]} trainable`).join('; ') + '.'],
    };
  },
};
