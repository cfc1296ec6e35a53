/**
 * Zero-copy loading: a loader that holds a module's `stateDict()` view may hand the module new
 * storage for that parameter or buffer (a Float32Array over a memory-mapped file) instead of
 * copying values into the old one, as torch.load(mmap=True) with `assign=True` does.
 *
 * The Parameter object itself keeps its identity, so everything that holds it (tied weights
 * such as GPT-2's wte / lm_head, optimisers built afterwards, modules' properties) sees the new
 * storage; only other views taken *before* the swap keep the old array. The buffer pool never
 * sees parameter storage, so a mapped array never enters it.
 */
import type { Storage, Tensor } from '../tensor/tensor.ts';
import type { Buffer, Parameter } from './parameter.ts';

/** stateDict() view → the Parameter or Buffer it shows. */
const sourceOfView = new WeakMap<Tensor, Parameter | Buffer>();

/** A detached view of `state` for stateDict(), remembered so that `adoptStorage` can reach `state`. */
export function stateView(state: Parameter | Buffer): Tensor {
  const view = state.detach();
  sourceOfView.set(view, state);
  return view;
}

/**
 * Makes `storage` the storage of the parameter or buffer that the stateDict() view `view`
 * shows (and of `view`), in place of its old array; returns false, changing nothing, when
 * `view` did not come from stateDict() or `storage` does not fit (other dtype or length, or a
 * state that is not dense from offset 0). The old values are dropped, not copied.
 *
 * @example adoptStorage(model.stateDict()['wte.weight'], new Float32Array(mapped, offset, n));
 */
export function adoptStorage(view: Tensor, storage: Storage): boolean {
  const state = sourceOfView.get(view);
  if (state === undefined) return false;
  const dense = state.isContiguous() && state.offset === 0 && state.data.length === state.size;
  if (!dense || state.data.constructor !== storage.constructor || storage.length !== state.size) return false;
  if (view.offset !== 0 || !view.isContiguous()) return false;
  // `data` is readonly to users of Tensor; swapping it here is the one sanctioned write, made
  // before any graph, gradient or optimiser state refers to the old array.
  (state as { data: Storage }).data = storage;
  (view as { data: Storage }).data = storage;
  return true;
}
