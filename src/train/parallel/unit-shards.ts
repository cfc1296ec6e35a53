/**
 * FSDP's even split: every unit (the root, each transformer block) is sharded on its own, rank r
 * owning the r-th 1/N of that unit's elements (sizes differ by at most 1), as PyTorch FSDP shards
 * each wrapped module's flat parameter. A block's gather then draws 1/N from every rank, rather
 * than from the one or two owners of a model-wide contiguous shard.
 *
 * A rank's master vector is its pieces laid end to end, units in order (root first); `segments`
 * says which flat [start, end) runs of the model's parameter vector it holds, for checkpoints.
 *
 * @example
 * const plan = planUnitShards([root, ...blocks], layout, rank, worldSize);
 * master = gatherSegments(fullFlat, plan.segments); // (plan.length,)
 */
import { shardRange } from './collective.ts';
import { flatLayout, segmentsOf, type FlatLayout } from './flat-layout.ts';
import type { ShardUnit } from './fsdp-shards.ts';

export interface UnitShard {
  unit: ShardUnit;
  /** The unit's own flat vector: its parameters end to end (the bucket cap is the model's, so the shared buffer fits). */
  layout: FlatLayout;
  /** This rank's piece [start, end) of the unit's vector. */
  piece: [number, number];
  /** Where that piece starts in this rank's master vector. */
  masterOffset: number;
}

export interface UnitShardPlan {
  units: UnitShard[];
  /** Model-flat [start, end) runs this rank holds, in master order (their lengths sum to `length`). */
  segments: [number, number][];
  length: number;
}

export function planUnitShards(units: readonly ShardUnit[], layout: FlatLayout, rank: number, worldSize: number): UnitShardPlan {
  const planned: UnitShard[] = [];
  const segments: [number, number][] = [];
  let masterOffset = 0;
  for (const unit of units) {
    const unitLayout = flatLayout(unit.params.map((p) => layout.sizes[p]), layout.bucketCapacity);
    const piece = shardRange(unit.elements, rank, worldSize);
    planned.push({ unit, layout: unitLayout, piece, masterOffset });
    for (const { param, from, to } of segmentsOf(unitLayout, piece[0], piece[1])) {
      const flatStart = layout.offsets[unit.params[param]] + from;
      const last = segments.at(-1);
      if (last !== undefined && last[1] === flatStart) last[1] = flatStart + to - from;
      else segments.push([flatStart, flatStart + to - from]);
    }
    masterOffset += piece[1] - piece[0];
  }
  return { units: planned, segments, length: masterOffset };
}

/** The runs `segments` of the model-flat `full`, end to end. */
export function gatherSegments(full: Float32Array, segments: readonly [number, number][]): Float32Array {
  const out = new Float32Array(segments.reduce((n, [a, b]) => n + b - a, 0));
  let at = 0;
  for (const [a, b] of segments) {
    out.set(full.subarray(a, b), at);
    at += b - a;
  }
  return out;
}

/** Writes `packed` (the runs `segments`, end to end) back into the model-flat `full`. */
export function scatterSegments(packed: Float32Array, segments: readonly [number, number][], full: Float32Array): void {
  let at = 0;
  for (const [a, b] of segments) {
    full.set(packed.subarray(at, at + b - a), a);
    at += b - a;
  }
}
