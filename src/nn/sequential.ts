/**
 * `Sequential`: modules applied one after another, each output the next input. Children are
 * named `0`, `1`, … as in PyTorch, so `Sequential(Linear, ReLU, Linear)` has parameters
 * `0.weight`, `0.bias`, `2.weight`, `2.bias`.
 *
 * @example
 * const mlp = new Sequential(new Linear(2, 8), new Tanh(), new Linear(8, 1));
 * const y = mlp.forward(x); // (N, 2) → (N, 1)
 */
import type { Tensor } from '../tensor/tensor.ts';
import type { Module } from './module.ts';
import { ModuleList } from './module-list.ts';

/** A module whose forward maps one tensor to one tensor: what Sequential can chain. */
export type UnaryModule = Module & { forward(x: Tensor): Tensor };

export class Sequential extends ModuleList<UnaryModule> {
  constructor(...modules: UnaryModule[]) {
    super(modules);
  }

  forward(x: Tensor): Tensor {
    let out = x;
    for (const module of this) out = module.forward(out);
    return out;
  }
}
