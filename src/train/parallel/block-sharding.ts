/**
 * Per-block hooks for sharded data parallelism (FSDP / ZeRO-3): a transformer block's full
 * parameters exist only while that block runs, forward or backward.
 *
 * `shardBlockForwards` replaces each block's `forward` (an own property on the instance; the
 * model file is untouched) by:
 *
 *   forward   gather(block) → block.forward under noGrad → release(block)
 *             the output gets one graph node, `fsdpBlock`, whose inputs are the block's tensor
 *             arguments (x and, with a T5 bias, the shared bias)
 *   backward  gather(block) → the same forward again, recorded, on leaf copies of the inputs,
 *             with the dropout generator rewound to where the first forward started (the same
 *             masks) → backward through it with the incoming gradient → reduce(block) (the
 *             caller reduce-scatters the block's full gradients and drops them) → release(block)
 *
 * Why recompute rather than keep the first forward's graph: the kernels' backward closures hold
 * the parameter arrays they read in forward (matmul's right operand, layerNorm's gain), so a graph
 * that outlived a freed block would keep its full parameters alive. Recomputing the block is
 * activation checkpointing (one more forward of each block per step), and it means a block's
 * activations, like its parameters, exist only while it runs.
 *
 * @example
 * const restore = shardBlockForwards(model.transformer.h, { gather, release, reduce });
 * model.forward(ids, { targets }).loss!.backward(); // blocks gathered one at a time
 * restore();
 */
import { attachGrad, enableGrad, isGradEnabled, noGrad } from '../../tensor/autograd.ts';
import { QkvValueError } from '../../tensor/errors.ts';
import { defaultRng } from '../../tensor/random.ts';
import { Tensor } from '../../tensor/tensor.ts';

/** A module whose forward takes tensors (and anything else) and returns one tensor. */
export interface ShardedBlock {
  forward(...args: never[]): Tensor;
}

export interface BlockShardHooks {
  /** Make block `index`'s full parameters present (all ranks call it at the same point). */
  gather(index: number): void;
  /** Free them again. */
  release(index: number): void;
  /** Block `index`'s backward is done: its parameters' `.grad` hold this rank's full gradients; reduce-scatter and drop them. */
  reduce(index: number): void;
}

/** A leaf that sees `tensor`'s storage (no copy) and collects its gradient. */
function leafOf(tensor: Tensor): Tensor {
  return new Tensor(tensor.data, tensor.shape, tensor.strides, tensor.offset, true);
}

/**
 * Installs the hooks on every block; returns a function that puts the original forwards back.
 * Cached decoding (a non-tensor object argument such as a KV cache layer) is not sharded: it is
 * refused, since the workers only train.
 */
export function shardBlockForwards(blocks: readonly ShardedBlock[], hooks: BlockShardHooks): () => void {
  const originals = blocks.map((block) => block.forward);
  const hadOwnForward = blocks.map((block) => Object.hasOwn(block, 'forward'));
  blocks.forEach((block, index) => {
    const original = originals[index].bind(block) as (...args: unknown[]) => Tensor;
    const sharded = (...args: unknown[]): Tensor => {
      if (args.some((arg) => typeof arg === 'object' && arg !== null && !(arg instanceof Tensor))) {
        throw new QkvValueError(`shardBlockForwards: block ${index} was called with a cache; sharded blocks only train`);
      }
      hooks.gather(index);
      if (!isGradEnabled()) {
        try {
          return original(...args);
        } finally {
          hooks.release(index);
        }
      }
      const rngAtForward = defaultRng.getState();
      let output: Tensor;
      try {
        output = noGrad(() => original(...args));
      } finally {
        hooks.release(index);
      }
      const differentiable = args.flatMap((arg, position) => (arg instanceof Tensor && arg.requiresGrad ? [position] : []));
      // The block's parameters need their gradients even when no input carries one (a frozen
      // embedding): a scalar anchor then keeps the node in the graph.
      const inputs = differentiable.length > 0 ? differentiable.map((position) => args[position] as Tensor) : [new Tensor(new Float32Array(1), [], undefined, 0, true)];
      return attachGrad(output, 'fsdpBlock', inputs, (gradOutput) => {
        hooks.gather(index);
        try {
          const leaves = args.map((arg, position) => (differentiable.includes(position) ? leafOf(arg as Tensor) : arg));
          const rngAtBackward = defaultRng.getState();
          defaultRng.setState(rngAtForward); // the same dropout masks as the forward that produced `output`
          let again: Tensor;
          try {
            again = enableGrad(() => original(...leaves));
          } finally {
            defaultRng.setState(rngAtBackward);
          }
          again.backward({ gradient: gradOutput });
          hooks.reduce(index);
          return differentiable.length > 0 ? differentiable.map((position) => (leaves[position] as Tensor).grad) : [null];
        } finally {
          hooks.release(index);
        }
      });
    };
    (block as { forward: unknown }).forward = sharded;
  });
  return () =>
    blocks.forEach((block, index) => {
      if (hadOwnForward[index]) (block as { forward: unknown }).forward = originals[index];
      else delete (block as { forward?: unknown }).forward; // the class's method again
    });
}
