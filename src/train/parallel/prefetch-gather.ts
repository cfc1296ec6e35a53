/**
 * FSDP's all-gather with prefetch: when a rank gathers unit i it at once publishes its piece of
 * unit i + 1, so the other ranks' pieces of the next block are in shared memory while this rank
 * computes block i, and gathering i + 1 is a copy, not a rendezvous.
 *
 * What prefetch can buy here: there is no copy engine and no spare core (N workers on N cores),
 * so the copies cost what they cost in SharedCollective.allGather (this rank's piece in, the whole
 * unit out). What it removes is the lock step: allGather meets every rank at two barriers per
 * bucket, so every gather waits for the slowest rank and for the OS to wake the sleepers; here a
 * rank waits only if another has not yet reached the previous gather.
 *
 * The order of gathers must be known ahead: `beginStep(schedule)` takes the step's units in the
 * order the step gathers them (the same on every rank: root, blocks 0…L−1 forward, L−1…0 backward,
 * per micro-batch); a gather off the schedule is refused. The last unit of a step prefetches
 * nothing (the next step's weights do not exist until the optimiser has run).
 *
 * Shared memory: control Int32[1 + 2·SLOTS] (progress, then per slot: pieces published, reads
 * done) and staging Float32[SLOTS · largest unit]. Gather g of the run uses slot g mod SLOTS;
 * counters only grow, so slot s holds its k-th unit once k·N pieces are published, and a rank
 * publishes into it only after every rank has read its (k−1)-th. With two slots that never blocks:
 * a rank that has read unit g knows every other rank has published g, so has read g − 1.
 *
 * @example
 * const gatherer = new PrefetchingGather(shared, rank, worldSize, largestUnit, timer);
 * gatherer.beginStep([root, b0, b1, b1, b0]);
 * gatherer.gather(root, master, fullArrays); // …
 */
import { QkvValueError } from '../../tensor/errors.ts';
import { copyFromFlat } from './flat-layout.ts';
import { waitForProgress } from './progress-wait.ts';
import { UNTIMED, type StepTimer } from './step-timer.ts';
import type { UnitShard } from './unit-shards.ts';

const SLOTS = 2;
const PROGRESS = 0;
const PUBLISHED = 0;
const CONSUMED = 1;

export class PrefetchingGather {
  private readonly control: Int32Array;
  private readonly staging: Float32Array;
  private schedule: readonly UnitShard[] = [];
  /** Position of the next gather in this step's schedule, and gathers done in the run before this step. */
  private position = 0;
  private runOffset = 0;
  /** The highest schedule position this rank has published this step (−1: none). */
  private publishedUpTo = -1;
  private master: Float32Array | null = null;

  static allocate(largestUnitElements: number): SharedArrayBuffer {
    return new SharedArrayBuffer((1 + 2 * SLOTS) * 4 + SLOTS * largestUnitElements * 4);
  }

  constructor(
    buffer: SharedArrayBuffer,
    readonly rank: number,
    readonly worldSize: number,
    private readonly largestUnitElements: number,
    private readonly timer: Pick<StepTimer, 'enter' | 'leave'> = UNTIMED,
  ) {
    const expected = PrefetchingGather.allocate(largestUnitElements).byteLength;
    if (buffer.byteLength !== expected) throw new QkvValueError(`PrefetchingGather: the shared buffer has ${buffer.byteLength} bytes, expected ${expected}`);
    this.control = new Int32Array(buffer, 0, 1 + 2 * SLOTS);
    this.staging = new Float32Array(buffer, (1 + 2 * SLOTS) * 4, SLOTS * largestUnitElements);
  }

  /** The step's gathers in order (identical on every rank), and this rank's master shard to publish from. */
  beginStep(schedule: readonly UnitShard[], master: Float32Array): void {
    if (this.position !== this.schedule.length) throw new QkvValueError(`PrefetchingGather: the last step did ${this.position} of its ${this.schedule.length} scheduled gathers`);
    for (const shard of schedule) {
      if (shard.unit.elements > this.largestUnitElements) throw new QkvValueError(`PrefetchingGather: a unit of ${shard.unit.elements} elements exceeds the staging slot of ${this.largestUnitElements}`);
    }
    this.runOffset += this.schedule.length;
    this.schedule = schedule;
    this.position = 0;
    this.publishedUpTo = -1;
    this.master = master;
  }

  private counter(slot: number, which: number): number {
    return 1 + 2 * slot + which;
  }

  private bump(slot: number, which: number): void {
    Atomics.add(this.control, this.counter(slot, which), 1);
    Atomics.add(this.control, PROGRESS, 1);
    Atomics.notify(this.control, PROGRESS);
  }

  /** Blocks until `done()` holds, waking on every event any rank signals. */
  private waitUntil(done: () => boolean): void {
    waitForProgress(this.control, PROGRESS, this.timer, done);
  }

  /** Writes this rank's piece of the unit at schedule `position` into its slot. */
  private publish(position: number): void {
    const run = this.runOffset + position;
    const slot = run % SLOTS;
    const use = Math.floor(run / SLOTS); // how many earlier units this slot held
    const { piece, masterOffset } = this.schedule[position];
    this.waitUntil(() => Atomics.load(this.control, this.counter(slot, CONSUMED)) >= this.worldSize * use);
    this.staging.set(this.master!.subarray(masterOffset, masterOffset + piece[1] - piece[0]), slot * this.largestUnitElements + piece[0]);
    this.publishedUpTo = position;
    this.bump(slot, PUBLISHED);
  }

  /**
   * Fills `full` (the unit's parameters' arrays, in the unit's order) with the unit's whole
   * values, then publishes this rank's piece of the next scheduled unit.
   */
  gather(shard: UnitShard, full: readonly Float32Array[]): void {
    const position = this.position;
    if (this.schedule[position] !== shard) {
      throw new QkvValueError(`PrefetchingGather: gather ${position} of the step is not the scheduled unit (${this.schedule.length} scheduled; the step's order of gathers changed)`);
    }
    const run = this.runOffset + position;
    const slot = run % SLOTS;
    const use = Math.floor(run / SLOTS);
    if (this.publishedUpTo < position) this.publish(position);
    this.waitUntil(() => Atomics.load(this.control, this.counter(slot, PUBLISHED)) >= this.worldSize * (use + 1));
    const base = slot * this.largestUnitElements;
    copyFromFlat(shard.layout, full, 0, shard.unit.elements, this.staging.subarray(base, base + shard.unit.elements));
    this.bump(slot, CONSUMED);
    this.position++;
    if (position + 1 < this.schedule.length) this.publish(position + 1); // the prefetch
  }
}
