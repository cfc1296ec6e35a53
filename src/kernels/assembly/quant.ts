// @ts-nocheck — AssemblyScript, compiled by `asc` (scripts/build-wasm.mjs), not by tsc.
//
// Quantised matmul on ggml-layout packed blocks, wasm SIMD: the activation rows are quantised
// to 8 bits per block of 32 once per call (ggml's quantize_row_q8_0 rule, float32 scale), then
// every weight block is an i8·i8 dot (i16x8.extmul + i32x4.extadd_pairwise) on its packed codes,
// as ggml's wasm `ggml_vec_dot_q8_0_q8_0` does. The weight is never dequantised.
//   twin: src/kernels/native/quant-blocks.h (same rule and block layouts, scalar and x86 SIMD)
//
// Weight formats (src/compress/formats.ts):
//   Q8_0     34 bytes / 32 weights: d (fp16) | qs[32] int8                          w = d·q
//   Q4_0     18 bytes / 32 weights: d (fp16) | qs[16], byte j = w[j] | w[j+16] << 4   w = d·(q − 8)
//   Q4_G128  68 bytes / 128 weights: d | m (fp16) | qs[64], byte j = w[j] | w[j+64] << 4  w = d·q + m
// Legend: M = activation rows, K = in_features (the quantised axis), N = out_features.

/** IEEE half → float: the 15 magnitude bits moved to float32's place, rebiased by × 2¹¹²
 * (exact for normals and subnormals alike); infinities and NaNs keep an all-ones exponent. */
@inline function halfToFloat(h: u32): f32 {
  const magnitude = (h & 0x7fff) << 13;
  let value = reinterpret<f32>(magnitude) * reinterpret<f32>(<u32>0x77800000); // 2^112
  if ((h & 0x7c00) == 0x7c00) value = reinterpret<f32>(magnitude | 0x7f800000);
  return (h & 0x8000) != 0 ? -value : value;
}

@inline function readHalf(p: usize): f32 {
  return halfToFloat(<u32>load<u16>(p));
}

/**
 * x (M, K) float32 → codes (M·K) int8 and scales (M·K/32) float32, scale amax/127 and
 * round-half-away (C's roundf), as quant-blocks.h's quantizeActivationRow. A block holding a NaN
 * or infinity gets a NaN scale, so what it feeds is NaN rather than silently finite.
 * groupSums (M·K/128, the Σx of each group of 128, for Q4_G128's offset) when groupSums ≠ 0.
 */
export function quantizeActivations(M: i32, K: i32, x: usize, codes: usize, scales: usize, groupSums: usize): void {
  const blocks = (M * K) >> 5;
  for (let b = 0; b < blocks; b++) {
    const xb = x + (<usize>b << 7);
    let amax: f32 = 0;
    let finite = true;
    for (let j = 0; j < 32; j++) {
      const a = Mathf.abs(load<f32>(xb + (<usize>j << 2)));
      finite = finite && a <= 3.4028235e38;
      amax = a > amax ? a : amax;
    }
    const d: f32 = finite ? amax / 127 : NaN;
    const id: f32 = finite && d != 0 ? 1 / d : 0;
    store<f32>(scales + (<usize>b << 2), d);
    const cb = codes + (<usize>b << 5);
    for (let j = 0; j < 32; j++) {
      const v = load<f32>(xb + (<usize>j << 2)) * id;
      let q = Mathf.floor(Mathf.abs(v) + 0.5);
      q = q > 127 ? 127 : q;
      store<i8>(cb + j, v != v ? 0 : <i8>(v < 0 ? -q : q));
    }
  }
  if (groupSums != 0) {
    const groups = (M * K) >> 7;
    for (let g = 0; g < groups; g++) {
      const xg = x + (<usize>g << 9);
      let s: f32 = 0;
      for (let j = 0; j < 128; j++) s += load<f32>(xg + (<usize>j << 2));
      store<f32>(groupSums + (<usize>g << 2), s);
    }
  }
}

/** Σ a[j]·b[j] over 16 int8 pairs, as 4 int32 lanes (products fit int16: |q| ≤ 128·127). */
@inline function dot16(a: v128, b: v128): v128 {
  return i32x4.add(
    i32x4.extadd_pairwise_i16x8_s(i16x8.extmul_low_i8x16_s(a, b)),
    i32x4.extadd_pairwise_i16x8_s(i16x8.extmul_high_i8x16_s(a, b)),
  );
}

@inline function horizontalSum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** One Q8_0 weight row (w) · one quantised activation row (xq codes, xd scales). */
@inline function dotQ8_0(w: usize, xq: usize, xd: usize, blocks: i32): f32 {
  let acc = f32x4.splat(0);
  for (let b = 0; b < blocks; b++) {
    const block = w + <usize>b * 34;
    const x = xq + (<usize>b << 5);
    const s = i32x4.add(dot16(v128.load(block + 2), v128.load(x)), dot16(v128.load(block + 18), v128.load(x + 16)));
    const scale = readHalf(block) * load<f32>(xd + (<usize>b << 2));
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(scale)));
  }
  return horizontalSum(acc);
}

/** One Q4_0 weight row · one quantised activation row: nibbles − 8 as int8, then the same dot. */
@inline function dotQ4_0(w: usize, xq: usize, xd: usize, blocks: i32): f32 {
  let acc = f32x4.splat(0);
  const lowMask = i8x16.splat(0x0f);
  const eight = i8x16.splat(8);
  for (let b = 0; b < blocks; b++) {
    const block = w + <usize>b * 18;
    const x = xq + (<usize>b << 5);
    const bytes = v128.load(block + 2);
    const low = i8x16.sub(v128.and(bytes, lowMask), eight);   // weights 0..15
    const high = i8x16.sub(i8x16.shr_u(bytes, 4), eight);     // weights 16..31
    const s = i32x4.add(dot16(low, v128.load(x)), dot16(high, v128.load(x + 16)));
    const scale = readHalf(block) * load<f32>(xd + (<usize>b << 2));
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(scale)));
  }
  return horizontalSum(acc);
}

/** One 32-code sub-block of a Q4_G128 group (nibbles 0..15 as int8) · its 32 x codes, times xd. */
@inline function subBlockQ4(nibbles0: v128, nibbles1: v128, x: usize, xd: f32): v128 {
  const s = i32x4.add(dot16(nibbles0, v128.load(x)), dot16(nibbles1, v128.load(x + 16)));
  return f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(xd));
}

/** One Q4_G128 weight row · one quantised activation row: d·Σ q·x̂ + m·Σ x per group. */
@inline function dotQ4G128(w: usize, xq: usize, xd: usize, groupSums: usize, groups: i32): f32 {
  let acc = f32x4.splat(0);
  let offsets: f32 = 0;
  const lowMask = i8x16.splat(0x0f);
  for (let g = 0; g < groups; g++) {
    const block = w + <usize>g * 68;
    const x = xq + (<usize>g << 7);
    const d = xd + (<usize>g << 4); // 4 activation scales per group
    const b0 = v128.load(block + 4), b1 = v128.load(block + 20), b2 = v128.load(block + 36), b3 = v128.load(block + 52);
    // low nibbles of bytes 0..63 are weights 0..63, high nibbles weights 64..127
    let group = subBlockQ4(v128.and(b0, lowMask), v128.and(b1, lowMask), x, load<f32>(d));
    group = f32x4.add(group, subBlockQ4(v128.and(b2, lowMask), v128.and(b3, lowMask), x + 32, load<f32>(d + 4)));
    group = f32x4.add(group, subBlockQ4(i8x16.shr_u(b0, 4), i8x16.shr_u(b1, 4), x + 64, load<f32>(d + 8)));
    group = f32x4.add(group, subBlockQ4(i8x16.shr_u(b2, 4), i8x16.shr_u(b3, 4), x + 96, load<f32>(d + 12)));
    acc = f32x4.add(acc, f32x4.mul(group, f32x4.splat(readHalf(block))));
    offsets += readHalf(block + 2) * load<f32>(groupSums + (<usize>g << 2));
  }
  return horizontalSum(acc) + offsets;
}

/**
 * out[m, n] = x̂[m] · Ŵ[n] for m in [0, M), n in [n0, n1): out (M, N) row-major, W (N, K) packed
 * in `format` (0 = q8_0, 1 = q4_0, 2 = q4_g128), x̂ from `quantizeActivations`. A column range,
 * so threads split N (each weight row is read once, for all M activation rows, while in cache).
 */
export function qmatmulColumns(format: i32, M: i32, N: i32, K: i32, n0: i32, n1: i32, codes: usize, scales: usize, groupSums: usize, w: usize, out: usize): void {
  const blockBytes = format == 0 ? 34 : format == 1 ? 18 : 68;
  const blockSize = format == 2 ? 128 : 32;
  const rowBytes = <usize>(K / blockSize) * blockBytes;
  for (let n = n0; n < n1; n++) {
    const row = w + <usize>n * rowBytes;
    for (let m = 0; m < M; m++) {
      const xq = codes + <usize>m * K;
      const xd = scales + (<usize>(m * (K >> 5)) << 2);
      let value: f32;
      if (format == 0) value = dotQ8_0(row, xq, xd, K >> 5);
      else if (format == 1) value = dotQ4_0(row, xq, xd, K >> 5);
      else value = dotQ4G128(row, xq, xd, groupSums + (<usize>(m * (K >> 7)) << 2), K >> 7);
      store<f32>(out + ((<usize>m * N + n) << 2), value);
    }
  }
}
