/**
 * A fair queue on one model: every generation step (one forward of one request) takes a turn,
 * and turns are handed out first come, first served. A request re-joins the back of the line
 * after each token, so N concurrent streams advance round-robin, one token each, instead of the
 * first stream finishing before the second starts: time to first token stays bounded by N
 * steps, not by N whole replies.
 *
 * Every turn starts on `setImmediate`, even when nobody else waits, so sockets (new requests,
 * chunks waiting to be written, disconnects) are served between two steps: a lone stream would
 * otherwise run all its steps in one go of microtasks, and a client that left would not be
 * noticed until the reply was complete.
 */
import { QkvError } from '../tensor/errors.ts';

/** Thrown to a waiter whose signal aborted before its turn came. */
export class QueueAbortedError extends QkvError {}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * @example
 * const queue = new FairQueue();
 * const logits = await queue.run(() => step(ids), request.signal);
 */
export class FairQueue {
  private busy = false;
  private readonly waiters: Waiter[] = [];
  /** Turns handed out so far (every step of every request). */
  turns = 0;

  /** Requests waiting for a turn (not counting the one running). */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Runs `work` on its turn; rejects with `QueueAbortedError` if `signal` aborts while waiting. */
  async run<T>(work: () => T | Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new QueueAbortedError('request aborted before its turn'));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const index = this.waiters.indexOf(waiter);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(new QueueAbortedError('request aborted while waiting for the model'));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
      if (!this.busy) {
        this.busy = true; // reserved, as in release
        setImmediate(() => this.handOver());
      }
    });
  }

  private release(): void {
    this.busy = false;
    if (this.waiters.length > 0) {
      this.busy = true; // reserved for the next waiter, so no newcomer jumps the line meanwhile
      setImmediate(() => this.handOver());
    }
  }

  private handOver(): void {
    const next = this.waiters.shift();
    if (next === undefined) {
      this.busy = false;
      return;
    }
    if (next.signal && next.onAbort) next.signal.removeEventListener('abort', next.onAbort);
    this.busy = true;
    this.turns++;
    next.resolve();
  }
}
