/**
 * Memory-mapped loading of safetensors F32 tensors, as safetensors' `safe_open` and
 * `torch.load(mmap=True)` do: the file is mapped copy-on-write (native `mapFile`, MAP_PRIVATE)
 * and each F32 tensor whose data starts on a 4-byte boundary becomes a Float32Array view on the
 * mapping that the model then uses as its parameter's storage. Nothing is read or copied at load:
 * a page is read from the page cache the first time a kernel touches it (so the first forward
 * pass pays what the copying loader paid at load), and training writes private copies of the
 * pages it changes, never the file.
 *
 * Whatever cannot be mapped (F16/BF16/F64, misaligned data, a big-endian host, targets that are
 * not stateDict() views, no native addon) is left for the copying path of `./safetensors-load.ts`.
 */
import { currentBackend } from '../kernels/index.ts';
import { mapFile } from '../kernels/native/index.ts';
import { adoptStorage } from '../nn/adopt-storage.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { LITTLE_ENDIAN_HOST } from './safetensors-format.ts';
import type { HeaderEntry } from './safetensors.ts';

export interface PlannedEntry {
  entry: HeaderEntry;
  target: Tensor;
}

/**
 * Whether loaders map files by default: on the native backend (the one that has the addon), unless
 * `QKV_MMAP=0`. The wasm and reference backends read, as before.
 */
export function mmapByDefault(): boolean {
  if (process.env.QKV_MMAP === '0') return false;
  return currentBackend().name === 'native';
}

/**
 * Maps `path` and gives every plan entry that can be used in place its view on the mapping as
 * storage; returns the entries left to copy (all of them when the file cannot be mapped).
 * `dataStart` and `fileSizeBytes` are those the header was validated against.
 */
export function adoptMappedEntries(path: string, dataStart: number, fileSizeBytes: number, plan: readonly PlannedEntry[]): PlannedEntry[] {
  if (!LITTLE_ENDIAN_HOST || !plan.some(({ entry }) => canMap(dataStart, entry))) return [...plan];
  const mapped = mapFile(path);
  // A file that changed size since its header was read is read (and checked) the ordinary way.
  if (mapped === null || mapped.byteLength !== fileSizeBytes) return [...plan];
  const left: PlannedEntry[] = [];
  for (const planned of plan) {
    const { entry, target } = planned;
    const viewOk = canMap(dataStart, entry) && target.dtype === 'float32';
    // (end − begin) / 4 elements, checked against the target's size inside adoptStorage
    if (!viewOk || !adoptStorage(target, new Float32Array(mapped, dataStart + entry.begin, (entry.end - entry.begin) / 4))) left.push(planned);
  }
  return left;
}

/** An F32 tensor whose first byte in the file is 4-byte aligned (a Float32Array view needs it). */
function canMap(dataStart: number, entry: HeaderEntry): boolean {
  return entry.dtype === 'F32' && (dataStart + entry.begin) % 4 === 0 && (entry.end - entry.begin) % 4 === 0;
}
