/**
 * A seeded random number generator, so a run with the same seed is reproducible bit for bit.
 *
 * Core: xoshiro128** (Blackman & Vigna), 32-bit state words seeded by splitmix32. It is fast in
 * JavaScript (only 32-bit integer ops) and its whole state is four numbers plus the cached
 * Box–Muller spare, which `getState()` / `setState()` save and restore for exact resume.
 */
import { QkvValueError } from './errors.ts';

export interface RngState {
  /** The four xoshiro128** state words. */
  words: [number, number, number, number];
  /** Box–Muller draws normals in pairs; the second is kept for the next call. */
  spareNormal: number | null;
}

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spareNormal: number | null = null;

  constructor(seed = 0) {
    this.seed(seed);
  }

  /** Resets the generator to the state it has right after `new Rng(seed)`. */
  seed(seed: number): void {
    if (!Number.isFinite(seed)) throw new QkvValueError(`Rng.seed: seed must be a finite number, got ${seed}`);
    // splitmix32 spreads any seed (0 included) over the four state words.
    let x = Math.trunc(seed) >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    this.spareNormal = null;
  }

  /** Next raw 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** Uniform double in [low, high). */
  uniformRange(low: number, high: number): number {
    return low + (high - low) * this.uniform();
  }

  /** Uniform integer in [0, n). */
  randint(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new QkvValueError(`Rng.randint: n must be a positive integer, got ${n}`);
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal draw (Box–Muller, pairs cached). */
  normal(mean = 0, std = 1): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return mean + std * z;
    }
    let u1 = this.uniform();
    while (u1 === 0) u1 = this.uniform(); // log(0) would be -Infinity
    const u2 = this.uniform();
    const radius = Math.sqrt(-2 * Math.log(u1));
    this.spareNormal = radius * Math.sin(2 * Math.PI * u2);
    return mean + std * radius * Math.cos(2 * Math.PI * u2);
  }

  /**
   * Draws an index with probability proportional to `weights[i]` (weights need not sum to 1;
   * all must be finite and ≥ 0, and at least one > 0).
   */
  categorical(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i];
      if (!(w >= 0) || !Number.isFinite(w)) {
        throw new QkvValueError(`Rng.categorical: weight ${i} is ${w}; weights must be finite and >= 0`);
      }
      total += w;
    }
    if (total <= 0) throw new QkvValueError('Rng.categorical: all weights are zero');
    let threshold = this.uniform() * total;
    for (let i = 0; i < weights.length; i++) {
      threshold -= weights[i];
      if (threshold < 0) return i;
    }
    // Rounding can leave threshold at exactly 0 after the loop: return the last non-zero weight.
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
    return weights.length - 1;
  }

  /** A random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.randint(i + 1);
      const tmp = out[i];
      out[i] = out[j];
      out[j] = tmp;
    }
    return out;
  }

  getState(): RngState {
    return { words: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0], spareNormal: this.spareNormal };
  }

  setState(state: RngState): void {
    if (!state || !Array.isArray(state.words) || state.words.length !== 4 || state.words.some((w) => !Number.isInteger(w))) {
      throw new QkvValueError('Rng.setState: state.words must be four integers');
    }
    [this.s0, this.s1, this.s2, this.s3] = state.words.map((w) => w >>> 0);
    this.spareNormal = state.spareNormal ?? null;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The generator used when an op is not given one (`manualSeed` resets it, like `torch.manual_seed`). */
export const defaultRng = new Rng(0);

/** Seeds the default generator. */
export function manualSeed(seed: number): void {
  defaultRng.seed(seed);
}
