/**
 * `Dropout`: inverted dropout while training (each element zeroed with probability p, the rest
 * scaled by 1/(1−p) so the expected value is unchanged), the identity in eval mode.
 *
 * @example
 * const drop = new Dropout(0.1, { rng: new Rng(0) });
 * drop.forward(x);        // training: about 10% zeros, the rest × 1/0.9
 * drop.eval().forward(x); // x itself
 */
import { QkvValueError } from '../tensor/errors.ts';
import { dropout } from '../tensor/ops/dropout.ts';
import type { Rng } from '../tensor/random.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { Module } from './module.ts';

export class Dropout extends Module {
  readonly p: number;
  /** Generator for the masks; undefined uses the op's default (the global seeded one). */
  readonly rng: Rng | undefined;

  constructor(p = 0.5, options: { rng?: Rng } = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw new QkvValueError(`Dropout: p must be in [0, 1], got ${p}`);
    this.p = p;
    this.rng = options.rng;
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    return dropout(x, this.p, { training: true, rng: this.rng });
  }
}
