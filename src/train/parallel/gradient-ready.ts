/**
 * A hook for the moment a parameter's gradient is final, without touching the autograd engine.
 *
 * `runBackward` (src/tensor/autograd.ts) visits each tensor once, in reverse topological order,
 * after every gradient that flows into it has been summed; for a leaf (a parameter) that visit
 * is one assignment to `.grad`. So within one backward pass, the assignment *is* the moment the
 * parameter's gradient is final (PyTorch's post-accumulate-grad hook). We observe it by turning
 * each parameter's own `grad` field into an accessor on the instance (the class field is an own,
 * configurable property; the class and the engine are unchanged), and put the plain field back
 * when done. One getter/setter pair serves every parameter (state looked up by `this`), so the
 * parameters share one hidden-class change instead of one each.
 *
 * Armed only while the caller says the next backward is the last one of the step (gradient
 * accumulation: the earlier micro-batches' assignments are partial sums), and each parameter
 * reports at most once per arming (a listener that replaces `.grad` by a dense copy does not
 * report it again).
 *
 * @example
 * const hooks = new GradientReadyHooks(params, (index) => publishIfBucketComplete(index));
 * hooks.arm();
 * loss.backward();   // the listener runs inside backward, once per parameter that got a gradient
 * hooks.disarm();
 * hooks.detach();
 */
import type { Tensor } from '../../tensor/tensor.ts';

interface Watched {
  grad: Tensor | null;
  index: number;
  hooks: GradientReadyHooks;
}

const watched = new WeakMap<Tensor, Watched>();

const gradAccessor: PropertyDescriptor = {
  configurable: true,
  enumerable: true,
  get(this: Tensor): Tensor | null {
    return watched.get(this)!.grad;
  },
  set(this: Tensor, value: Tensor | null) {
    const entry = watched.get(this)!;
    entry.grad = value;
    if (value !== null) entry.hooks.assigned(entry.index);
  },
};

export class GradientReadyHooks {
  private armed = false;
  private readonly reported: boolean[];

  constructor(
    private readonly params: readonly Tensor[],
    private readonly listener: (index: number) => void,
  ) {
    this.reported = params.map(() => false);
    params.forEach((param, index) => {
      watched.set(param, { grad: param.grad, index, hooks: this });
      Object.defineProperty(param, 'grad', gradAccessor);
    });
  }

  /** Called by the accessor on every non-null assignment. */
  assigned(index: number): void {
    if (!this.armed || this.reported[index]) return;
    this.reported[index] = true;
    this.listener(index);
  }

  /** The next assignments are final: report each parameter's first one. */
  arm(): void {
    this.reported.fill(false);
    this.armed = true;
  }

  disarm(): void {
    this.armed = false;
  }

  /** Whether parameter `index` reported since the last `arm` (false: it got no gradient in that backward). */
  hasReported(index: number): boolean {
    return this.reported[index];
  }

  /** Puts the plain `grad` fields back (with their current values). */
  detach(): void {
    for (const param of this.params) {
      const entry = watched.get(param);
      if (entry === undefined || entry.hooks !== this) continue;
      watched.delete(param);
      Object.defineProperty(param, 'grad', { configurable: true, enumerable: true, writable: true, value: entry.grad });
    }
    this.armed = false;
  }
}
