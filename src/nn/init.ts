/**
 * Weight initialisers, PyTorch's `torch.nn.init` in TypeScript. Each overwrites a tensor's values
 * in place (outside the autograd graph), draws from a seeded `Rng` (default: the global one that
 * `manualSeed` resets), and returns the tensor.
 *
 * Fan-in and fan-out are computed PyTorch's way, for a weight of shape (out, in, *kernel):
 * fan_in = in · ∏kernel, fan_out = out · ∏kernel. So a Linear weight (out, in) has
 * fan_in = in_features, fan_out = out_features.
 *
 * Inside {@link noInitWeights} every random initialiser here is a no-op that draws nothing, so a
 * model about to be overwritten by loaded weights is built without drawing (and without
 * advancing the generator): Hugging Face's `no_init_weights` context, in TypeScript.
 *
 * @example xavierUniform_(linear.weight, 1, new Rng(0));
 */
import { QkvValueError, formatShape } from '../tensor/errors.ts';
import { defaultRng, type Rng } from '../tensor/random.ts';
import type { Tensor } from '../tensor/tensor.ts';

/** Depth of nested `noInitWeights` calls; > 0 while one runs. */
let skipInitDepth = 0;

/**
 * Runs `build` (synchronous) with the random initialisers of this file switched off: they leave
 * tensors as allocated (zeros) and draw nothing. For building a model whose every weight is then
 * loaded from a file: a GPT-2 124M would otherwise draw 124M random numbers only to overwrite them.
 *
 * @example const model = noInitWeights(() => new GPT(config)); model.loadStateDict(weights);
 */
export function noInitWeights<T>(build: () => T): T {
  skipInitDepth++;
  try {
    return build();
  } finally {
    skipInitDepth--;
  }
}

/** True inside {@link noInitWeights}. */
export function initWeightsSkipped(): boolean {
  return skipInitDepth > 0;
}

/** Writes `draw()` into every element of `t` in row-major order, through any strided layout (not at all inside `noInitWeights`). */
function fillInPlace(t: Tensor, draw: () => number): Tensor {
  if (skipInitDepth > 0) return t;
  const rank = t.shape.length;
  const size = t.size;
  if (t.isContiguous()) {
    for (let i = 0; i < size; i++) t.data[t.offset + i] = draw();
    return t;
  }
  const index = new Array<number>(rank).fill(0);
  let position = t.offset;
  for (let i = 0; i < size; i++) {
    t.data[position] = draw();
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis]++;
      position += t.strides[axis];
      if (index[axis] < t.shape[axis]) break;
      position -= t.strides[axis] * t.shape[axis];
      index[axis] = 0;
    }
  }
  return t;
}

/**
 * PyTorch's `_calculate_fan_in_and_fan_out`: for shape (out, in, *kernel),
 * fanIn = in·∏kernel and fanOut = out·∏kernel. Needs at least 2 dimensions.
 */
export function fanInAndFanOut(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) {
    throw new QkvValueError(`fanInAndFanOut: fan in and fan out need a tensor of at least 2 dimensions, got ${formatShape(t.shape)}`);
  }
  let receptiveField = 1;
  for (let axis = 2; axis < t.ndim; axis++) receptiveField *= t.shape[axis];
  return { fanIn: t.shape[1] * receptiveField, fanOut: t.shape[0] * receptiveField };
}

export type Nonlinearity = 'linear' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

/**
 * PyTorch's `calculate_gain`: the factor that keeps activations' variance steady through a
 * layer followed by `nonlinearity`. linear, sigmoid: 1; tanh: 5/3; relu: √2;
 * leaky_relu: √(2 / (1 + slope²)) (slope default 0.01); selu: 3/4.
 */
export function calculateGain(nonlinearity: Nonlinearity, negativeSlope = 0.01): number {
  switch (nonlinearity) {
    case 'linear':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu':
      return Math.sqrt(2 / (1 + negativeSlope * negativeSlope));
    case 'selu':
      return 3 / 4;
    default:
      throw new QkvValueError(`calculateGain: unknown nonlinearity '${String(nonlinearity)}'`);
  }
}

/** Uniform values in [low, high). */
export function uniform_(t: Tensor, low = 0, high = 1, rng: Rng = defaultRng): Tensor {
  if (!(low <= high)) throw new QkvValueError(`uniform_: low ${low} must not exceed high ${high}`);
  return fillInPlace(t, () => rng.uniformRange(low, high));
}

/** Normal values with mean `mean` and standard deviation `std` (GPT-2: std 0.02). */
export function normal_(t: Tensor, mean = 0, std = 1, rng: Rng = defaultRng): Tensor {
  if (!(std >= 0)) throw new QkvValueError(`normal_: std must be >= 0, got ${std}`);
  return fillInPlace(t, () => rng.normal(mean, std));
}

export function constant_(t: Tensor, value: number): Tensor {
  return fillInPlace(t, () => value);
}

export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/**
 * Xavier/Glorot uniform (Glorot & Bengio 2010): U(−a, a) with a = gain·√(6 / (fanIn + fanOut)),
 * so the variance gain²·2/(fanIn + fanOut) is kept both forward and backward.
 */
export function xavierUniform_(t: Tensor, gain = 1, rng: Rng = defaultRng): Tensor {
  const { fanIn, fanOut } = fanInAndFanOut(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return fillInPlace(t, () => rng.uniformRange(-bound, bound));
}

/** Xavier/Glorot normal: N(0, std²) with std = gain·√(2 / (fanIn + fanOut)). */
export function xavierNormal_(t: Tensor, gain = 1, rng: Rng = defaultRng): Tensor {
  const { fanIn, fanOut } = fanInAndFanOut(t);
  const std = gain * Math.sqrt(2 / (fanIn + fanOut));
  return fillInPlace(t, () => rng.normal(0, std));
}

export interface KaimingOptions {
  /** Negative slope of the leaky ReLU that follows (only used with 'leaky_relu'); default 0. */
  a?: number;
  /** 'fan_in' keeps the forward variance, 'fan_out' the backward one; default 'fan_in'. */
  mode?: 'fan_in' | 'fan_out';
  /** Default 'leaky_relu', as in PyTorch. */
  nonlinearity?: Nonlinearity;
  rng?: Rng;
}

function kaimingStd(t: Tensor, options: KaimingOptions): number {
  const { fanIn, fanOut } = fanInAndFanOut(t);
  const fan = (options.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut;
  return calculateGain(options.nonlinearity ?? 'leaky_relu', options.a ?? 0) / Math.sqrt(fan);
}

/**
 * Kaiming/He uniform (He et al. 2015): U(−b, b) with b = gain·√(3 / fan).
 * PyTorch's Linear uses `a: √5` (gain √(1/3)), which makes b = 1/√fanIn.
 */
export function kaimingUniform_(t: Tensor, options: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, options);
  const rng = options.rng ?? defaultRng;
  return fillInPlace(t, () => rng.uniformRange(-bound, bound));
}

/** Kaiming/He normal: N(0, std²) with std = gain / √fan. */
export function kaimingNormal_(t: Tensor, options: KaimingOptions = {}): Tensor {
  const std = kaimingStd(t, options);
  const rng = options.rng ?? defaultRng;
  return fillInPlace(t, () => rng.normal(0, std));
}
