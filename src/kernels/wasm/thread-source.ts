/** The host-independent shape of a kernel thread (see ./platform.ts and ./platform-browser.ts). */
import type { WasmMemory, WasmModule } from './loader.ts';

/** What a kernel thread is started with: the compiled module, the shared memory, the pool's control block, its slot. */
export interface KernelThreadData {
  module: WasmModule;
  memory: WasmMemory;
  control: SharedArrayBuffer;
  slot: number;
}

export interface KernelThread {
  terminate(): Promise<void>;
}
