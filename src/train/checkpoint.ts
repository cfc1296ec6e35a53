/**
 * Training checkpoints: the model folder plus, beside it, `optimizer.safetensors` (every
 * optimiser buffer, exact) and `trainer_state.json` (step, RNG states, schedule position, the
 * training config). Together they make a resumed run continue bit for bit.
 *
 * Each file is written atomically; `trainer_state.json` is written last and every file records
 * the step, so a crash between files is detected on resume instead of silently mixing steps.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../io/atomic.ts';
import { readJsonObject } from '../io/config.ts';
import { loadSafetensors, saveSafetensors, type SafeTensorInput } from '../io/safetensors.ts';
import type { Hyperparameters, Optimizer, OptimizerStateDict, ParameterState } from '../optim/optimizer.ts';
import { QkvError } from '../tensor/errors.ts';
import type { RngState } from '../tensor/random.ts';

export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const TRAINER_STATE_FILE = 'trainer_state.json';

export interface TrainerState {
  /** Optimiser steps completed. */
  global_step: number;
  /** Steps the run was configured for. */
  max_steps: number;
  /** The data sampler's Rng (the data position) and the global Rng (dropout masks). */
  rng: { data: RngState; dropout: RngState };
  /** LRScheduler position. */
  scheduler: { step: number };
  /** The training configuration, so `--resume` continues the same run. */
  train_config: Record<string, unknown>;
  best_val_loss: number | null;
  /** What `qkv` wrote the file. */
  qkv_version: string;
}

/** Saves the optimiser: buffers as F32/F64 tensors `state.<param>.<buffer>`, the rest as JSON metadata. */
export function saveOptimizerState(dir: string, optimizer: Optimizer<Hyperparameters>, step: number): void {
  const dict = optimizer.stateDict();
  const tensors: Record<string, SafeTensorInput> = {};
  const steps: (number | null)[] = [];
  dict.state.forEach((state, index) => {
    steps.push(state === null ? null : state.step);
    if (state === null) return;
    for (const [name, buffer] of Object.entries(state.buffers)) {
      tensors[`state.${index}.${name}`] = { dtype: buffer instanceof Float64Array ? 'F64' : 'F32', shape: [buffer.length], data: buffer };
    }
  });
  saveSafetensors(join(dir, OPTIMIZER_FILE), tensors, {
    optimizer: dict.optimizer,
    param_groups: JSON.stringify(dict.paramGroups),
    param_steps: JSON.stringify(steps),
    global_step: String(step),
  });
}

/** Restores an optimiser saved by `saveOptimizerState`; returns the step recorded in the file. */
export function loadOptimizerState(dir: string, optimizer: Optimizer<Hyperparameters>): number {
  const path = join(dir, OPTIMIZER_FILE);
  const { tensors, metadata } = loadSafetensors(path);
  const parse = (field: string): unknown => {
    try {
      return JSON.parse(metadata[field] ?? 'null');
    } catch {
      throw new QkvError(`${path}: metadata field ${field} is not valid JSON`);
    }
  };
  const steps = parse('param_steps');
  const paramGroups = parse('param_groups');
  if (!Array.isArray(steps) || !Array.isArray(paramGroups)) throw new QkvError(`${path}: metadata lacks param_steps / param_groups`);
  const state: (ParameterState | null)[] = steps.map((step, index) => {
    if (step === null) return null;
    const buffers: ParameterState['buffers'] = {};
    const prefix = `state.${index}.`;
    for (const [name, entry] of tensors) {
      if (!name.startsWith(prefix)) continue;
      if (!(entry.data instanceof Float32Array || entry.data instanceof Float64Array)) {
        throw new QkvError(`${path}: tensor ${name} has dtype ${entry.dtype}; optimiser buffers are F32 or F64`);
      }
      buffers[name.slice(prefix.length)] = entry.data;
    }
    return { step: Number(step), buffers };
  });
  const dict = { optimizer: metadata.optimizer ?? '', state, paramGroups } as OptimizerStateDict<Hyperparameters>;
  optimizer.loadStateDict(dict);
  return Number(metadata.global_step);
}

export function saveTrainerState(dir: string, state: TrainerState): void {
  writeJsonAtomic(join(dir, TRAINER_STATE_FILE), state);
}

export function hasTrainerState(dir: string): boolean {
  return existsSync(join(dir, TRAINER_STATE_FILE)) && existsSync(join(dir, OPTIMIZER_FILE));
}

export function loadTrainerState(dir: string): TrainerState {
  const path = join(dir, TRAINER_STATE_FILE);
  const json = readJsonObject(path);
  for (const field of ['global_step', 'max_steps', 'rng', 'scheduler', 'train_config'] as const) {
    if (json[field] === undefined) throw new QkvError(`${path}: field ${field} is missing`);
  }
  if (!Number.isInteger(json.global_step)) throw new QkvError(`${path}: field global_step must be an integer`);
  return json as unknown as TrainerState;
}
