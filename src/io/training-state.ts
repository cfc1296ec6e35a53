/**
 * Training state, kept beside the model folder so a resumed run continues bit for bit:
 *
 *   optimizer.safetensors   optimizer tensors (AdamW moments, …), exact float32 bytes
 *   trainer_state.json      step (`global_step`, as in Hugging Face's trainer_state.json),
 *                           RNG state, schedule, data position: whatever the trainer needs
 *
 * Numbers survive JSON exactly (JSON.stringify writes the shortest text that parses back to the
 * same float64), so a learning rate or an RNG word written here is read back bit for bit; a
 * bigint does not fit JSON and is refused (store it as a string or split it into 32-bit words).
 *
 * Each file is atomic, but a crash can fall between two of them. So the step is stamped into
 * the safetensors metadata of `optimizer.safetensors` (and, when the trainer passes it, of
 * `model.safetensors`), and `loadTrainingState` refuses a folder whose files disagree on it,
 * naming them, instead of resuming from weights of one step and moments of another.
 *
 * @example
 *   saveModelFolder(dir, { config, stateDict, metadata: stepMetadata(step) });
 *   saveTrainingState(dir, { optimizer: adamw.stateDict(), trainerState: { global_step: step, rng: rng.state() } });
 *   const { optimizer, trainerState } = loadTrainingState(dir);
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from './atomic.ts';
import { readJsonObject, requireInteger, type JsonObject } from './config.ts';
import { QkvFileNotFoundError, QkvFormatError } from './errors.ts';
import { MODEL_FOLDER_FILES } from './model-folder.ts';
import {
  loadSafetensors,
  loadSafetensorsMetadata,
  saveSafetensors,
  type SafeTensorEntry,
  type SafeTensorInput,
  type SafetensorsMetadata,
} from './safetensors.ts';

export const TRAINING_STATE_FILES = {
  optimizer: 'optimizer.safetensors',
  trainerState: 'trainer_state.json',
} as const;

/** The metadata key that stamps a safetensors file with the step it was saved at. */
export const STEP_METADATA_KEY = 'global_step';

/** `{ global_step: '120' }`: pass it as `metadata` to `saveModelFolder` so the weights carry their step. */
export function stepMetadata(step: number): SafetensorsMetadata {
  return { [STEP_METADATA_KEY]: String(step) };
}

export interface TrainingState {
  /** Optimizer tensors by name. */
  optimizer: Record<string, SafeTensorInput> | Map<string, SafeTensorInput>;
  /** JSON-able trainer state; `global_step` (an integer ≥ 0) is required. */
  trainerState: JsonObject;
}

export interface LoadedTrainingState {
  optimizer: Map<string, SafeTensorEntry>;
  trainerState: JsonObject;
  step: number;
}

/**
 * Writes `optimizer.safetensors` (stamped with the step) and then `trainer_state.json` into
 * `dir` (which must exist: it is the model folder). Returns the paths written.
 */
export function saveTrainingState(dir: string, state: TrainingState): string[] {
  const trainerStatePath = join(dir, TRAINING_STATE_FILES.trainerState);
  const step = requireInteger(state.trainerState, STEP_METADATA_KEY, trainerStatePath, { min: 0 });
  const optimizerPath = join(dir, TRAINING_STATE_FILES.optimizer);
  saveSafetensors(optimizerPath, state.optimizer, { format: 'pt', ...stepMetadata(step) });
  writeJsonAtomic(trainerStatePath, state.trainerState);
  return [optimizerPath, trainerStatePath];
}

/** The step stamped in a safetensors file's metadata, or undefined when it has none. */
function stampedStep(path: string, metadata: SafetensorsMetadata): number | undefined {
  const text = metadata[STEP_METADATA_KEY];
  if (text === undefined) return undefined;
  const step = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(step)) {
    throw new QkvFormatError(path, `expected a non-negative integer, found ${JSON.stringify(text)}`, `__metadata__["${STEP_METADATA_KEY}"]`);
  }
  return step;
}

/**
 * Reads the training state in `dir`, checking that `trainer_state.json`, `optimizer.safetensors`
 * and (if stamped) `model.safetensors` were saved at the same step.
 */
export function loadTrainingState(dir: string): LoadedTrainingState {
  const trainerStatePath = join(dir, TRAINING_STATE_FILES.trainerState);
  const optimizerPath = join(dir, TRAINING_STATE_FILES.optimizer);
  for (const path of [trainerStatePath, optimizerPath]) {
    if (!existsSync(path)) {
      throw new QkvFileNotFoundError(path, `missing: cannot resume without ${Object.values(TRAINING_STATE_FILES).join(' and ')}`);
    }
  }
  const trainerState = readJsonObject(trainerStatePath);
  const step = requireInteger(trainerState, STEP_METADATA_KEY, trainerStatePath, { min: 0 });
  const { tensors: optimizer, metadata } = loadSafetensors(optimizerPath);

  const stamps: Array<[string, number | undefined]> = [[optimizerPath, stampedStep(optimizerPath, metadata)]];
  const weightsPath = join(dir, MODEL_FOLDER_FILES.weights);
  if (existsSync(weightsPath)) stamps.push([weightsPath, stampedStep(weightsPath, loadSafetensorsMetadata(weightsPath))]);
  for (const [path, stamped] of stamps) {
    if (stamped !== undefined && stamped !== step) {
      throw new QkvFormatError(
        path,
        `saved at step ${stamped}, but ${trainerStatePath} is at step ${step}: the checkpoint is inconsistent (a save was interrupted?)`,
        `__metadata__["${STEP_METADATA_KEY}"]`,
      );
    }
  }
  return { optimizer, trainerState, step };
}
