/**
 * The generations in progress, each with its AbortController, so the server can stop them all
 * on shutdown (after a grace period) and wait for the rest to finish.
 */
export class InFlight {
  private readonly controllers = new Set<AbortController>();
  private idleWaiters: (() => void)[] = [];
  /** Set once shutdown starts: new generations are refused with 503. */
  draining = false;

  get size(): number {
    return this.controllers.size;
  }

  /** A controller for one request, aborted when `clientSignal` aborts (the client left). */
  open(clientSignal?: AbortSignal): AbortController {
    const controller = new AbortController();
    if (clientSignal) {
      if (clientSignal.aborted) controller.abort(clientSignal.reason);
      else clientSignal.addEventListener('abort', () => controller.abort(clientSignal.reason), { once: true });
    }
    this.controllers.add(controller);
    return controller;
  }

  close(controller: AbortController): void {
    this.controllers.delete(controller);
    if (this.controllers.size === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /** Resolves true when nothing is in flight, false if `timeoutMs` passes first. */
  waitIdle(timeoutMs: number): Promise<boolean> {
    if (this.controllers.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  abortAll(reason: string): void {
    for (const controller of this.controllers) controller.abort(new Error(reason));
  }
}
