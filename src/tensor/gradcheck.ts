/**
 * Gradient checking against central finite differences, in float64.
 *
 * For f: inputs → output, the analytic gradient of L = Σ w ⊙ f(inputs) (w a fixed random
 * weighting, so every output element matters and no symmetry hides a bug) is compared with
 * (L(x + ε) − L(x − ε)) / 2ε for every element of every input that requires grad.
 */
import { noGrad } from './autograd.ts';
import { QkvError } from './errors.ts';
import { Rng } from './random.ts';
import { Tensor } from './tensor.ts';
import { mul } from './ops/elementwise.ts';

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Largest accepted |analytic − numeric| / max(|analytic|, |numeric|, atol-floor) (default 1e-4). */
  rtol?: number;
  /** Absolute floor of the denominator, so gradients near 0 are compared absolutely (default 1e-3). */
  atol?: number;
  seed?: number;
}

export interface GradcheckResult {
  maxRelativeError: number;
  checked: number;
}

function weightedSum(output: Tensor, weights: Tensor): Tensor {
  // Σ w ⊙ out, built from elementwise ops only so the check does not lean on the reductions it may be testing.
  const product = mul(output, weights);
  const values = product.contiguous();
  let total = 0;
  for (let i = 0; i < values.size; i++) total += values.data[values.offset + i];
  return Tensor.scalar(total, { dtype: 'float64' });
}

/**
 * Throws a QkvError naming the op, input, element index and both gradients when they disagree.
 *
 * @example gradcheck('tanh', (x) => x.tanh(), [Tensor.randn([3, 5], { dtype: 'float64', requiresGrad: true })]);
 */
export function gradcheck(
  name: string,
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: Tensor[],
  options: GradcheckOptions = {},
): GradcheckResult {
  const eps = options.eps ?? 1e-6;
  const rtol = options.rtol ?? 1e-4;
  const atol = options.atol ?? 1e-3;
  for (const [i, input] of inputs.entries()) {
    if (input.dtype !== 'float64') throw new QkvError(`gradcheck ${name}: input ${i} must be float64, got ${input.dtype}`);
    input.grad = null;
  }
  const first = fn(...inputs);
  const weights = Tensor.randn(first.shape, { dtype: 'float64', rng: new Rng(options.seed ?? 1234) });
  // Analytic: backward of Σ w ⊙ f with gradient w (no reduction op involved).
  first.backward({ gradient: weights });

  let maxRelativeError = 0;
  let checked = 0;
  for (const [inputIndex, input] of inputs.entries()) {
    if (!input.requiresGrad) continue;
    if (!input.isContiguous() || input.offset !== 0) throw new QkvError(`gradcheck ${name}: input ${inputIndex} must be contiguous`);
    const analytic = input.grad ?? Tensor.zerosLike(input);
    for (let element = 0; element < input.size; element++) {
      const original = input.data[element];
      input.data[element] = original + eps;
      const plus = noGrad(() => weightedSum(fn(...inputs), weights)).item();
      input.data[element] = original - eps;
      const minus = noGrad(() => weightedSum(fn(...inputs), weights)).item();
      input.data[element] = original;
      const numeric = (plus - minus) / (2 * eps);
      const exact = analytic.contiguousData()[element];
      const error = Math.abs(exact - numeric) / Math.max(Math.abs(exact), Math.abs(numeric), atol);
      checked++;
      if (!(error <= rtol)) {
        throw new QkvError(
          `gradcheck ${name}: input ${inputIndex} ${`(${input.shape.join(',')})`} element ${element}: ` +
            `analytic ${exact} vs numeric ${numeric} (relative error ${error.toExponential(2)} > ${rtol})`,
        );
      }
      maxRelativeError = Math.max(maxRelativeError, error);
    }
  }
  return { maxRelativeError, checked };
}
