/**
 * Reverse-mode automatic differentiation.
 *
 * Every op that produces a tensor from inputs that require gradients attaches a `GradFn` to
 * its output: the inputs, and a backward function that turns the gradient of the output into
 * gradients of the inputs (each in its input's shape). `backward()` walks the graph once in
 * reverse topological order, sums the gradients that reach each tensor, and accumulates into
 * `.grad` of the leaves (tensors created by the user with `requiresGrad`). Afterwards the graph
 * is freed (backward closures and the activations they hold are dropped), so a training loop
 * that builds a new graph each step does not grow memory step by step.
 */
import { givePooled, recordAllocations } from './buffer-pool.ts';
import { QkvError } from './errors.ts';
import type { Storage, Tensor } from './tensor.ts';

export interface GradFn {
  /** Op name, for error messages and graph inspection. */
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /**
   * Gradient of the loss w.r.t. each input, given the gradient w.r.t. the output.
   * `needsInputGrad[i]` is false for inputs that do not require grad; the function may return
   * null for them and skip the work.
   */
  readonly backward: (gradOutput: Tensor, needsInputGrad: readonly boolean[]) => readonly (Tensor | null)[];
}

let gradEnabled = true;

/** True unless inside `noGrad()`. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Runs `fn` without recording a graph, like `torch.no_grad()`: outputs do not require grad.
 * Use it for evaluation, generation and in-place parameter updates.
 *
 * @example const logits = noGrad(() => model.forward(ids));
 */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/** Runs `fn` with graph recording on, even inside `noGrad()`. */
export function enableGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/**
 * Records `output = op(inputs)` in the graph when any input requires grad and recording is on.
 * Returns `output` for chaining. Ops call this once, right after computing their forward.
 */
export function attachGrad(
  output: Tensor,
  name: string,
  inputs: readonly Tensor[],
  backward: GradFn['backward'],
): Tensor {
  if (!gradEnabled) return output;
  let needed = false;
  for (const input of inputs) if (input.requiresGrad) needed = true;
  if (!needed) return output;
  output.requiresGrad = true;
  output.gradFn = { name, inputs, backward };
  return output;
}

/** What an intermediate tensor's gradFn becomes once its graph has been freed. */
const FREED: GradFn = {
  name: 'freed',
  inputs: [],
  backward: () => {
    throw new QkvError(
      'backward: this graph was already freed by an earlier backward(); call backward({ retainGraph: true }) the first time to go through it twice',
    );
  },
};

export interface BackwardOptions {
  /** Gradient of the final quantity w.r.t. `root`; defaults to ones (root must then be a scalar). */
  gradient?: Tensor;
  /** Keep the graph so backward can run through it again. */
  retainGraph?: boolean;
  /**
   * Hand the storage of the graph's intermediate tensors (the forward activations) to the buffer
   * pool once backward is done, so the next step's forward reuses it instead of allocating and
   * zero-filling fresh arrays. For a training step that reads nothing of its forward afterwards
   * but the root (always kept) and the tensors in `keep`: any other intermediate the caller still
   * holds (logits, say) will be overwritten by later steps. Leaves, their views, and inputs that
   * do not require grad are never released. Ignored with `retainGraph`.
   */
  releaseActivations?: boolean;
  /** Intermediate tensors whose storage `releaseActivations` must leave alone. */
  keep?: readonly Tensor[];
}

/**
 * The storage of `order`'s intermediate tensors that nothing outside the graph's internals can
 * see: not the root's, not `keep`'s, not a leaf's (a parameter's view shares its buffer), not
 * that of an input outside the graph (ids, masks, constants).
 */
function releasableActivations(root: Tensor, order: readonly Tensor[], keep: readonly Tensor[]): Storage[] {
  const excluded = new Set<ArrayBufferLike>([root.data.buffer, ...keep.map((t) => t.data.buffer)]);
  const candidates = new Map<ArrayBufferLike, Storage>();
  for (const tensor of order) {
    const gradFn = tensor.gradFn;
    if (gradFn === null) {
      excluded.add(tensor.data.buffer);
      if (tensor.grad !== null) excluded.add(tensor.grad.data.buffer);
      continue;
    }
    candidates.set(tensor.data.buffer, tensor.data);
    for (const input of gradFn.inputs) if (!input.requiresGrad) excluded.add(input.data.buffer);
  }
  const released: Storage[] = [];
  for (const [buffer, data] of candidates) if (!excluded.has(buffer)) released.push(data);
  return released;
}

/** Reverse topological order (root first) of the tensors that lead to `root` and require grad. */
function reverseTopologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  // Iterative post-order DFS: deep graphs (long unrolled loops) must not overflow the JS stack.
  const stack: { tensor: Tensor; nextInput: number }[] = [{ tensor: root, nextInput: 0 }];
  visited.add(root);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    const inputs = frame.tensor.gradFn?.inputs ?? [];
    if (frame.nextInput < inputs.length) {
      const input = inputs[frame.nextInput++];
      if (input.requiresGrad && !visited.has(input)) {
        visited.add(input);
        stack.push({ tensor: input, nextInput: 0 });
      }
    } else {
      order.push(frame.tensor);
      stack.pop();
    }
  }
  return order.reverse();
}

/** Backpropagates from `root`; see `Tensor.backward`. */
export function runBackward(
  root: Tensor,
  options: BackwardOptions = {},
  ones: (like: Tensor) => Tensor,
  add: (a: Tensor, b: Tensor) => Tensor,
  addInto?: (target: Tensor, source: Tensor) => void,
): void {
  if (!root.requiresGrad) {
    throw new QkvError('backward: the tensor does not require grad (no input of the computation had requiresGrad: true, or it was computed inside noGrad())');
  }
  if (options.gradient === undefined && root.size !== 1) {
    throw new QkvError(`backward: gradient can be implied only for a scalar; got shape (${root.shape.join(',')}); pass { gradient }`);
  }
  const gradients = new Map<Tensor, Tensor>();
  gradients.set(root, options.gradient ?? ones(root));
  const order = reverseTopologicalOrder(root);
  const releaseActivations = options.releaseActivations === true && !options.retainGraph;
  const activations = releaseActivations ? releasableActivations(root, order, options.keep ?? []) : [];

  // Buffer reuse (./buffer-pool.ts): buffers allocated during this pass, counted while gradients
  // in the map hold them, go back to the pool when the last holder has been consumed.
  const owned = new Set<ArrayBufferLike>();
  const holders = new Map<ArrayBufferLike, number>();
  const hold = (grad: Tensor): void => {
    const buffer = grad.data.buffer;
    if (owned.has(buffer)) holders.set(buffer, (holders.get(buffer) ?? 0) + 1);
  };
  const release = (grad: Tensor): void => {
    const buffer = grad.data.buffer;
    const count = holders.get(buffer);
    if (count === undefined) return;
    if (count > 1) {
      holders.set(buffer, count - 1);
      return;
    }
    holders.delete(buffer);
    owned.delete(buffer);
    givePooled(grad.data);
  };
  const stopRecording = recordAllocations(owned);
  /**
   * existing + grad, into existing's own buffer when only this sum can see it (allocated in this
   * pass, one holder, dense over the whole buffer, not shared with grad): same bits, no new array.
   */
  const accumulate = (existing: Tensor, grad: Tensor): Tensor => {
    const buffer = existing.data.buffer;
    const inPlace = addInto !== undefined && owned.has(buffer) && holders.get(buffer) === 1 && buffer !== grad.data.buffer
      && existing.dtype === grad.dtype && existing.offset === 0 && existing.data.length === existing.size && existing.isContiguous()
      && existing.ndim === grad.ndim && existing.shape.every((dim, axis) => dim === grad.shape[axis]);
    if (!inPlace) return add(existing, grad);
    addInto(existing, grad);
    return existing;
  };

  const previous = gradEnabled;
  gradEnabled = false; // gradients of gradients are not recorded
  try {
    for (const tensor of order) {
      const gradOutput = gradients.get(tensor);
      if (gradOutput === undefined) continue;
      const gradFn = tensor.gradFn;
      if (gradFn === null) {
        // A leaf: accumulate into .grad, as PyTorch does across backward calls (a copy or a new
        // sum, never gradOutput's own buffer, so that one can be reused).
        gradients.delete(tensor);
        const buffer = gradOutput.data.buffer;
        if (tensor.grad === null && owned.has(buffer) && holders.get(buffer) === 1 && gradOutput.offset === 0
          && gradOutput.data.length === gradOutput.size && gradOutput.isContiguous() && gradOutput.dtype === tensor.dtype && gradOutput.gradFn === null
          && gradOutput.ndim === tensor.ndim && gradOutput.shape.every((dim, axis) => dim === tensor.shape[axis])) {
          // Made in this pass and seen by nothing else: it becomes .grad as it is (a copy of every
          // parameter's gradient each step was ~5 ms of a bench GPT step); it leaves the pool's care.
          holders.delete(buffer);
          owned.delete(buffer);
          tensor.grad = gradOutput;
          continue;
        }
        tensor.grad = tensor.grad === null ? gradOutput.contiguousCopy() : add(tensor.grad, gradOutput);
        release(gradOutput);
        continue;
      }
      gradients.delete(tensor); // free it as soon as it has been used
      const needs = gradFn.inputs.map((input) => input.requiresGrad);
      const inputGrads = gradFn.backward(gradOutput, needs);
      let addedInPlace: Tensor[] | undefined;
      for (let i = 0; i < gradFn.inputs.length; i++) {
        const input = gradFn.inputs[i];
        const grad = inputGrads[i];
        if (!needs[i] || grad === null || grad === undefined) continue;
        const existing = gradients.get(input);
        const total = existing === undefined ? grad : accumulate(existing, grad);
        gradients.set(input, total);
        if (total !== existing) {
          hold(total);
          if (existing !== undefined) release(existing);
        } else (addedInPlace ??= []).push(grad);
      }
      // A gradient added into another's buffer is read by nobody after: its own buffer goes back
      // to the pool (split's backward pads two of three such per block, 2048×384 floats each in the
      // bench GPT) unless another gradient still holds it or it is not this pass's.
      if (addedInPlace !== undefined) {
        for (const grad of addedInPlace) {
          const buffer = grad.data.buffer;
          if (!owned.has(buffer) || holders.has(buffer) || buffer === gradOutput.data.buffer) continue;
          owned.delete(buffer);
          givePooled(grad.data);
        }
      }
      // After the inputs' gradients are held: one that shares gradOutput's buffer keeps it alive.
      release(gradOutput);
      if (!options.retainGraph) tensor.gradFn = FREED;
    }
    // Only now: every backward closure that read an activation has run.
    for (const data of activations) givePooled(data);
  } finally {
    stopRecording();
    gradEnabled = previous;
  }
}
