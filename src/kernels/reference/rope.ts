/**
 * Rotary position embedding (RoPE), Hugging Face Llama's rotate_half convention: element i of a
 * head is paired with element i + hs/2 and the pair is turned by the angle of its position and
 * pair (Su et al. 2021). The backward is the same turn by −angle (`inverse`): a rotation's
 * transpose is its inverse, so dx = R(−θ)·dout.
 *
 * Legend: B = batch, NH = heads, T = time, hs = head size. x (B, NH, T, hs) through strides (last
 * axis dense), out (B, NH, T, hs) contiguous, cos and sin (rows, hs/2) with row = position.
 */
import type { RotaryParams, Storage } from '../types.ts';

/** out = rotate(x) by the table rows position … position + T − 1; see `RotaryParams`. */
export function rotaryEmbedding(out: Storage, x: Storage, cos: Storage, sin: Storage, p: RotaryParams): void {
  const { B, NH, T, hs } = p;
  const half = hs / 2;
  const strideT = p.strideT ?? hs;
  const strideH = p.strideH ?? T * strideT;
  const strideB = p.strideB ?? NH * strideH;
  const position = p.position ?? 0;
  const direction = p.inverse ? -1 : 1;
  // Float32 storage: each product rounded to float32 as the native kernel and the elementwise
  // composition it replaced do, so every backend gives the same bits; float64 stays exact.
  const round = out instanceof Float32Array ? Math.fround : (value: number) => value;
  let at = 0; // out is contiguous: (b, h, t) rows in order
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let t = 0; t < T; t++) {
        const from = (p.offset ?? 0) + b * strideB + h * strideH + t * strideT;
        const row = (position + t) * half;
        for (let i = 0; i < half; i++) {
          const first = x[from + i];
          const second = x[from + half + i];
          const c = cos[row + i];
          const s = direction * sin[row + i];
          out[at + i] = round(first * c) - round(second * s);
          out[at + half + i] = round(second * c) + round(first * s);
        }
        at += hs;
      }
    }
  }
}
