/**
 * DDP's all-reduce overlapped with backward: each gradient bucket is published the moment
 * backward has produced all of its gradients (GradientReadyHooks), and reduced by whichever rank
 * is free, while the other ranks are still in backward.
 *
 * With N workers on N cores there is no spare core to reduce on, so "overlap" here means using
 * the time a rank would otherwise spend blocked: the rank that finishes backward first does not
 * wait at a barrier but reduces every bucket all ranks have published, chunk by chunk, as the
 * slower ranks publish them; the last rank out of backward finds most buckets already reduced.
 * No barrier at all: per-bucket counters in shared memory say who has published, reduced and
 * read back what.
 *
 * Shared memory (one SharedArrayBuffer for all ranks):
 *
 *   control   Int32[1 + 4·buckets]     progress (a futex word every event bumps), then per bucket:
 *                                      arrivals, chunks claimed, chunks reduced, read-backs
 *   slots     Float32[N · length]      rank r's gradients at [r·length, (r+1)·length); the mean is
 *                                      written over rank 0's slot
 *
 * so it holds N gradient vectors (SharedCollective holds N + 1 buckets): the price of letting
 * every bucket be in flight at once. Counters only grow (step e is complete at e·N arrivals,
 * e·chunks reductions), so nothing is reset between steps; a rank publishes bucket b of step e
 * only after every rank has read back b's mean of step e − 1.
 *
 * The mean is summed in rank order 0…N−1 and scaled by 1/N exactly as SharedCollective does, so
 * every rank gets the same bits, and the same bits as the non-overlapped all-reduce.
 *
 * @example
 * const reducer = new OverlappedAllReduce(shared, rank, worldSize, layout, timer);
 * reducer.begin();
 * // inside backward, as each parameter's gradient becomes final:
 * grads[p] = dense(p); reducer.ready(p, grads);
 * // after backward (grads of parameters that got none filled with zeros):
 * reducer.finish(grads); // grads now hold the mean over ranks
 */
import { QkvValueError } from '../../tensor/errors.ts';
import type { FlatLayout } from './flat-layout.ts';
import { copyFromFlat, copyToFlat } from './flat-layout.ts';
import { waitForProgress } from './progress-wait.ts';
import { UNTIMED, type StepTimer } from './step-timer.ts';

/** Elements one claim reduces: small enough that ranks share the last buckets, large enough that claiming is noise. */
export const REDUCE_CHUNK_ELEMENTS = 1 << 15;

const PROGRESS = 0;
const ARRIVALS = 0;
const CLAIMED = 1;
const REDUCED = 2;
const CONSUMED = 3;
const COUNTERS = 4;

export class OverlappedAllReduce {
  private readonly control: Int32Array;
  private readonly slots: Float32Array;
  /** Per bucket, the parameters it holds a part of; per parameter, its buckets. */
  private readonly bucketParams: number[][];
  private readonly paramBuckets: number[][];
  private readonly chunks: number[];
  /** This step: parameters still missing per bucket, and whether this rank has published / read back each bucket. */
  private missing: number[] = [];
  private published: boolean[] = [];
  private readBack: boolean[] = [];
  private epoch = 0;

  static allocate(worldSize: number, layout: FlatLayout): SharedArrayBuffer {
    return new SharedArrayBuffer((1 + COUNTERS * layout.buckets.length) * 4 + worldSize * layout.length * 4);
  }

  constructor(
    buffer: SharedArrayBuffer,
    readonly rank: number,
    readonly worldSize: number,
    private readonly layout: FlatLayout,
    private readonly timer: Pick<StepTimer, 'enter' | 'leave'> = UNTIMED,
  ) {
    if (!(Number.isInteger(rank) && rank >= 0 && rank < worldSize)) throw new QkvValueError(`OverlappedAllReduce: rank ${rank} is outside [0, ${worldSize})`);
    const expected = OverlappedAllReduce.allocate(worldSize, layout).byteLength;
    if (buffer.byteLength !== expected) throw new QkvValueError(`OverlappedAllReduce: the shared buffer has ${buffer.byteLength} bytes, expected ${expected}`);
    const controlInts = 1 + COUNTERS * layout.buckets.length;
    this.control = new Int32Array(buffer, 0, controlInts);
    this.slots = new Float32Array(buffer, controlInts * 4, worldSize * layout.length);
    this.bucketParams = layout.buckets.map(([start, end]) =>
      layout.sizes.flatMap((size, p) => (layout.offsets[p] < end && layout.offsets[p] + size > start ? [p] : [])));
    this.paramBuckets = layout.sizes.map(() => []);
    this.bucketParams.forEach((params, b) => params.forEach((p) => this.paramBuckets[p].push(b)));
    this.chunks = layout.buckets.map(([start, end]) => Math.ceil((end - start) / REDUCE_CHUNK_ELEMENTS));
  }

  private counter(bucket: number, which: number): number {
    return 1 + COUNTERS * bucket + which;
  }

  private bump(bucket: number, which: number): void {
    Atomics.add(this.control, this.counter(bucket, which), 1);
    Atomics.add(this.control, PROGRESS, 1);
    Atomics.notify(this.control, PROGRESS);
  }

  private load(bucket: number, which: number): number {
    return Atomics.load(this.control, this.counter(bucket, which));
  }

  /** Blocks until `done()` holds, waking on every event any rank signals. */
  private waitUntil(done: () => boolean): void {
    waitForProgress(this.control, PROGRESS, this.timer, done);
  }

  /** A new step: every bucket waits for all its parameters again. */
  begin(): void {
    this.epoch++;
    this.missing = this.bucketParams.map((params) => params.length);
    this.published = this.layout.buckets.map(() => false);
    this.readBack = this.layout.buckets.map(() => false);
  }

  /** Parameter `param`'s gradient (`grads[param]`, dense) is final: publishes every bucket that is now complete. */
  ready(param: number, grads: readonly (Float32Array | null)[]): void {
    for (const bucket of this.paramBuckets[param]) if (--this.missing[bucket] === 0) this.publish(bucket, grads);
  }

  private publish(bucket: number, grads: readonly (Float32Array | null)[]): void {
    if (this.published[bucket]) return;
    const [start, end] = this.layout.buckets[bucket];
    for (const p of this.bucketParams[bucket]) if (grads[p] === null) throw new QkvValueError(`OverlappedAllReduce: bucket ${bucket} published without parameter ${p}'s gradient`);
    // Bucket b's mean of the last step sits over rank 0's slot until every rank has read it back.
    this.waitUntil(() => this.load(bucket, CONSUMED) >= this.worldSize * (this.epoch - 1));
    this.timer.enter('gradComm');
    const offset = this.rank * this.layout.length;
    copyToFlat(this.layout, grads as Float32Array[], start, end, this.slots.subarray(offset + start, offset + end));
    this.published[bucket] = true;
    this.bump(bucket, ARRIVALS);
    this.timer.leave('gradComm');
  }

  /** Takes one unreduced chunk of a bucket every rank has published, or returns −1. */
  private claim(bucket: number): number {
    const first = this.chunks[bucket] * (this.epoch - 1);
    for (;;) {
      const ticket = this.load(bucket, CLAIMED);
      if (ticket >= first + this.chunks[bucket]) return -1;
      if (Atomics.compareExchange(this.control, this.counter(bucket, CLAIMED), ticket, ticket + 1) === ticket) return ticket - first;
    }
  }

  /** Mean over ranks of one chunk, over rank 0's slot (the same sums, in the same order, as SharedCollective.reduceMean). */
  private reduceChunk(bucket: number, chunk: number): void {
    const [start, end] = this.layout.buckets[bucket];
    const from = start + chunk * REDUCE_CHUNK_ELEMENTS;
    const to = Math.min(end, from + REDUCE_CHUNK_ELEMENTS);
    const { slots, worldSize } = this;
    const length = this.layout.length;
    const scale = 1 / worldSize;
    for (let i = from; i < to; i++) {
      let sum = 0;
      for (let r = 0; r < worldSize; r++) sum += slots[r * length + i];
      slots[i] = sum * scale;
    }
  }

  /**
   * After backward: publishes the buckets not yet published (every `grads` entry must be set
   * now), then reduces chunks and reads back means until every bucket is done; `grads` then
   * hold the mean over ranks.
   */
  finish(grads: readonly (Float32Array | null)[]): void {
    this.timer.enter('gradComm');
    try {
      // Latest buckets first: backward finishes them first, on every rank.
      const order = this.layout.buckets.map((_, b) => b).reverse();
      for (const bucket of order) this.publish(bucket, grads);
      const arrived = this.worldSize * this.epoch;
      let remaining = order.length;
      while (remaining > 0) {
        const seen = Atomics.load(this.control, PROGRESS);
        let worked = false;
        for (const bucket of order) {
          if (this.readBack[bucket]) continue;
          if (this.load(bucket, REDUCED) >= this.chunks[bucket] * this.epoch) {
            const [start, end] = this.layout.buckets[bucket];
            copyFromFlat(this.layout, grads as Float32Array[], start, end, this.slots.subarray(start, end));
            this.readBack[bucket] = true;
            this.bump(bucket, CONSUMED);
            remaining--;
            worked = true;
            continue;
          }
          if (this.load(bucket, ARRIVALS) < arrived) continue;
          const chunk = this.claim(bucket);
          if (chunk < 0) continue;
          this.reduceChunk(bucket, chunk);
          this.bump(bucket, REDUCED);
          worked = true;
        }
        if (worked || remaining === 0) continue;
        // Nothing to do until another rank publishes or finishes a chunk.
        this.timer.enter('wait');
        Atomics.wait(this.control, PROGRESS, seen);
        this.timer.leave('wait');
      }
    } finally {
      this.timer.leave('gradComm');
    }
  }
}
