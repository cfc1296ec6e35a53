/**
 * Named model sizes for `qkv train --config NAME`. `small` is the benchmark configuration
 * (4 layers, n_embd 128, 4 heads, context 128) and what `npm start` trains.
 */
import { QkvValueError } from '../tensor/errors.ts';
import type { GPTConfig } from './gpt.ts';

export type ModelPreset = Omit<Partial<GPTConfig>, 'vocab_size'>;

export const MODEL_PRESETS: Record<string, ModelPreset> = {
  /** For tests and smoke runs: trains in seconds. */
  tiny: { n_layer: 2, n_embd: 64, n_head: 4, n_positions: 64 },
  /** The default: a few minutes on 2 cores. */
  small: { n_layer: 4, n_embd: 128, n_head: 4, n_positions: 128 },
  /** A bigger model for longer runs. */
  medium: { n_layer: 6, n_embd: 256, n_head: 8, n_positions: 256 },
};

export function modelPreset(name: string): ModelPreset {
  const preset = MODEL_PRESETS[name];
  if (preset === undefined) {
    throw new QkvValueError(`unknown model config "${name}"; choose one of ${Object.keys(MODEL_PRESETS).join(', ')}`);
  }
  return preset;
}
