/**
 * The flattened parameter vector of a model, as data-parallel workers see it: every trainable
 * parameter laid end to end in `parameters()` order, and that vector cut into buckets of whole
 * parameters (a parameter larger than the capacity gets buckets of its own), so collectives
 * move a bucket at a time through a fixed shared buffer.
 *
 * @example
 * const layout = flatLayout(model.parameters().map((p) => p.size), 1 << 16);
 * layout.buckets; // [[0, 65536], [65536, 70000], …] flat [start, end) ranges
 */
import { QkvValueError } from '../../tensor/errors.ts';

export interface FlatLayout {
  /** Elements of each parameter. */
  sizes: number[];
  /** Flat offset of each parameter. */
  offsets: number[];
  /** Elements in all. */
  length: number;
  /** Flat [start, end) of each bucket. */
  buckets: [number, number][];
  /** The largest bucket (the shared buffer holds this many per rank). */
  bucketCapacity: number;
}

/** Default bucket: 2^18 floats (1 MiB), as PyTorch DDP's 25 MiB scaled to small models. */
export const DEFAULT_BUCKET_ELEMENTS = 1 << 18;

export function flatLayout(sizes: readonly number[], bucketElements = DEFAULT_BUCKET_ELEMENTS): FlatLayout {
  if (!(Number.isInteger(bucketElements) && bucketElements > 0)) throw new QkvValueError(`flatLayout: bucketElements must be a positive integer, got ${bucketElements}`);
  const offsets: number[] = [];
  let length = 0;
  for (const size of sizes) {
    offsets.push(length);
    length += size;
  }
  const buckets: [number, number][] = [];
  let start = 0;
  let end = 0;
  for (let p = 0; p < sizes.length; p++) {
    const paramEnd = offsets[p] + sizes[p];
    if (paramEnd - start <= bucketElements) {
      end = paramEnd;
      continue;
    }
    if (end > start) buckets.push([start, end]);
    start = end;
    // A parameter larger than a bucket is cut into full buckets; its remainder opens the next.
    while (paramEnd - start > bucketElements) {
      buckets.push([start, start + bucketElements]);
      start += bucketElements;
    }
    end = paramEnd;
  }
  if (end > start) buckets.push([start, end]);
  const bucketCapacity = Math.max(1, ...buckets.map(([a, b]) => b - a));
  return { sizes: [...sizes], offsets, length, buckets, bucketCapacity };
}

/** Calls visit(param, from, to, flatFrom) for the part [from, to) of each parameter inside flat [start, end). */
function forEachSegment(layout: FlatLayout, start: number, end: number, visit: (param: number, from: number, to: number, flatFrom: number) => void): void {
  for (let p = 0; p < layout.sizes.length; p++) {
    const a = Math.max(start, layout.offsets[p]);
    const b = Math.min(end, layout.offsets[p] + layout.sizes[p]);
    if (a < b) visit(p, a - layout.offsets[p], b - layout.offsets[p], a);
  }
}

/** Copies flat [start, end) of `parts` (one array per parameter) into `target` (length end − start). */
export function copyToFlat(layout: FlatLayout, parts: readonly Float32Array[], start: number, end: number, target: Float32Array): void {
  forEachSegment(layout, start, end, (p, from, to, flatFrom) => target.set(parts[p].subarray(from, to), flatFrom - start));
}

/** Copies `source` (flat [start, end)) back into `parts`. */
export function copyFromFlat(layout: FlatLayout, parts: readonly Float32Array[], start: number, end: number, source: Float32Array): void {
  forEachSegment(layout, start, end, (p, from, to, flatFrom) => parts[p].set(source.subarray(flatFrom - start, flatFrom - start + to - from), from));
}

/** The pieces of each parameter inside flat [start, end): FSDP's shard, cut at parameter boundaries. */
export function segmentsOf(layout: FlatLayout, start: number, end: number): { param: number; from: number; to: number; shardOffset: number }[] {
  const segments: { param: number; from: number; to: number; shardOffset: number }[] = [];
  forEachSegment(layout, start, end, (param, from, to, flatFrom) => segments.push({ param, from, to, shardOffset: flatFrom - start }));
  return segments;
}
