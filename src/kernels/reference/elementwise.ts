/**
 * Strided elementwise loops: out = a (a copy between layouts) or out = a ∘ b (∘ one of + − × ÷),
 * every operand read and written through its own strides over one shape. The tensor engine
 * coalesces axes first (src/tensor/ops/strided.ts `coalesceAxes`), so the common layouts are
 * long rows: a dense pair is one row, a bias (…, C) + (C) is rows of C against a fixed row
 * (stride 0), a transposed copy a strided row.
 *
 * Each element is one operation on the two stored values, rounded once into `out`, so every
 * backend that does the same gets the same bits.
 */
import type { Storage } from '../types.ts';

export type ElementwiseOp = 'copy' | 'add' | 'sub' | 'mul' | 'div';

/** One shape and the strides (and start offsets) of out, a and b over it; b is ignored for 'copy'. */
export interface StridedLayout {
  shape: readonly number[];
  outOffset: number;
  outStrides: readonly number[];
  aOffset: number;
  aStrides: readonly number[];
  bOffset: number;
  bStrides: readonly number[];
}

export function stridedElementwise(op: ElementwiseOp, out: Storage, a: Storage, b: Storage | null, layout: StridedLayout): void {
  const { shape, outStrides, aStrides, bStrides } = layout;
  const rank = shape.length;
  let size = 1;
  for (const dim of shape) size *= dim;
  if (size === 0) return;
  if (rank === 0) {
    elementwiseRow(op, 1, out, layout.outOffset, 1, a, layout.aOffset, 0, b ?? a, layout.bOffset, 0);
    return;
  }
  const rowSize = shape[rank - 1];
  const index = new Array<number>(rank).fill(0);
  let o = layout.outOffset;
  let ia = layout.aOffset;
  let ib = layout.bOffset;
  for (let start = 0; start < size; start += rowSize) {
    elementwiseRow(op, rowSize, out, o, outStrides[rank - 1], a, ia, aStrides[rank - 1], b ?? a, ib, b === null ? 0 : bStrides[rank - 1]);
    // advance the outer axes like an odometer
    for (let axis = rank - 2; axis >= 0; axis--) {
      index[axis]++;
      o += outStrides[axis];
      ia += aStrides[axis];
      ib += b === null ? 0 : bStrides[axis];
      if (index[axis] < shape[axis]) break;
      o -= outStrides[axis] * shape[axis];
      ia -= aStrides[axis] * shape[axis];
      ib -= b === null ? 0 : bStrides[axis] * shape[axis];
      index[axis] = 0;
    }
  }
}

/**
 * out[o + i·so] = a[ia + i·sa] ∘ b[ib + i·sb] for i < n. One loop per op and per kind of stride
 * (all 1; one operand fixed, stride 0; anything else), so every loop body is a single
 * monomorphic operation.
 */
function elementwiseRow(op: ElementwiseOp, n: number, out: Storage, o: number, so: number, a: Storage, ia: number, sa: number, b: Storage, ib: number, sb: number): void {
  if (op === 'copy') {
    if (so === 1 && sa === 1 && n >= 64) out.set(a.subarray(ia, ia + n), o); // `set` pays for a subarray; short rows loop
    else for (let i = 0; i < n; i++) out[o + i * so] = a[ia + i * sa];
    return;
  }
  if (so === 1 && sa === 1 && sb === 1) {
    switch (op) {
      case 'add': for (let i = 0; i < n; i++) out[o + i] = a[ia + i] + b[ib + i]; return;
      case 'sub': for (let i = 0; i < n; i++) out[o + i] = a[ia + i] - b[ib + i]; return;
      case 'mul': for (let i = 0; i < n; i++) out[o + i] = a[ia + i] * b[ib + i]; return;
      case 'div': for (let i = 0; i < n; i++) out[o + i] = a[ia + i] / b[ib + i]; return;
    }
  }
  if (so === 1 && sa === 1 && sb === 0) {
    const y = b[ib];
    switch (op) {
      case 'add': for (let i = 0; i < n; i++) out[o + i] = a[ia + i] + y; return;
      case 'sub': for (let i = 0; i < n; i++) out[o + i] = a[ia + i] - y; return;
      case 'mul': for (let i = 0; i < n; i++) out[o + i] = a[ia + i] * y; return;
      case 'div': for (let i = 0; i < n; i++) out[o + i] = a[ia + i] / y; return;
    }
  }
  if (so === 1 && sa === 0 && sb === 1) {
    const x = a[ia];
    switch (op) {
      case 'add': for (let i = 0; i < n; i++) out[o + i] = x + b[ib + i]; return;
      case 'sub': for (let i = 0; i < n; i++) out[o + i] = x - b[ib + i]; return;
      case 'mul': for (let i = 0; i < n; i++) out[o + i] = x * b[ib + i]; return;
      case 'div': for (let i = 0; i < n; i++) out[o + i] = x / b[ib + i]; return;
    }
  }
  switch (op) {
    case 'add': for (let i = 0; i < n; i++) out[o + i * so] = a[ia + i * sa] + b[ib + i * sb]; return;
    case 'sub': for (let i = 0; i < n; i++) out[o + i * so] = a[ia + i * sa] - b[ib + i * sb]; return;
    case 'mul': for (let i = 0; i < n; i++) out[o + i * so] = a[ia + i * sa] * b[ib + i * sb]; return;
    case 'div': for (let i = 0; i < n; i++) out[o + i * so] = a[ia + i * sa] / b[ib + i * sb]; return;
  }
}
