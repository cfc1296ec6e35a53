/**
 * Collectives over shared memory for data-parallel workers (`worker_threads`): a barrier, a
 * scalar all-reduce, and bucketed all-reduce / reduce-scatter / all-gather of the flattened
 * parameter vector, synchronised with Atomics.
 *
 * One SharedArrayBuffer serves all ranks:
 *
 *   control   Int32[4]                     barrier arrivals, barrier generation
 *   scalars   Float64[worldSize · SCALARS] each rank's scalar contributions (loss, Σg²)
 *   slots     Float32[worldSize · bucket]  each rank's contribution to the current bucket
 *   result    Float32[bucket]              the reduced (or gathered) current bucket
 *
 * so the shared memory is (worldSize + 1) buckets, not worldSize models: gradients go through it
 * a bucket (a run of whole parameters, `FlatLayout.buckets`) at a time. Every reduction sums
 * the ranks in rank order 0…N−1, so every worker gets bit-identical values, and each rank
 * reduces only its own 1/N of a bucket (the reduce-scatter half of a ring all-reduce, done in
 * parallel); the all-gather half is each rank reading the whole result back.
 *
 * @example
 * const shared = SharedCollective.allocate(2, layout.bucketCapacity);   // main thread
 * const comm = new SharedCollective(shared, rank, 2, layout.bucketCapacity); // in each worker
 * comm.allReduceMean(layout, grads);
 */
import { QkvValueError } from '../../tensor/errors.ts';
import type { FlatLayout } from './flat-layout.ts';
import { copyFromFlat, copyToFlat } from './flat-layout.ts';
import { UNTIMED, type StepTimer } from './step-timer.ts';

/** Scalars each rank may all-reduce at once. */
export const SCALARS = 4;
const CONTROL_INTS = 4;

/** [start, end) of the flat vector that `rank` of `worldSize` owns: contiguous, sizes differ by at most 1. */
export function shardRange(length: number, rank: number, worldSize: number): [number, number] {
  return [Math.floor((rank * length) / worldSize), Math.floor(((rank + 1) * length) / worldSize)];
}

/** The layout's buckets cut to flat [from, to) (a unit's parameters; boundaries fall between parameters or inside a split one). */
export function bucketsWithin(layout: FlatLayout, [from, to]: readonly [number, number]): [number, number][] {
  if (!(from >= 0 && from <= to && to <= layout.length)) throw new QkvValueError(`SharedCollective: range [${from}, ${to}) is outside the flat vector of ${layout.length}`);
  const cut: [number, number][] = [];
  for (const [start, end] of layout.buckets) {
    const a = Math.max(start, from);
    const b = Math.min(end, to);
    if (a < b) cut.push([a, b]);
  }
  return cut;
}

export class SharedCollective {
  private readonly control: Int32Array;
  private readonly scalars: Float64Array;
  private readonly slots: Float32Array;
  private readonly result: Float32Array;

  /** The buffer the main thread creates and hands to every worker. */
  static allocate(worldSize: number, bucketCapacity: number): SharedArrayBuffer {
    return new SharedArrayBuffer(CONTROL_INTS * 4 + worldSize * SCALARS * 8 + (worldSize + 1) * bucketCapacity * 4);
  }

  constructor(
    buffer: SharedArrayBuffer,
    readonly rank: number,
    readonly worldSize: number,
    readonly bucketCapacity: number,
    /** Charged with the time spent blocked at barriers (`wait`). */
    private readonly timer: Pick<StepTimer, 'enter' | 'leave'> = UNTIMED,
  ) {
    if (!(Number.isInteger(rank) && rank >= 0 && rank < worldSize)) throw new QkvValueError(`SharedCollective: rank ${rank} is outside [0, ${worldSize})`);
    const expected = SharedCollective.allocate(worldSize, bucketCapacity).byteLength;
    if (buffer.byteLength !== expected) throw new QkvValueError(`SharedCollective: the shared buffer has ${buffer.byteLength} bytes, expected ${expected}`);
    this.control = new Int32Array(buffer, 0, CONTROL_INTS);
    this.scalars = new Float64Array(buffer, CONTROL_INTS * 4, worldSize * SCALARS);
    const slotsStart = CONTROL_INTS * 4 + worldSize * SCALARS * 8;
    this.slots = new Float32Array(buffer, slotsStart, worldSize * bucketCapacity);
    this.result = new Float32Array(buffer, slotsStart + worldSize * bucketCapacity * 4, bucketCapacity);
  }

  /** Blocks until every rank has arrived (a sense-reversing barrier: the generation counter flips it). */
  barrier(): void {
    const generation = Atomics.load(this.control, 1);
    if (Atomics.add(this.control, 0, 1) === this.worldSize - 1) {
      Atomics.store(this.control, 0, 0);
      Atomics.add(this.control, 1, 1);
      Atomics.notify(this.control, 1);
      return;
    }
    this.timer.enter('wait');
    while (Atomics.load(this.control, 1) === generation) Atomics.wait(this.control, 1, generation);
    this.timer.leave('wait');
  }

  /** Σ over ranks of each of `values` (at most SCALARS), in float64 and rank order. */
  allReduceSum(values: readonly number[]): number[] {
    if (values.length > SCALARS) throw new QkvValueError(`SharedCollective.allReduceSum: at most ${SCALARS} scalars, got ${values.length}`);
    values.forEach((value, k) => (this.scalars[this.rank * SCALARS + k] = value));
    this.barrier();
    const sums = values.map((_, k) => {
      let sum = 0;
      for (let r = 0; r < this.worldSize; r++) sum += this.scalars[r * SCALARS + k];
      return sum;
    });
    this.barrier(); // nobody overwrites a scalar before everyone has read it
    return sums;
  }

  /** Writes this rank's part of bucket [start, end) of `parts` (one array per parameter) into its slot. */
  private publish(layout: FlatLayout, parts: readonly Float32Array[], start: number, end: number): void {
    copyToFlat(layout, parts, start, end, this.slots.subarray(this.rank * this.bucketCapacity, this.rank * this.bucketCapacity + end - start));
  }

  /** Mean over ranks of the slots at bucket positions [from, to), into (or, accumulating, added to) `out` at `outOffset`. */
  private reduceMean(from: number, to: number, out: Float32Array, outOffset: number, accumulate = false): void {
    const scale = 1 / this.worldSize;
    const cap = this.bucketCapacity;
    for (let i = from; i < to; i++) {
      let sum = 0;
      for (let r = 0; r < this.worldSize; r++) sum += this.slots[r * cap + i];
      if (accumulate) out[outOffset + i - from] += sum * scale;
      else out[outOffset + i - from] = sum * scale;
    }
  }

  /**
   * DDP: replaces every rank's `grads` (one array per parameter, in `layout` order) by their
   * mean over ranks, bucket by bucket.
   */
  allReduceMean(layout: FlatLayout, grads: readonly Float32Array[]): void {
    // One rank: the mean is its own gradient; the three passes over it cost ~100 ms/step on the bench GPT.
    if (this.worldSize === 1) return;
    for (const [start, end] of layout.buckets) {
      this.publish(layout, grads, start, end);
      this.barrier();
      const [from, to] = shardRange(end - start, this.rank, this.worldSize);
      this.reduceMean(from, to, this.result, from);
      this.barrier();
      copyFromFlat(layout, grads, start, end, this.result.subarray(0, end - start));
      this.barrier(); // the next bucket reuses slots and result
    }
  }

  /**
   * FSDP: the mean over ranks of `grads`, kept only for this rank's shard [shardStart, shardEnd)
   * of the flat vector, written into `shardOut` (length shardEnd − shardStart). `range` limits it
   * to one unit's flat [from, to) (a transformer block: only its parameters' arrays are read);
   * `accumulate` adds into `shardOut` instead of overwriting (micro-batches, one unit at a time).
   */
  reduceScatterMean(
    layout: FlatLayout, grads: readonly Float32Array[], shardStart: number, shardEnd: number, shardOut: Float32Array,
    range: readonly [number, number] = [0, layout.length], accumulate = false,
  ): void {
    for (const [start, end] of bucketsWithin(layout, range)) {
      this.publish(layout, grads, start, end);
      this.barrier();
      const from = Math.max(start, shardStart);
      const to = Math.min(end, shardEnd);
      if (from < to) this.reduceMean(from - start, to - start, shardOut, from - shardStart, accumulate);
      this.barrier();
    }
  }

  /**
   * FSDP: every rank contributes its shard (`shard`, covering [shardStart, shardEnd) of the
   * flat vector) and receives the whole vector into `full` (one array per parameter), or, with
   * `range`, only that unit's flat [from, to) (only its parameters' arrays are written).
   */
  allGather(layout: FlatLayout, shard: Float32Array, shardStart: number, shardEnd: number, full: readonly Float32Array[], range: readonly [number, number] = [0, layout.length]): void {
    for (const [start, end] of bucketsWithin(layout, range)) {
      const from = Math.max(start, shardStart);
      const to = Math.min(end, shardEnd);
      if (from < to) this.result.set(shard.subarray(from - shardStart, to - shardStart), from - start);
      this.barrier();
      copyFromFlat(layout, full, start, end, this.result.subarray(0, end - start));
      this.barrier();
    }
  }
}
