/**
 * Held-out loss and perplexity of a causal LM on a text: the text is cut into consecutive
 * windows of the context length; every token after a window's first is predicted from the
 * tokens before it in its window. Loss is the mean cross-entropy in nats per token;
 * perplexity = e^loss.
 */
import type { CausalLM } from '../models/causal-lm.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { noGrad } from '../tensor/autograd.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { Tensor } from '../tensor/tensor.ts';

export interface PerplexityResult {
  /** Mean cross-entropy, nats per token. */
  loss: number;
  perplexity: number;
  /** Tokens predicted. */
  tokens: number;
}

export function evaluatePerplexity(
  model: CausalLM,
  tokenizer: Tokenizer,
  text: string,
  options: { blockSize?: number; batchSize?: number; onProgress?: (done: number, total: number) => void } = {},
): PerplexityResult {
  const blockSize = Math.min(options.blockSize ?? model.contextLength, model.contextLength);
  const batchSize = options.batchSize ?? 8;
  const ids = tokenizer.encodeIds(text);
  if (ids.length < 2) throw new QkvValueError(`eval: the text has ${ids.length} tokens; at least 2 are needed`);
  // Windows of blockSize + 1 tokens overlapping by one, so every token but the first is a target once.
  const windows: number[][] = [];
  for (let start = 0; start < ids.length - 1; start += blockSize) windows.push(ids.slice(start, start + blockSize + 1));
  model.eval();
  let totalLoss = 0;
  let totalTokens = 0;
  noGrad(() => {
    for (let w = 0; w < windows.length; w++) {
      const window = windows[w];
      const length = window.length - 1;
      // Same-length windows are batched; the last, shorter one runs alone.
      const group = [window];
      while (w + 1 < windows.length && windows[w + 1].length === window.length && group.length < batchSize) group.push(windows[++w]);
      const inputs = Tensor.from(group.flatMap((win) => win.slice(0, length)), [group.length, length]);
      const targets = Tensor.from(group.flatMap((win) => win.slice(1)), [group.length, length]);
      const { loss } = model.forward(inputs, { targets });
      totalLoss += loss!.item() * group.length * length;
      totalTokens += group.length * length;
      options.onProgress?.(w + 1, windows.length);
    }
  });
  const loss = totalLoss / totalTokens;
  return { loss, perplexity: Math.exp(loss), tokens: totalTokens };
}
