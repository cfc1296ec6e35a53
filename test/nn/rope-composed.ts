/**
 * RoPE as qkv computed it before the fused kernel (commit b1154c5): Hugging Face's
 * x·cos + rotate_half(x)·signedSin of elementwise tensor ops over full-width tables, the signs of
 * rotate_half folded into signedSin. Kept as an independent oracle (tests: same float32 bits
 * forward and backward) and as the baseline of bench/rope.ts.
 */
import { concat } from '../../src/tensor/ops/shape.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

const tables = new Map<string, { cos: Tensor; signedSin: Tensor }>();

/** x (B, NH, T, hs) rotated by positions positionOffset … positionOffset + T − 1. */
export function composedRotaryEmbedding(x: Tensor, positionOffset: number, theta = 10000): Tensor {
  const [, , T, hs] = x.shape;
  const half = hs / 2;
  const rows = positionOffset + T;
  const key = `${theta},${hs},${x.dtype},${rows}`;
  let table = tables.get(key);
  if (table === undefined) {
    const cos = Tensor.zeros([rows, hs], { dtype: x.dtype });
    const signedSin = Tensor.zeros([rows, hs], { dtype: x.dtype });
    for (let i = 0; i < half; i++) {
      const inverseFrequency = 1 / Math.pow(theta, (2 * i) / hs);
      for (let position = 0; position < rows; position++) {
        const angle = position * inverseFrequency;
        cos.data[position * hs + i] = cos.data[position * hs + half + i] = Math.cos(angle);
        signedSin.data[position * hs + i] = -Math.sin(angle);
        signedSin.data[position * hs + half + i] = Math.sin(angle);
      }
    }
    table = { cos, signedSin };
    tables.set(key, table);
  }
  const cos = table.cos.narrow(0, positionOffset, T); // (T, hs), broadcast over (B, NH)
  const signedSin = table.signedSin.narrow(0, positionOffset, T);
  const rotated = concat([x.narrow(3, half, half), x.narrow(3, 0, half)], 3); // (B, NH, T, hs): [second, first]
  return x.mul(cos).add(rotated.mul(signedSin));
}
