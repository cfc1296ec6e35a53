/**
 * The GPT's adaptive-softmax output layer (`output: 'adaptive'` in GPTConfig): config checks, the
 * head's construction, and the loss / log-prob paths `GPT.forward` takes with it.
 *
 * Legend: B = batch, T = time, C = n_embd, V = vocab_size, N = B·T rows.
 *
 * The head is untied from `wte` (its shortlist and clusters have their own projections, as in
 * Grave et al. and Transformer-XL's adaptive output) and its parameters are saved beside the
 * body as `adaptive_head.head.weight`, `adaptive_head.tail.0.0.weight`, … Token ids must be
 * sorted by frequency (src/tokenizers/frequency-sort.ts), or the shortlist holds the wrong tokens.
 */
import { AdaptiveLogSoftmaxWithLoss } from '../nn/adaptive-softmax.ts';
import { optionalNumber, optionalNumberArray, optionalOneOf, type JsonObject } from '../io/config.ts';
import { QkvError, QkvValueError } from '../tensor/errors.ts';
import { indexSelect } from '../tensor/ops/indexing.ts';
import type { Rng } from '../tensor/random.ts';
import { Tensor, type IndexLike } from '../tensor/tensor.ts';
import type { GPTConfig } from './gpt.ts';

export const GPT_OUTPUT_LAYERS = ['full', 'adaptive'] as const;
export type GPTOutputLayer = (typeof GPT_OUTPUT_LAYERS)[number];

/** PyTorch's default for `div_value`. */
export const ADAPTIVE_DEFAULT_DIV_VALUE = 4;

/** The state-dict prefix of the head's parameters. */
export const ADAPTIVE_HEAD_PREFIX = 'adaptive_head.';

/** Errors name the GPTConfig field: cutoffs strictly increasing integers in (0, vocab_size). */
export function checkAdaptiveConfig(config: Pick<GPTConfig, 'vocab_size' | 'output' | 'adaptive_cutoffs' | 'adaptive_div_value'>): void {
  const adaptive = config.output === 'adaptive';
  if (!adaptive) {
    if (config.adaptive_cutoffs !== undefined || config.adaptive_div_value !== undefined) {
      throw new QkvValueError("GPTConfig: adaptive_cutoffs and adaptive_div_value need output 'adaptive'");
    }
    return;
  }
  const cutoffs = config.adaptive_cutoffs;
  if (!Array.isArray(cutoffs) || cutoffs.length === 0) {
    throw new QkvValueError("GPTConfig: output 'adaptive' needs adaptive_cutoffs, a non-empty list such as [2000, 10000]");
  }
  cutoffs.forEach((cutoff, i) => {
    if (!Number.isInteger(cutoff) || cutoff <= 0) throw new QkvValueError(`GPTConfig: adaptive_cutoffs[${i}] must be a positive integer, got ${cutoff}`);
    if (i > 0 && cutoff <= cutoffs[i - 1]) {
      throw new QkvValueError(`GPTConfig: adaptive_cutoffs must be strictly increasing, got ${cutoff} after ${cutoffs[i - 1]} in [${cutoffs.join(', ')}]`);
    }
    if (cutoff >= config.vocab_size) {
      throw new QkvValueError(`GPTConfig: adaptive_cutoffs[${i}] = ${cutoff} must be below vocab_size ${config.vocab_size} (the last cluster needs at least one token)`);
    }
  });
  const div = config.adaptive_div_value;
  if (div !== undefined && !(Number.isFinite(div) && div >= 1)) throw new QkvValueError(`GPTConfig: adaptive_div_value must be ≥ 1, got ${div}`);
}

export function buildAdaptiveHead(config: GPTConfig, rng: Rng): AdaptiveLogSoftmaxWithLoss {
  return new AdaptiveLogSoftmaxWithLoss(config.n_embd, config.vocab_size, config.adaptive_cutoffs!, {
    divValue: config.adaptive_div_value ?? ADAPTIVE_DEFAULT_DIV_VALUE,
    rng,
  });
}

/**
 * The adaptive head on hidden states x (B, T, C). Without targets: logits = exact log-probs
 * (B, T, V). With targets (B, T): the mean NLL over the targets that are not -100 (as the full
 * path's crossEntropy), and `logits` computed only if read: training never reads it, and the
 * (B, T, V) log-probs are the cost the head exists to avoid.
 */
export function adaptiveOutput(head: AdaptiveLogSoftmaxWithLoss, x: Tensor, targets: IndexLike | undefined): { logits: Tensor; loss?: Tensor } {
  const [B, T, C] = x.shape;
  const rows = x.reshape([B * T, C]); // (N, C)
  const allLogProbs = (): Tensor => head.logProb(rows).reshape([B, T, head.nClasses]); // (B, T, V)
  if (targets === undefined) return { logits: allLogProbs() };
  const ids = targets instanceof Tensor ? targets.contiguousData() : targets;
  if (ids.length !== B * T) throw new QkvValueError(`GPT: ${ids.length} targets for ids of shape (${B}, ${T}): expected ${B * T}`);
  const kept: number[] = [];
  for (let row = 0; row < ids.length; row++) if (ids[row] !== -100) kept.push(row);
  let loss: Tensor;
  if (kept.length === ids.length) loss = head.forward(rows, targets).loss;
  else if (kept.length === 0) loss = rows.sum().mul(0); // crossEntropy's "every target ignored" 0, still on the graph
  else loss = head.forward(indexSelect(rows, 0, kept), kept.map((row) => ids[row])).loss;
  let logits: Tensor | null = null;
  return {
    get logits(): Tensor {
      logits ??= allLogProbs();
      return logits;
    },
    loss,
  };
}

/**
 * A file format or tool that only knows the tied full-softmax head (logits = h·wteᵀ: GPT-2's
 * ONNX graph, llama.cpp's gpt2 GGUF) was asked to write a GPT with an adaptive head. Refused by
 * name: the file would hold `wte` and no `adaptive_head.*`, so every reader would compute the
 * logits from the embedding table, a different (untrained) output layer, without any error.
 */
export class AdaptiveHeadUnsupportedError extends QkvValueError {
  constructor(readonly consumer: string, cutoffs: readonly number[]) {
    super(
      `${consumer}: this GPT has an adaptive softmax output layer (output 'adaptive', adaptive_head.*, cutoffs [${cutoffs.join(', ')}]); ` +
        `${consumer} writes only the tied full-softmax head (logits = h·wteᵀ), so the file would drop the adaptive head. ` +
        `Use the model folder (safetensors; qkv and quantised qkv folders keep the head), or train with --output full`,
    );
  }
}

/** Throws AdaptiveHeadUnsupportedError when `config` has an adaptive head (`consumer` names the caller, e.g. "exportGguf"). */
export function refuseAdaptiveHead(config: Pick<GPTConfig, 'output' | 'adaptive_cutoffs'>, consumer: string): void {
  if (config.output === 'adaptive') throw new AdaptiveHeadUnsupportedError(consumer, config.adaptive_cutoffs ?? []);
}

/** x (B, T, C) → log-probs of the next token after each row's last position, (B, V). */
export function lastPositionLogProbs(head: AdaptiveLogSoftmaxWithLoss, x: Tensor): Tensor {
  const [B, T, C] = x.shape;
  return head.logProb(x.narrow(1, T - 1, 1).reshape([B, C])); // (B, V)
}

/** config.json fields of the output layer, written only for an adaptive head so GPT-2 folders stay standard. */
export function adaptiveConfigToJson(config: GPTConfig): JsonObject {
  if (config.output !== 'adaptive') return {};
  return {
    output: 'adaptive',
    adaptive_cutoffs: [...config.adaptive_cutoffs!],
    adaptive_div_value: config.adaptive_div_value ?? ADAPTIVE_DEFAULT_DIV_VALUE,
  };
}

/** The output-layer fields of a config.json (absent: the full softmax); errors name the file and field. */
export function adaptiveConfigFromJson(json: JsonObject, file: string, vocabSize: number): Pick<GPTConfig, 'output' | 'adaptive_cutoffs' | 'adaptive_div_value'> {
  const output = optionalOneOf(json, 'output', file, GPT_OUTPUT_LAYERS);
  const cutoffs = optionalNumberArray(json, 'adaptive_cutoffs', file);
  const divValue = optionalNumber(json, 'adaptive_div_value', file, { min: 1 });
  const fields = {
    ...(output === undefined || output === 'full' ? {} : { output }),
    ...(cutoffs === undefined ? {} : { adaptive_cutoffs: cutoffs }),
    ...(divValue === undefined ? {} : { adaptive_div_value: divValue }),
  };
  try {
    checkAdaptiveConfig({ vocab_size: vocabSize, ...fields });
  } catch (error) {
    throw new QkvError(`${file}: ${(error as Error).message}`);
  }
  return fields;
}
