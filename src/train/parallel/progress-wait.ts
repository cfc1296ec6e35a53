/**
 * The one way ranks wait for each other's progress in the overlapped all-reduce and the
 * prefetching gather: every event any rank signals bumps one shared counter and notifies it, and a
 * waiter re-checks its condition after each bump. The time blocked is charged to the step's
 * 'wait' phase.
 */
import type { StepTimer } from './step-timer.ts';

/** Blocks until `done()` holds, waking on every bump of `control[progressIndex]`. */
export function waitForProgress(control: Int32Array, progressIndex: number, timer: Pick<StepTimer, 'enter' | 'leave'>, done: () => boolean): void {
  if (done()) return;
  timer.enter('wait');
  try {
    for (;;) {
      const seen = Atomics.load(control, progressIndex);
      if (done()) return;
      Atomics.wait(control, progressIndex, seen);
    }
  } finally {
    timer.leave('wait');
  }
}
