/**
 * The two kinds of state a Module owns, told apart by class (as `nn.Parameter` is in PyTorch):
 *
 * - `Parameter`: a leaf tensor the optimiser trains (`requiresGrad: true` unless frozen).
 * - `Buffer`: state saved with the model but not trained, such as BatchNorm's running
 *   statistics. A non-persistent buffer (a cached causal mask) is left out of `stateDict()`.
 *
 * A plain `Tensor` stored on a module (an activation kept for inspection, say) is neither and
 * is ignored by `parameters()` and `stateDict()`.
 */
import { QkvValueError } from '../tensor/errors.ts';
import { allocate, Tensor } from '../tensor/tensor.ts';

/**
 * Storage for a new leaf holding `value`'s elements: shared when `value` already owns a dense
 * row-major buffer (the common `new Parameter(Tensor.zeros(...))`), copied otherwise, so
 * parameters and buffers are always contiguous and can be written in place by index.
 */
function denseStorage(value: Tensor): Tensor['data'] {
  if (value.isContiguous() && value.offset === 0 && value.data.length === value.size) return value.data;
  const out = allocate(value.dtype, value.size);
  out.set(value.contiguousData());
  return out;
}

/**
 * A trainable tensor of a Module. Stored on a module property, it is found by
 * `namedParameters()` under that property's name.
 *
 * @example this.weight = new Parameter(Tensor.zeros([outFeatures, inFeatures]));
 */
export class Parameter extends Tensor {
  /** Shares `value`'s storage when it is contiguous (else copies); `requiresGrad` defaults to true. */
  constructor(value: Tensor, options: { requiresGrad?: boolean } = {}) {
    if (value.gradFn !== null) {
      throw new QkvValueError(`Parameter: the value must be a leaf tensor, got the output of ${value.gradFn.name} (call detach() first)`);
    }
    super(denseStorage(value), value.shape, undefined, 0, options.requiresGrad ?? true);
  }

  override toString(): string {
    return `Parameter(shape=(${this.shape.join(',')}), dtype=${this.dtype}${this.requiresGrad ? '' : ', frozen'})`;
  }
}

/**
 * Non-trained state of a Module (running statistics, step counters, cached masks). Stored on a
 * module property, it is found by `namedBuffers()`; `persistent: false` keeps it out of
 * `stateDict()`.
 *
 * @example this.running_mean = new Buffer(Tensor.zeros([numFeatures]));
 */
export class Buffer extends Tensor {
  readonly persistent: boolean;

  constructor(value: Tensor, options: { persistent?: boolean } = {}) {
    super(denseStorage(value), value.shape, undefined, 0, false);
    this.persistent = options.persistent ?? true;
  }

  override toString(): string {
    return `Buffer(shape=(${this.shape.join(',')}), dtype=${this.dtype}${this.persistent ? '' : ', non-persistent'})`;
  }
}
