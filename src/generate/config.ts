/**
 * Generation settings, under the field names of Hugging Face's `generation_config.json`, so a
 * model folder's file means the same thing here as in `transformers`.
 *
 * Two deliberate differences from Hugging Face, both documented at their field:
 * - `temperature: 0` means greedy decoding (HF rejects it when sampling);
 * - with neither `max_new_tokens` nor `max_length` set, 20 *new* tokens are generated (HF's default
 *   `max_length: 20` counts the prompt, and silently yields nothing for a long prompt).
 *
 * Stop strings are read from `stop` (the OpenAI name) and from `stop_strings` (the HF name).
 */
import { QkvValueError } from '../tensor/errors.ts';

export interface GenerationConfig {
  /** Most tokens to generate after the prompt. Takes precedence over `max_length`. */
  max_new_tokens?: number | null;
  /** HF's older limit: prompt + generated tokens. Used only when `max_new_tokens` is absent. */
  max_length?: number | null;
  /** Suppress the end-of-sequence token(s) until this many tokens are generated. Default 0. */
  min_new_tokens?: number | null;
  /** false: greedy (argmax). Default false, as in HF: a file without the field decodes greedily. */
  do_sample?: boolean | null;
  /** Logits are divided by it before sampling. 0 means greedy, whatever `do_sample` says. Default 1. */
  temperature?: number | null;
  /** Keep only the k most likely tokens (ties at the k-th value are all kept, as in HF). 0 disables. Default 50, as in HF. */
  top_k?: number | null;
  /** Nucleus: keep the smallest set of most likely tokens whose probability mass is ≥ top_p. 1 disables. Default 1. */
  top_p?: number | null;
  /** CTRL penalty on every token already in the sequence (prompt included, as in HF). 1 disables. Default 1. */
  repetition_penalty?: number | null;
  /** Generation ends when one of these tokens is produced. */
  eos_token_id?: number | number[] | null;
  /** Seed of the sampler's RNG, when the caller does not pass one. */
  seed?: number | null;
  /** Generation ends when the decoded text contains one of these; the text is cut before it. */
  stop?: string | string[] | null;
  /** HF's name for stop strings; merged with `stop`. */
  stop_strings?: string | string[] | null;
  /** Carried for HF interchange; not used by the sampler. */
  bos_token_id?: number | number[] | null;
  /** Carried for HF interchange; not used by the sampler. */
  pad_token_id?: number | null;
  /** Written by `transformers`; ignored. */
  transformers_version?: string;
  /** Written by `transformers`; ignored. */
  _from_model_config?: boolean;
}

/** A validated config with every sampling field filled in. */
export interface ResolvedGenerationConfig {
  /** null: derive from `max_length`, or 20 new tokens when that is absent too (see `newTokenLimit`). */
  max_new_tokens: number | null;
  max_length: number | null;
  min_new_tokens: number;
  do_sample: boolean;
  temperature: number;
  top_k: number;
  top_p: number;
  repetition_penalty: number;
  /** Always a list (possibly empty), whatever form the file used. */
  eos_token_id: number[];
  seed: number | null;
  /** `stop` and `stop_strings` merged, in that order, without duplicates. */
  stop: string[];
}

/** HF's defaults, except `max_new_tokens` (see the file comment). */
export const DEFAULT_NEW_TOKENS = 20;

const KNOWN_FIELDS = new Set<string>([
  'max_new_tokens', 'max_length', 'min_new_tokens', 'do_sample', 'temperature', 'top_k', 'top_p',
  'repetition_penalty', 'eos_token_id', 'seed', 'stop', 'stop_strings', 'bos_token_id', 'pad_token_id',
  'transformers_version', '_from_model_config',
]);

/**
 * Validates `config` and fills in the defaults. Throws `QkvValueError` naming the field for an
 * unknown field or a value out of range. Idempotent: a resolved config resolves to itself.
 *
 * @example
 * resolveGenerationConfig({ do_sample: true, temperature: 0.8, top_k: 40 }).top_p // 1
 */
export function resolveGenerationConfig(config: GenerationConfig | ResolvedGenerationConfig = {}): ResolvedGenerationConfig {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new QkvValueError(`GenerationConfig: expected an object, got ${describe(config)}`);
  }
  for (const key of Object.keys(config)) {
    if (!KNOWN_FIELDS.has(key)) {
      throw new QkvValueError(
        `GenerationConfig: unknown or unsupported field "${key}" (supported: ${[...KNOWN_FIELDS].join(', ')})`,
      );
    }
  }
  const c = config as GenerationConfig;
  const maxNewTokens = optionalInteger(c.max_new_tokens, 'max_new_tokens', 0);
  const maxLength = optionalInteger(c.max_length, 'max_length', 0);
  const minNewTokens = optionalInteger(c.min_new_tokens, 'min_new_tokens', 0) ?? 0;
  if (c.do_sample !== undefined && c.do_sample !== null && typeof c.do_sample !== 'boolean') {
    throw new QkvValueError(`GenerationConfig.do_sample must be a boolean, got ${describe(c.do_sample)}`);
  }
  const temperature = optionalNumber(c.temperature, 'temperature') ?? 1;
  if (temperature < 0) throw new QkvValueError(`GenerationConfig.temperature must be >= 0 (0 = greedy), got ${temperature}`);
  const topK = optionalInteger(c.top_k, 'top_k', 0) ?? 50;
  const topP = optionalNumber(c.top_p, 'top_p') ?? 1;
  if (topP < 0 || topP > 1) throw new QkvValueError(`GenerationConfig.top_p must be in [0, 1], got ${topP}`);
  const repetitionPenalty = optionalNumber(c.repetition_penalty, 'repetition_penalty') ?? 1;
  if (!(repetitionPenalty > 0)) {
    throw new QkvValueError(`GenerationConfig.repetition_penalty must be > 0 (1 = off), got ${repetitionPenalty}`);
  }
  const seed = optionalNumber(c.seed, 'seed');
  if (seed !== undefined && !Number.isInteger(seed)) throw new QkvValueError(`GenerationConfig.seed must be an integer, got ${seed}`);
  const eos = tokenIdList(c.eos_token_id, 'eos_token_id');
  tokenIdList(c.bos_token_id, 'bos_token_id');
  tokenIdList(c.pad_token_id, 'pad_token_id');
  const stop: string[] = [];
  for (const field of ['stop', 'stop_strings'] as const) {
    for (const s of stringList(c[field], field)) if (!stop.includes(s)) stop.push(s);
  }
  return {
    max_new_tokens: maxNewTokens ?? null,
    max_length: maxLength ?? null,
    min_new_tokens: minNewTokens,
    do_sample: c.do_sample ?? false,
    temperature,
    top_k: topK,
    top_p: topP,
    repetition_penalty: repetitionPenalty,
    eos_token_id: eos,
    seed: seed ?? null,
    stop,
  };
}

/**
 * How many new tokens may be generated after a prompt of `promptLength` tokens:
 * `max_new_tokens`, else `max_length − promptLength` (never below 0), else 20.
 */
export function newTokenLimit(config: ResolvedGenerationConfig, promptLength: number): number {
  if (config.max_new_tokens !== null) return config.max_new_tokens;
  if (config.max_length !== null) return Math.max(0, config.max_length - promptLength);
  return DEFAULT_NEW_TOKENS;
}

/** True when the config asks for argmax decoding: `do_sample: false` or `temperature: 0`. */
export function isGreedy(config: ResolvedGenerationConfig): boolean {
  return !config.do_sample || config.temperature === 0;
}

function optionalNumber(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined; // HF files write null for "unset"
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new QkvValueError(`GenerationConfig.${field} must be a finite number, got ${describe(value)}`);
  }
  return value;
}

function optionalInteger(value: unknown, field: string, min: number): number | undefined {
  const n = optionalNumber(value, field);
  if (n === undefined) return undefined;
  if (!Number.isInteger(n) || n < min) throw new QkvValueError(`GenerationConfig.${field} must be an integer >= ${min}, got ${n}`);
  return n;
}

function tokenIdList(value: unknown, field: string): number[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  for (const id of list) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new QkvValueError(`GenerationConfig.${field} must be a token id (integer >= 0) or a list of them, got ${describe(value)}`);
    }
  }
  return [...list] as number[];
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  for (const s of list) {
    if (typeof s !== 'string' || s.length === 0) {
      throw new QkvValueError(`GenerationConfig.${field} must be a non-empty string or a list of them, got ${describe(value)}`);
    }
  }
  return list as string[];
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  return String(value);
}
