/**
 * FSDP's units and what one rank does with them: gather a unit's full parameters from the
 * owners' shards, free them, and reduce-scatter a unit's full gradients into this rank's
 * gradient shard.
 *
 * Units, as PyTorch FSDP wraps a transformer: one per block (`transformer.h.N` / `model.layers.N`)
 * and the root (everything else: embeddings, final norm, a T5 bias table), which is gathered for
 * the whole step because the tied embedding is used both first (lookup) and last (LM head).
 * Each unit is sharded evenly on its own (unit-shards.ts): rank r owns the r-th 1/N of every
 * unit (its fp32 master weights and AdamW state), so every gather and reduce splits evenly.
 *
 * @example
 * const shards = new FsdpShards(params, layout, comm, [start, end], master, 'fp32');
 * const { root, blocks } = shardUnits(model, params, layout);
 * shards.gather(root); … shards.reduce(blocks[3]); shards.release(blocks[3]);
 */
import type { CausalLM } from '../../models/causal-lm.ts';
import { GPT } from '../../models/gpt.ts';
import { Llama } from '../../models/llama.ts';
import { QkvValueError } from '../../tensor/errors.ts';
import { Tensor, type Storage } from '../../tensor/tensor.ts';
import { roundToPrecision, type Precision } from '../precision.ts';
import type { SharedCollective } from './collective.ts';
import type { FlatLayout } from './flat-layout.ts';
import type { ShardedBlock } from './block-sharding.ts';
import type { UnitShard, UnitShardPlan } from './unit-shards.ts';
import type { PrefetchingGather } from './prefetch-gather.ts';

/** A set of parameters gathered and freed together, with the flat ranges they cover. */
export interface ShardUnit {
  /** Indices into the trainable parameter list (FlatLayout order). */
  params: number[];
  /** Flat [start, end) runs of those parameters, merged where contiguous. */
  ranges: [number, number][];
  /** Elements in all. */
  elements: number;
}

/** The transformer blocks whose forwards FSDP hooks, in the order the model runs them. */
export function transformerBlocks(model: CausalLM): (ShardedBlock & { parameters(): Tensor[] })[] {
  if (model instanceof GPT) return model.transformer.h;
  if (model instanceof Llama) return model.model.layers;
  throw new QkvValueError(`FSDP: ${model.constructor.name} is neither a GPT nor a Llama`);
}

function unitOf(indices: number[], layout: FlatLayout): ShardUnit {
  const sorted = [...indices].sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  for (const p of sorted) {
    const [start, end] = [layout.offsets[p], layout.offsets[p] + layout.sizes[p]];
    const last = ranges.at(-1);
    if (last !== undefined && last[1] === start) last[1] = end;
    else ranges.push([start, end]);
  }
  return { params: sorted, ranges, elements: sorted.reduce((n, p) => n + layout.sizes[p], 0) };
}

/** The root unit and one unit per block; every trainable parameter is in exactly one. */
export function shardUnits(model: CausalLM, params: readonly Tensor[], layout: FlatLayout): { root: ShardUnit; blocks: ShardUnit[] } {
  const index = new Map(params.map((param, i) => [param, i]));
  const claimed = new Set<number>();
  const blocks = transformerBlocks(model).map((block, b) => {
    const indices = block.parameters().filter((p) => p.requiresGrad).map((p) => {
      const i = index.get(p);
      if (i === undefined || claimed.has(i)) throw new QkvValueError(`FSDP: block ${b} has a parameter that is not the model's own or is shared with another block`);
      claimed.add(i);
      return i;
    });
    return unitOf(indices, layout);
  });
  const root = unitOf(params.map((_, i) => i).filter((i) => !claimed.has(i)), layout);
  return { root, blocks };
}

const EMPTY = new Float32Array(0);

/** Frees or replaces a parameter's storage (PyTorch FSDP resizes the storage to zero). */
function setStorage(param: Tensor, storage: Storage): void {
  (param as { data: Storage }).data = storage;
}

/** Every parameter's gradient as dense storage of its size (zeros for one that got none). */
export function denseGradient(param: Tensor): Float32Array {
  if (param.grad === null) param.grad = Tensor.zeros([...param.shape]);
  const grad = param.grad;
  if (!grad.isContiguous() || grad.offset !== 0 || grad.data.length !== grad.size) param.grad = grad.contiguousCopy();
  return param.grad.data as Float32Array;
}

export class FsdpShards {
  /** This step's mean gradient over ranks, for this rank's pieces only, in master order (null between steps). */
  gradShard: Float32Array | null = null;
  private readonly byUnit = new Map<ShardUnit, UnitShard>();

  constructor(
    private readonly params: readonly Tensor[],
    private readonly comm: SharedCollective,
    private readonly plan: UnitShardPlan,
    /** This rank's fp32 master weights: its piece of every unit, end to end (plan.length). */
    private readonly master: Float32Array,
    private readonly precision: Precision,
    /** Gathers through prefetch (prefetch-gather.ts) instead of the lock-step allGather. */
    private readonly prefetch: PrefetchingGather | null = null,
  ) {
    for (const shard of plan.units) this.byUnit.set(shard.unit, shard);
  }

  /** The unit plans of `units`, in that order: a step's schedule of gathers for prefetch. */
  scheduleOf(units: readonly ShardUnit[]): UnitShard[] {
    return units.map((unit) => this.shardOf(unit));
  }

  private shardOf(unit: ShardUnit): UnitShard {
    const shard = this.byUnit.get(unit);
    if (shard === undefined) throw new QkvValueError('FsdpShards: a unit that is not in the shard plan');
    return shard;
  }

  /** Allocates the unit's full parameters and fills them from every rank's piece (16-bit storage rounded). */
  gather(unit: ShardUnit): void {
    const { layout, piece, masterOffset } = this.shardOf(unit);
    for (const p of unit.params) setStorage(this.params[p], new Float32Array(this.params[p].size));
    const parts = unit.params.map((p) => this.params[p].data as Float32Array);
    if (this.prefetch !== null) this.prefetch.gather(this.shardOf(unit), parts);
    else this.comm.allGather(layout, this.master.subarray(masterOffset, masterOffset + piece[1] - piece[0]), piece[0], piece[1], parts);
    for (const part of parts) roundToPrecision(part, this.precision);
  }

  /** Drops a unit's full parameters (their storage becomes empty). */
  release(unit: ShardUnit): void {
    for (const p of unit.params) setStorage(this.params[p], EMPTY);
  }

  /**
   * Adds the mean over ranks of the unit's full gradients (in `.grad`, 16-bit rounded first) into
   * this rank's piece of the gradient shard, then drops them.
   */
  reduce(unit: ShardUnit): void {
    if (this.gradShard === null) throw new QkvValueError('FsdpShards.reduce: no gradient shard (call beginStep first)');
    const { layout, piece, masterOffset } = this.shardOf(unit);
    const parts = unit.params.map((p) => {
      const grad = denseGradient(this.params[p]);
      roundToPrecision(grad, this.precision); // 16-bit gradient storage: where an fp16 overflow becomes ±inf
      return grad;
    });
    const mine = this.gradShard.subarray(masterOffset, masterOffset + piece[1] - piece[0]);
    this.comm.reduceScatterMean(layout, parts, piece[0], piece[1], mine, [0, layout.length], true);
    for (const p of unit.params) this.params[p].grad = null;
  }

  /** A zeroed gradient shard for the step's reductions to add into. */
  beginStep(): Float32Array {
    this.gradShard = new Float32Array(this.plan.length);
    return this.gradShard;
  }

  /** Frees every parameter's full storage (between steps only the shards remain). */
  releaseAll(): void {
    for (const param of this.params) setStorage(param, EMPTY);
  }
}

/**
 * Bytes of distinct live buffers among `arrays` (a view counts its whole buffer, once): what a
 * worker holds in parameters, gradients, shards and optimiser state at one moment.
 */
export function liveBytes(arrays: Iterable<ArrayBufferView | null | undefined>): number {
  const seen = new Set<ArrayBufferLike>();
  let bytes = 0;
  for (const array of arrays) {
    if (array === null || array === undefined || seen.has(array.buffer)) continue;
    seen.add(array.buffer);
    bytes += array.buffer.byteLength;
  }
  return bytes;
}
