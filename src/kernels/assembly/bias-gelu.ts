// @ts-nocheck — AssemblyScript, compiled by `asc` (scripts/build-wasm.mjs), not by tsc.
//
// Bias add then GPT-2's tanh GELU in one pass, forward beside backward: the MLP's first
// projection h = x·W + b, y = gelu_tanh(h), without h ever written out.
//   reference: gelu(add(x, bias), 'tanh') composed from src/tensor/ops (see src/tensor/ops/fused.ts)
// Legend: N = rows (B·T), C = channels (the MLP's 4·n_embd). x, y, g, dx are (N, C) float32;
// bias and dbias are (C).
// The GELU maths are ./activation.ts's (through e = exp(2u), the same clamps, the backward's
// slope in float64), on 4 lanes.

import { geluTanhGradV, geluTanhV } from './activation';

/** y = gelu_tanh(x + bias), row by row. */
export function biasGeluForward(N: i32, C: i32, x: usize, bias: usize, y: usize): void {
  const rowBytes = <usize>C << 2;
  for (let row = 0; row < N; row++) {
    const xr = x + <usize>row * rowBytes;
    const yr = y + <usize>row * rowBytes;
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const at = <usize>c << 2;
      v128.store(yr + at, geluTanhV(f32x4.add(v128.load(xr + at), v128.load(bias + at))));
    }
    for (; c < C; c++) {
      const at = <usize>c << 2;
      const h = load<f32>(xr + at) + load<f32>(bias + at);
      store<f32>(yr + at, f32x4.extract_lane(geluTanhV(f32x4.splat(h)), 0));
    }
  }
}

/**
 * dx = g · gelu_tanh'(x + bias) (written; may alias g: each lane reads its g first), and
 * dbias += Σ_rows dx (accumulated in float32: the caller zeroes it).
 */
export function biasGeluBackward(N: i32, C: i32, x: usize, bias: usize, g: usize, dx: usize, dbias: usize): void {
  const rowBytes = <usize>C << 2;
  for (let row = 0; row < N; row++) {
    const xr = x + <usize>row * rowBytes;
    const gr = g + <usize>row * rowBytes;
    const dr = dx + <usize>row * rowBytes;
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const at = <usize>c << 2;
      const d = geluTanhGradV(f32x4.add(v128.load(xr + at), v128.load(bias + at)), v128.load(gr + at));
      v128.store(dr + at, d);
      if (dbias != 0) v128.store(dbias + at, f32x4.add(v128.load(dbias + at), d));
    }
    for (; c < C; c++) {
      const at = <usize>c << 2;
      const h = load<f32>(xr + at) + load<f32>(bias + at);
      const d = f32x4.extract_lane(geluTanhGradV(f32x4.splat(h), f32x4.splat(load<f32>(gr + at))), 0);
      store<f32>(dr + at, d);
      if (dbias != 0) store<f32>(dbias + at, load<f32>(dbias + at) + d);
    }
  }
}
