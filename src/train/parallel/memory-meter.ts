/**
 * Per-worker memory: counted bytes (distinct live buffers among the parameters, gradients,
 * shards and optimiser state a worker holds, see `liveBytes`) and the isolate's measured
 * `process.memoryUsage()` peaks (ArrayBuffers include activations and kernel scratch).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { WorkerMemory } from './protocol.ts';

export function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

export class MemoryMeter {
  peakHeldBytes = 0;
  restingHeldBytes = 0;
  peakArrayBufferBytes = 0;
  peakHeapUsedBytes = 0;

  constructor(private readonly collectGarbage: (() => void) | null) {}

  sample(heldBytes: number, resting = false): void {
    this.collectGarbage?.(); // measurement runs: count live arrays, not garbage awaiting collection
    const usage = process.memoryUsage();
    this.peakHeldBytes = Math.max(this.peakHeldBytes, heldBytes);
    if (resting) this.restingHeldBytes = heldBytes;
    this.peakArrayBufferBytes = Math.max(this.peakArrayBufferBytes, usage.arrayBuffers);
    this.peakHeapUsedBytes = Math.max(this.peakHeapUsedBytes, usage.heapUsed);
  }

  report(rank: number): WorkerMemory {
    const { peakHeldBytes, restingHeldBytes, peakArrayBufferBytes, peakHeapUsedBytes } = this;
    return { rank, peakHeldBytes, restingHeldBytes, peakArrayBufferBytes, peakHeapUsedBytes };
  }
}
