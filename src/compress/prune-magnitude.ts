/**
 * Unstructured magnitude pruning (Han et al. 2015): the weights of smallest |w| are set to zero,
 * to a target sparsity, over the weight matrices of every Linear / Conv1D (not embeddings,
 * norms or biases: they are few, and the tied GPT-2 embedding is also the LM head).
 *
 *   global     one threshold over all the matrices: layers whose weights are small lose more
 *   per-layer  each matrix loses the same fraction
 *
 * Exactly round(sparsity · n) weights are zeroed (ties in |w| are broken by position), so the
 * sparsity reached is the one asked for. The masks are returned so a fine-tune can keep the
 * pruned weights at zero (`applyMasks` after each optimiser step; see `fineTunePruned`).
 *
 * @example
 * const { masks, sparsity } = magnitudePrune(model, { sparsity: 0.5, scope: 'global' });
 */
import { QkvValueError } from '../tensor/errors.ts';
import { Conv1D } from '../nn/conv1d.ts';
import { Linear } from '../nn/linear.ts';
import type { Module } from '../nn/module.ts';
import type { Parameter } from '../nn/parameter.ts';
import type { CausalLM } from '../models/causal-lm.ts';
import { trainLanguageModel, TRAIN_DEFAULTS, type BatchSource, type MetricsRecord, type TrainConfig, type TrainSummary } from '../train/trainer.ts';

export type PruneScope = 'global' | 'per-layer';

export interface MagnitudePruneOptions {
  /** Fraction of the weights to zero, in [0, 1). */
  sparsity: number;
  /** One threshold for all matrices ('global', default) or the same fraction in each ('per-layer'). */
  scope?: PruneScope;
}

export interface PruneResult {
  /** Weight name (`transformer.h.0.mlp.c_fc.weight`) → 1 kept / 0 pruned, in the weight's storage order. */
  masks: Map<string, Uint8Array>;
  /** Zeros / weights over the pruned matrices. */
  sparsity: number;
  /** Per matrix. */
  layerSparsity: Record<string, number>;
}

/** The weight matrices magnitude pruning acts on, by parameter name. */
export function prunableWeights(model: Module): Map<string, Parameter> {
  const out = new Map<string, Parameter>();
  for (const [name, module] of model.namedModules()) {
    if (module instanceof Linear || module instanceof Conv1D) out.set(`${name}.weight`, module.weight);
  }
  return out;
}

/** Indices of the k smallest |values| (ties: lower index first). */
function smallestMagnitudes(values: ArrayLike<number>, k: number): Uint32Array {
  const order = Uint32Array.from({ length: values.length }, (_, i) => i);
  order.sort((a, b) => Math.abs(values[a]) - Math.abs(values[b]) || a - b);
  return order.subarray(0, k);
}

/** Zeros the masked weights (after an optimiser step, to keep pruned weights pruned). */
export function applyMasks(model: Module, masks: Map<string, Uint8Array>): void {
  const weights = prunableWeights(model);
  for (const [name, mask] of masks) {
    const weight = weights.get(name);
    if (weight === undefined) throw new QkvValueError(`applyMasks: the model has no weight "${name}"`);
    const data = weight.data;
    for (let i = 0; i < mask.length; i++) if (mask[i] === 0) data[i] = 0;
  }
}

/** Fraction of exact zeros over the prunable weights. */
export function measuredSparsity(model: Module): number {
  let zeros = 0;
  let total = 0;
  for (const weight of prunableWeights(model).values()) {
    const data = weight.contiguousData();
    for (let i = 0; i < data.length; i++) if (data[i] === 0) zeros++;
    total += data.length;
  }
  return total === 0 ? 0 : zeros / total;
}

/** Prunes the model in place (see the file comment). */
export function magnitudePrune(model: CausalLM, options: MagnitudePruneOptions): PruneResult {
  const { sparsity } = options;
  const scope = options.scope ?? 'global';
  if (!(sparsity >= 0 && sparsity < 1)) throw new QkvValueError(`magnitudePrune: sparsity must be in [0, 1), got ${sparsity}`);
  if (scope !== 'global' && scope !== 'per-layer') throw new QkvValueError(`magnitudePrune: scope must be "global" or "per-layer", got ${JSON.stringify(scope)}`);
  const weights = prunableWeights(model);
  if (weights.size === 0) throw new QkvValueError('magnitudePrune: the model has no Linear or Conv1D weights');
  const masks = new Map<string, Uint8Array>();
  for (const [name, weight] of weights) masks.set(name, new Uint8Array(weight.size).fill(1));
  if (scope === 'per-layer') {
    for (const [name, weight] of weights) {
      const mask = masks.get(name)!;
      for (const index of smallestMagnitudes(weight.data, Math.round(sparsity * weight.size))) mask[index] = 0;
    }
  } else {
    // one ranking over all matrices: concatenate, rank, map back
    const names = [...weights.keys()];
    const starts: number[] = [];
    let total = 0;
    for (const weight of weights.values()) {
      starts.push(total);
      total += weight.size;
    }
    const all = new Float32Array(total);
    names.forEach((name, i) => all.set(weights.get(name)!.data, starts[i]));
    for (const index of smallestMagnitudes(all, Math.round(sparsity * total))) {
      let layer = names.length - 1;
      while (starts[layer] > index) layer--;
      masks.get(names[layer])![index - starts[layer]] = 0;
    }
  }
  applyMasks(model, masks);
  const layerSparsity: Record<string, number> = {};
  let zeros = 0;
  let count = 0;
  for (const [name, mask] of masks) {
    let pruned = 0;
    for (let i = 0; i < mask.length; i++) pruned += 1 - mask[i];
    layerSparsity[name] = pruned / mask.length;
    zeros += pruned;
    count += mask.length;
  }
  return { masks, sparsity: zeros / count, layerSparsity };
}

/**
 * Fine-tunes a pruned model with the trainer, putting the masks back after every optimiser step
 * so the pruned weights stay zero (the sparsity is unchanged at the end).
 *
 * @example await fineTunePruned(model, masks, dataset, { steps: 50, learningRate: 1e-3 });
 */
export async function fineTunePruned(
  model: CausalLM,
  masks: Map<string, Uint8Array>,
  dataset: BatchSource,
  config: Partial<TrainConfig> = {},
  onStep?: (record: MetricsRecord) => void,
): Promise<TrainSummary> {
  const full: TrainConfig = { ...TRAIN_DEFAULTS, warmupSteps: 0, evalInterval: config.steps ?? 100, ...config };
  full.blockSize = Math.min(full.blockSize, model.contextLength);
  return trainLanguageModel({
    model,
    dataset,
    config: full,
    outDir: null,
    saveModel: () => {},
    hooks: {
      onStep: (record) => {
        applyMasks(model, masks);
        onStep?.(record);
      },
    },
  });
}
