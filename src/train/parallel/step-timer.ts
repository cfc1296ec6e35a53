/**
 * Where a data-parallel worker's step goes: wall time split into exclusive phases, so the parts
 * add up to the step.
 *
 *   forward     the model's forward (FSDP: without the gathers inside it)
 *   backward    autograd's backward (without gathers, reductions and waits inside it)
 *   gradComm    gradient communication: all-reduce (DDP) or reduce-scatter (FSDP), copies and sums
 *   gather      FSDP parameter all-gathers: copies in and out of shared memory
 *   optimizer   unscaling, the global norm and clipping, AdamW, zeroing gradients, the schedule
 *   wait        blocked at a barrier or waiting for another rank's data (Atomics.wait and spins)
 *   other       the rest: sampling the batch, the step's loss all-reduce, memory samples
 *
 * Phases nest: entering one pauses the one around it (a gather inside forward is charged to
 * gather, a barrier inside the gather to wait), so no time is counted twice.
 *
 * @example
 * const timer = new StepTimer();
 * timer.begin();
 * timer.time('forward', () => model.forward(ids));
 * const timing = timer.end(rank); // { rank, forward_ms, …, step_ms }
 */
import { QkvValueError } from '../../tensor/errors.ts';

export const STEP_PHASES = ['forward', 'backward', 'gradComm', 'gather', 'optimizer', 'wait', 'other'] as const;
export type StepPhase = (typeof STEP_PHASES)[number];

/** One rank's step, in milliseconds per phase (snake_case, as metrics.jsonl's other fields). */
export interface StepTiming {
  rank: number;
  forward_ms: number;
  backward_ms: number;
  grad_comm_ms: number;
  gather_ms: number;
  optimizer_ms: number;
  wait_ms: number;
  other_ms: number;
  /** The whole step: the sum of the phases. */
  step_ms: number;
}

export const TIMING_FIELDS: Record<StepPhase, Exclude<keyof StepTiming, 'rank' | 'step_ms'>> = {
  forward: 'forward_ms',
  backward: 'backward_ms',
  gradComm: 'grad_comm_ms',
  gather: 'gather_ms',
  optimizer: 'optimizer_ms',
  wait: 'wait_ms',
  other: 'other_ms',
};

export class StepTimer {
  private readonly spentMs = new Map<StepPhase, number>();
  /** Phases running, innermost last; `other` at the bottom (also before the first `begin`, so a collective used between steps is charged somewhere harmless). */
  private readonly stack: StepPhase[] = ['other'];
  private since = 0;

  constructor(private readonly now: () => number = () => performance.now()) {
    for (const phase of STEP_PHASES) this.spentMs.set(phase, 0);
  }

  /** Starts a step: everything until the first `enter` is `other`. */
  begin(): void {
    for (const phase of STEP_PHASES) this.spentMs.set(phase, 0);
    this.stack.length = 0;
    this.stack.push('other');
    this.since = this.now();
  }

  /** Charges the time since the last switch to the phase that was running. */
  private charge(): void {
    const now = this.now();
    const running = this.stack[this.stack.length - 1];
    if (running !== undefined) this.spentMs.set(running, this.spentMs.get(running)! + now - this.since);
    this.since = now;
  }

  enter(phase: StepPhase): void {
    this.charge();
    this.stack.push(phase);
  }

  leave(phase: StepPhase): void {
    if (this.stack[this.stack.length - 1] !== phase || this.stack.length < 2) {
      throw new QkvValueError(`StepTimer: leaving "${phase}" while "${this.stack[this.stack.length - 1]}" is running`);
    }
    this.charge();
    this.stack.pop();
  }

  /** Runs `fn` charged to `phase` (minus the phases entered inside it). */
  time<T>(phase: StepPhase, fn: () => T): T {
    this.enter(phase);
    try {
      return fn();
    } finally {
      this.leave(phase);
    }
  }

  /** Ends the step; the phases sum to its wall time. */
  end(rank: number): StepTiming {
    this.charge();
    if (this.stack.length !== 1) throw new QkvValueError(`StepTimer: the step ended inside "${this.stack[this.stack.length - 1]}"`);
    const timing = { rank, step_ms: 0 } as StepTiming;
    for (const phase of STEP_PHASES) {
      timing[TIMING_FIELDS[phase]] = this.spentMs.get(phase)!;
      timing.step_ms += this.spentMs.get(phase)!;
    }
    return timing;
  }
}

/** A timer that records nothing, for collectives used outside a timed step. */
export const UNTIMED: Pick<StepTimer, 'enter' | 'leave'> = { enter: () => {}, leave: () => {} };

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Per rank, the median of each phase over `steps` (each step: one StepTiming per rank). Medians
 * per phase do not add up exactly to the median step; `step_ms` is the median of the steps.
 */
export function medianTimings(steps: readonly (readonly StepTiming[])[]): StepTiming[] {
  const ranks = new Map<number, StepTiming[]>();
  for (const timings of steps) for (const timing of timings) ranks.set(timing.rank, [...(ranks.get(timing.rank) ?? []), timing]);
  return [...ranks.entries()].sort(([a], [b]) => a - b).map(([rank, timings]) => {
    const out = { rank, step_ms: median(timings.map((t) => t.step_ms)) } as StepTiming;
    for (const phase of STEP_PHASES) out[TIMING_FIELDS[phase]] = median(timings.map((t) => t[TIMING_FIELDS[phase]]));
    return out;
  });
}
