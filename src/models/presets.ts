/**
 * Named model sizes for `qkv train --config NAME`. `small` is the benchmark configuration
 * (4 layers, n_embd 128, 4 heads, context 128) and what `npm start` trains.
 *
 * The sizes are written once, in GPT's field names; `llamaPreset` gives the same size as a Llama
 * (same depth, width, heads and context), so `--arch gpt` and `--arch llama` compare at equal size.
 */
import { QkvValueError } from '../tensor/errors.ts';
import type { GPTConfig } from './gpt.ts';
import type { LlamaConfig } from './llama.ts';

export type ModelPreset = Omit<Partial<GPTConfig>, 'vocab_size'>;
export type LlamaPreset = Omit<Partial<LlamaConfig>, 'vocab_size'>;

/** Architectures `qkv train --arch` builds: GPT-2 layout or Llama layout. */
export const MODEL_ARCHS = ['gpt', 'llama'] as const;
export type ModelArch = (typeof MODEL_ARCHS)[number];

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

/**
 * The named size as a Llama config: layers, width, heads and context from the preset; the
 * SwiGLU width, key/value heads and the rest from `LLAMA_DEFAULTS` (8/3·C, as many KV heads as
 * query heads), so its weight count is close to the GPT's (plus the untied head).
 */
export function llamaPreset(name: string): LlamaPreset {
  const preset = modelPreset(name);
  const out: LlamaPreset = {};
  if (preset.n_layer !== undefined) out.num_hidden_layers = preset.n_layer;
  if (preset.n_embd !== undefined) out.hidden_size = preset.n_embd;
  if (preset.n_head !== undefined) out.num_attention_heads = preset.n_head;
  if (preset.n_positions !== undefined) out.max_position_embeddings = preset.n_positions;
  return out;
}
