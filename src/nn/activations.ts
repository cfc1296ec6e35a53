/**
 * Activation functions as modules, so they can sit in a `Sequential` and be swapped by name
 * (the lab compares ReLU, LeakyReLU, GELU and SiLU in the feed-forward block). They hold no
 * parameters; the maths and gradients live in `tensor/ops/elementwise.ts`.
 */
import { QkvValueError } from '../tensor/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { Module } from './module.ts';

/** max(0, x). */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

/** x for x ≥ 0, negativeSlope·x otherwise (default slope 0.01, PyTorch's). */
export class LeakyReLU extends Module {
  readonly negativeSlope: number;

  constructor(negativeSlope = 0.01) {
    super();
    this.negativeSlope = negativeSlope;
  }

  override extraRepr(): string {
    return `negative_slope=${this.negativeSlope}`;
  }

  forward(x: Tensor): Tensor {
    return x.leakyRelu(this.negativeSlope);
  }
}

/**
 * x·Φ(x). `approximate: 'none'` (default) uses the exact erf form; 'tanh' uses GPT-2's
 * 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), which GPT-2 checkpoints were trained with.
 */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';

  constructor(options: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    const approximate = options.approximate ?? 'none';
    if (approximate !== 'none' && approximate !== 'tanh') {
      throw new QkvValueError(`GELU: approximate must be 'none' or 'tanh', got '${String(approximate)}'`);
    }
    this.approximate = approximate;
  }

  override extraRepr(): string {
    return this.approximate === 'none' ? '' : `approximate='${this.approximate}'`;
  }

  forward(x: Tensor): Tensor {
    return x.gelu(this.approximate);
  }
}

/** x·σ(x) (also called Swish), the activation inside Llama's SwiGLU. */
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return x.silu();
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

/** Returns its input: a placeholder where a layer is optional (no norm, no activation). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
