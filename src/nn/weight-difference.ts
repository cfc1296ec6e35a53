/**
 * The largest |a − b| over every weight two models of the same configuration share: how tests,
 * benches and the lab say "the same weights" (data-parallel vs one process, a resumed run vs an
 * uninterrupted one). A name missing from `b` or a size mismatch is an error, not a silent 0.
 *
 * @example
 *   assert.ok(maxWeightDifference(ddpModel, singleModel) < 5e-5);
 */
import { QkvStateDictError } from '../tensor/errors.ts';
import type { Module } from './module.ts';

export function maxWeightDifference(a: Module, b: Module): number {
  const other = b.stateDict();
  let worst = 0;
  for (const [name, tensor] of Object.entries(a.stateDict())) {
    if (other[name] === undefined) throw new QkvStateDictError(`maxWeightDifference: the second model has no "${name}"`);
    const x = tensor.toFloat32Array();
    const y = other[name].toFloat32Array();
    if (x.length !== y.length) throw new QkvStateDictError(`maxWeightDifference: "${name}" has ${x.length} values in one model and ${y.length} in the other`);
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  }
  return worst;
}
