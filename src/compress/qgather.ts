/**
 * Embedding lookup on a packed matrix: the rows `ids` of W (N, K), dequantised, and nothing else.
 * A tied LM head quantised to Q8_0 / Q4_0 / Q4_G128 holds the token embedding already; gathering
 * from it means a quantised model need not keep the float (V, C) table as well (~154 MB at
 * GPT-2 124M, against ~41 MB for its Q8_0 head). Native (quant.cc's `qgather`) when the native
 * backend runs, else ggml's dequantize_row_* here (./formats.ts); the two are equal to the bit
 * (d·q is exact in float32, and d·q + m rounds once either way).
 *
 * Legend: I = ids looked up (B·T), N = rows of W (vocabulary), K = row width (channels).
 *
 * @example
 * const rows = gatherQuantizedRows(model.tied_lm_head.qweight, ids); // Float32Array(I·K)
 */
import { createRequire } from 'node:module';
import { currentBackend } from '../kernels/index.ts';
import { nativeAddonPath } from '../kernels/native/index.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { dequantizeRow, type QuantizedMatrix } from './formats.ts';
import { FORMAT_CODES } from './qmatmul-native.ts';

type NativeGather = (format: number, out: Float32Array, w: Uint8Array, ids: Int32Array, N: number, K: number) => void;

let nativeGather: NativeGather | null | undefined;

/** The addon's `qgather`, or null off the native backend or with an addon built before it. */
function nativeGatherKernel(): NativeGather | null {
  if (currentBackend().name !== 'native') return null;
  if (nativeGather === undefined) {
    const addon = createRequire(import.meta.url)(nativeAddonPath()) as { qgather?: NativeGather };
    nativeGather = typeof addon.qgather === 'function' ? addon.qgather : null;
  }
  return nativeGather;
}

/** The TypeScript gather alone (the reference, and the path off the native backend). */
export function gatherQuantizedRowsTypeScript(weight: QuantizedMatrix, ids: Int32Array): Float32Array {
  checkIds(weight, ids);
  const K = weight.cols;
  const out = new Float32Array(ids.length * K);
  for (let i = 0; i < ids.length; i++) dequantizeRow(weight, ids[i], out.subarray(i * K, (i + 1) * K));
  return out;
}

/** out (I, K) = dequantised rows ids of the packed (N, K) weight. */
export function gatherQuantizedRows(weight: QuantizedMatrix, ids: Int32Array): Float32Array {
  const native = nativeGatherKernel();
  if (native === null) return gatherQuantizedRowsTypeScript(weight, ids);
  checkIds(weight, ids);
  const out = new Float32Array(ids.length * weight.cols);
  native(FORMAT_CODES[weight.format], out, weight.data, ids, weight.rows, weight.cols);
  return out;
}

function checkIds(weight: QuantizedMatrix, ids: Int32Array): void {
  for (let i = 0; i < ids.length; i++) {
    if (!(ids[i] >= 0 && ids[i] < weight.rows)) {
      throw new QkvValueError(`gatherQuantizedRows: id ${ids[i]} at position ${i} is out of range for the ${weight.rows} rows of a ${weight.format} (${weight.rows}, ${weight.cols}) matrix`);
    }
  }
}
