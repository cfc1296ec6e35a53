/**
 * Attention-head pruning for GPT-2 (Michel et al. 2019, "Are Sixteen Heads Really Better than
 * One?"): score each head by how much the loss rises when it is switched off (`headImportance`)
 * or by the gradient of the loss with respect to a head mask (`headImportanceGradient`, the
 * paper's I_h = E |∂L/∂ξ_h|: one backward per batch instead of one forward per head), remove the least
 * important heads from the weights for real, and record them as Hugging Face does
 * (`config.pruned_heads`, layer → heads), so transformers' GPT-2 prunes the same heads on load.
 *
 * Legend: B = batch, T = time, C = channels, NH = heads left in the layer, hs = head size
 * (n_embd / n_head, unchanged by pruning).
 *
 *   c_attn (C, 3·C) → (C, 3·NH·hs): the q, k and v columns of the removed heads go
 *   c_proj (C, C)   → (NH·hs, C):   the rows that read the removed heads' outputs go
 *
 * @example
 * const scores = headImportance(model, batches);           // scores[layer][head]
 * const plan = leastImportantHeads(scores, 4);             // { 0: [2], 3: [0, 1, 3] }
 * pruneHeads(model, plan);
 */
import { enableGrad, noGrad } from '../tensor/autograd.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { defaultRng } from '../tensor/random.ts';
import { Tensor } from '../tensor/tensor.ts';
import { Conv1D } from '../nn/conv1d.ts';
import { Dropout } from '../nn/dropout.ts';
import { Module } from '../nn/module.ts';
import { attendHeads, type LayerCache } from '../nn/multi-head-attention.ts';
import { GPT, GPT_ROPE_THETA, type GPTConfig } from '../models/gpt.ts';
import type { Batch } from '../train/data.ts';

/** Layer index → heads removed from it (HF's `pruned_heads`). */
export type PrunedHeads = Record<number, number[]>;

/** GPT-2 attention with some heads removed: same forward as `CausalSelfAttention`, NH kept heads. */
export class PrunedSelfAttention extends Module {
  readonly c_attn: Conv1D;
  readonly c_proj: Conv1D;
  readonly attn_dropout: Dropout;
  readonly resid_dropout: Dropout;
  /** The original indices of the heads kept. */
  readonly keptHeads: number[];
  attentionWeights: Tensor | null = null;

  constructor(readonly config: GPTConfig, keptHeads: number[]) {
    super();
    if (keptHeads.length === 0) throw new QkvValueError('PrunedSelfAttention: a layer must keep at least one head');
    if (config.position === 'alibi' || config.position === 'relative') {
      throw new QkvValueError(`PrunedSelfAttention: head pruning with position "${config.position}" (a per-head score bias) is not supported`);
    }
    const C = config.n_embd;
    const width = keptHeads.length * (C / config.n_head);
    this.keptHeads = [...keptHeads];
    this.c_attn = new Conv1D(C, 3 * width);
    this.c_proj = new Conv1D(width, C);
    this.attn_dropout = new Dropout(config.attn_pdrop);
    this.resid_dropout = new Dropout(config.resid_pdrop);
  }

  override extraRepr(): string {
    return `heads=[${this.keptHeads.join(', ')}] of ${this.config.n_head}`;
  }

  /** x (B, T, C) → (B, T, C), as CausalSelfAttention.forward. */
  forward(x: Tensor, cache?: LayerCache, returnWeights = false, attentionBias: Tensor | null = null): Tensor {
    if (attentionBias !== null) throw new QkvValueError('PrunedSelfAttention: per-head score biases are not supported');
    const [B, T] = x.shape;
    const NH = this.keptHeads.length;
    const hs = this.config.n_embd / this.config.n_head;
    const qkv = this.c_attn.forward(x); // (B, T, 3·NH·hs)
    const [q, k, v] = qkv.split(NH * hs, 2).map((part) => part.reshape([B, T, NH, hs]).transpose(1, 2)); // 3 × (B, NH, T, hs)
    const { output, weights } = attendHeads(q, k, v, {
      causal: true,
      cache,
      rotaryTheta: this.config.position === 'rope' ? GPT_ROPE_THETA : null,
      dropout: { p: this.config.attn_pdrop, training: this.training, rng: defaultRng },
      returnWeights,
    });
    this.attentionWeights = weights ?? null;
    const merged = output.transpose(1, 2).reshape([B, T, NH * hs]); // (B, T, NH·hs)
    return this.resid_dropout.forward(this.c_proj.forward(merged));
  }
}

/** The heads a layer still has (original indices), whichever attention module it holds. */
export function headsOf(model: GPT, layer: number): number[] {
  const attention = model.transformer.h[layer].attn as unknown as Module;
  return attention instanceof PrunedSelfAttention ? attention.keptHeads : Array.from({ length: model.config.n_head }, (_, h) => h);
}

/** Mean loss over the batches, without gradients. */
function meanLoss(model: GPT, batches: readonly Batch[]): number {
  return noGrad(() => batches.reduce((sum, batch) => sum + model.forward(batch.ids, { targets: batch.targets }).loss!.item(), 0) / batches.length);
}

/**
 * Importance of each head: the loss with the head's output switched off (its c_proj rows set to
 * zero) minus the loss with every head on, over `batches`. scores[layer][head]; removed heads NaN.
 */
export function headImportance(model: GPT, batches: readonly Batch[]): number[][] {
  if (batches.length === 0) throw new QkvValueError('headImportance: needs at least one batch');
  model.eval();
  const base = meanLoss(model, batches);
  const hs = model.config.n_embd / model.config.n_head;
  return model.transformer.h.map((block, layer) => {
    const kept = headsOf(model, layer);
    const projection = (block.attn as unknown as { c_proj: Conv1D }).c_proj.weight; // (NH·hs, C): rows per head
    const C = projection.shape[1];
    const scores = new Array<number>(model.config.n_head).fill(Number.NaN);
    kept.forEach((head, slot) => {
      const rows = projection.data.subarray(slot * hs * C, (slot + 1) * hs * C);
      const saved = Float32Array.from(rows);
      rows.fill(0);
      try {
        scores[head] = meanLoss(model, batches) - base;
      } finally {
        rows.set(saved);
      }
    });
    return scores;
  });
}

/**
 * ∂L/∂ξ_h at ξ = 1 for one batch, signed: scores[layer][head] (removed heads NaN). A mask ξ_h
 * on head h's output is the same as scaling head h's rows of c_proj by ξ_h, so the derivative
 * is Σ W ⊙ ∂L/∂W over those rows: one backward pass gives every head of every layer. The
 * model's gradients are cleared before and after (call it between training steps, not inside one).
 */
export function headMaskGradients(model: GPT, batch: Batch): number[][] {
  model.eval();
  const projections = model.transformer.h.map((block) => (block.attn as unknown as { c_proj: Conv1D }).c_proj.weight);
  const saved = projections.map((weight) => weight.requiresGrad);
  model.zeroGrad();
  try {
    for (const weight of projections) weight.requiresGrad = true;
    enableGrad(() => model.forward(batch.ids, { targets: batch.targets }).loss!.backward());
    const hs = model.config.n_embd / model.config.n_head;
    return projections.map((weight, layer) => {
      const w = weight.contiguousData();
      const g = weight.grad!.contiguousData();
      const C = weight.shape[1];
      const scores = new Array<number>(model.config.n_head).fill(Number.NaN);
      headsOf(model, layer).forEach((head, slot) => {
        let sum = 0;
        for (let i = slot * hs * C; i < (slot + 1) * hs * C; i++) sum += w[i] * g[i];
        scores[head] = sum;
      });
      return scores;
    });
  } finally {
    model.zeroGrad();
    projections.forEach((weight, i) => (weight.requiresGrad = saved[i]));
  }
}

/**
 * Gradient-based head importance (Michel et al. 2019): the mean over `batches` of |∂L/∂ξ_h|,
 * scores[layer][head], removed heads NaN. With `normalizeLayers` each layer's scores are divided
 * by their ℓ2 norm, as the paper does before ranking heads across layers.
 */
export function headImportanceGradient(model: GPT, batches: readonly Batch[], options: { normalizeLayers?: boolean } = {}): number[][] {
  if (batches.length === 0) throw new QkvValueError('headImportanceGradient: needs at least one batch');
  let totals: number[][] | null = null;
  for (const batch of batches) {
    const gradients = headMaskGradients(model, batch);
    totals = totals === null ? gradients.map((layer) => layer.map(Math.abs)) : totals.map((layer, l) => layer.map((v, h) => v + Math.abs(gradients[l][h])));
  }
  const means = totals!.map((layer) => layer.map((v) => v / batches.length));
  if (!options.normalizeLayers) return means;
  return means.map((layer) => {
    const norm = Math.sqrt(layer.reduce((sum, v) => (Number.isNaN(v) ? sum : sum + v * v), 0));
    return layer.map((v) => (norm > 0 ? v / norm : v));
  });
}

/** The `count` heads of lowest importance, never the last head of a layer. */
export function leastImportantHeads(scores: number[][], count: number): PrunedHeads {
  const candidates = scores.flatMap((layerScores, layer) => layerScores.map((score, head) => ({ layer, head, score }))).filter((c) => !Number.isNaN(c.score));
  candidates.sort((a, b) => a.score - b.score || a.layer - b.layer || a.head - b.head);
  const left = scores.map((layerScores) => layerScores.filter((s) => !Number.isNaN(s)).length);
  const plan: PrunedHeads = {};
  let chosen = 0;
  for (const { layer, head } of candidates) {
    if (chosen === count) break;
    if (left[layer] === 1) continue;
    (plan[layer] ??= []).push(head);
    left[layer]--;
    chosen++;
  }
  if (chosen < count) throw new QkvValueError(`leastImportantHeads: only ${chosen} heads can go (each layer keeps one), asked for ${count}`);
  for (const heads of Object.values(plan)) heads.sort((a, b) => a - b);
  return plan;
}

/** Columns [start, start + width) of a row-major (rows, cols) matrix, for several starts, side by side. */
function gatherColumns(data: Float32Array | Float64Array, rows: number, cols: number, starts: number[], width: number): Float32Array {
  const out = new Float32Array(rows * starts.length * width);
  for (let r = 0; r < rows; r++) {
    starts.forEach((start, i) => out.set(data.subarray(r * cols + start, r * cols + start + width), (r * starts.length + i) * width));
  }
  return out;
}

/**
 * Removes the listed heads (original indices) from a GPT's layers, in place; heads already gone
 * are ignored. Returns the model's `pruned_heads` afterwards (everything removed so far).
 */
export function pruneHeads(model: GPT, heads: PrunedHeads): PrunedHeads {
  const { n_embd: C, n_head } = model.config;
  const hs = C / n_head;
  for (const [layerKey, remove] of Object.entries(heads)) {
    const layer = Number(layerKey);
    if (!Number.isInteger(layer) || layer < 0 || layer >= model.config.n_layer) throw new QkvValueError(`pruneHeads: layer ${layerKey} does not exist (n_layer ${model.config.n_layer})`);
    for (const head of remove) if (!Number.isInteger(head) || head < 0 || head >= n_head) throw new QkvValueError(`pruneHeads: layer ${layer} has no head ${head} (n_head ${n_head})`);
    const before = headsOf(model, layer);
    const kept = before.filter((head) => !remove.includes(head));
    if (kept.length === before.length) continue;
    const block = model.transformer.h[layer];
    const old = block.attn as unknown as { c_attn: Conv1D; c_proj: Conv1D };
    const oldWidth = before.length * hs;
    const slots = kept.map((head) => before.indexOf(head));
    // built in float32; a float64 model keeps its dtype (else its layers would mix precisions)
    const pruned = new PrunedSelfAttention(model.config, kept).to(old.c_attn.weight.dtype);
    // c_attn columns: [q heads | k heads | v heads], each head hs wide
    const columnStarts = [0, 1, 2].flatMap((part) => slots.map((slot) => part * oldWidth + slot * hs));
    pruned.c_attn.weight.data.set(gatherColumns(old.c_attn.weight.contiguousData(), C, 3 * oldWidth, columnStarts, hs));
    pruned.c_attn.bias.data.set(gatherColumns(old.c_attn.bias.contiguousData(), 1, 3 * oldWidth, columnStarts, hs));
    // c_proj rows: one block of hs rows per head
    const projection = old.c_proj.weight.contiguousData();
    slots.forEach((slot, i) => pruned.c_proj.weight.data.set(projection.subarray(slot * hs * C, (slot + 1) * hs * C), i * hs * C));
    pruned.c_proj.bias.data.set(old.c_proj.bias.contiguousData());
    pruned.train(block.training);
    model.setSubmodule(`transformer.h.${layer}.attn`, pruned);
  }
  return prunedHeadsOf(model);
}

/** Every head removed so far, as HF's `pruned_heads`. */
export function prunedHeadsOf(model: GPT): PrunedHeads {
  const out: PrunedHeads = {};
  for (let layer = 0; layer < model.config.n_layer; layer++) {
    const kept = headsOf(model, layer);
    const removed = Array.from({ length: model.config.n_head }, (_, h) => h).filter((h) => !kept.includes(h));
    if (removed.length > 0) out[layer] = removed;
  }
  return out;
}
