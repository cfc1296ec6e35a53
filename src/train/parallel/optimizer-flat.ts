/**
 * AdamW state moved between an optimiser (per-parameter buffers) and flat arrays
 * (`FlatOptimizerState`), so workers can start from a checkpoint written with any worker count
 * and the launcher can write one ordinary `optimizer.safetensors` from sharded pieces.
 *
 * `ranges` maps each tensor the optimiser updates to its [start, end) in the flat arrays: a
 * whole parameter's offsets for DDP, a piece of the rank's shard for FSDP.
 */
import type { AdamW } from '../../optim/adam.ts';
import { QkvValueError } from '../../tensor/errors.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import type { FlatOptimizerState } from './protocol.ts';

function optimizerOrder(optimizer: AdamW): Tensor[] {
  return optimizer.paramGroups.flatMap((group) => group.params);
}

/** The optimiser's buffers laid out flat (zeros for a parameter that has not stepped). */
export function readFlatOptimizerState(optimizer: AdamW, ranges: Map<Tensor, [number, number]>, length: number): FlatOptimizerState {
  const expAvg = new Float32Array(length);
  const expAvgSq = new Float32Array(length);
  let step = 0;
  for (const param of optimizerOrder(optimizer)) {
    const state = optimizer.stateOf(param);
    if (state === undefined) continue;
    const [start] = ranges.get(param)!;
    expAvg.set(state.buffers.expAvg, start);
    expAvgSq.set(state.buffers.expAvgSq, start);
    step = state.step;
  }
  return { step, expAvg, expAvgSq };
}

/** Gives every tensor of `optimizer` its slice of `flat` (copied); `flat.step` 0 leaves it fresh. */
export function loadFlatOptimizerState(optimizer: AdamW, ranges: Map<Tensor, [number, number]>, flat: FlatOptimizerState): void {
  if (flat.step === 0) return;
  const dict = optimizer.stateDict();
  dict.state = optimizerOrder(optimizer).map((param) => {
    const [start, end] = ranges.get(param)!;
    if (end > flat.expAvg.length || end > flat.expAvgSq.length) {
      throw new QkvValueError(`optimizer state: flat buffers have ${flat.expAvg.length} elements, a parameter needs [${start}, ${end})`);
    }
    return { step: flat.step, buffers: { expAvg: flat.expAvg.slice(start, end), expAvgSq: flat.expAvgSq.slice(start, end) } };
  });
  optimizer.loadStateDict(dict);
}
