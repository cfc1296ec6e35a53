/**
 * Small trained decoders shared by the llama.cpp and Transformers.js tests: a few steps on a
 * repeated text give greedy picks clear margins (a random model's are near ties, which two
 * correct runtimes may break differently) and readable ASCII output.
 */
import { GPT } from '../../src/models/gpt.ts';
import { Llama } from '../../src/models/llama.ts';
import { Rng } from '../../src/tensor/random.ts';
import { trainBpe } from '../../src/tokenizers/bpe-trainer.ts';
import { TokenDataset } from '../../src/train/data.ts';
import { trainLanguageModel, TRAIN_DEFAULTS } from '../../src/train/trainer.ts';

export const fixtureText = 'the quick brown fox jumps over the lazy dog. a lazy dog sleeps; the fox runs. '.repeat(20);
export const fixtureTokenizer = trainBpe([fixtureText], { vocabSize: 300, specialTokens: ['<|endoftext|>'] });

export const fixtureModels = {
  gpt2: () => new GPT({ vocab_size: fixtureTokenizer.vocabSize, n_layer: 2, n_embd: 64, n_head: 2, n_positions: 64 }, { rng: new Rng(1) }),
  llama: () => new Llama({ vocab_size: fixtureTokenizer.vocabSize, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64 }, { rng: new Rng(1) }),
};

/** 40 AdamW steps on the fixture text; returns the model in eval mode. */
export async function trainBriefly<M extends GPT | Llama>(model: M): Promise<M> {
  const dataset = new TokenDataset(fixtureTokenizer.encodeIds(fixtureText), 0.1);
  await trainLanguageModel({ model, dataset, config: { ...TRAIN_DEFAULTS, steps: 40, batchSize: 4, blockSize: 32, warmupSteps: 0, evalInterval: 40, evalBatches: 1, learningRate: 1e-2 }, outDir: null, saveModel: () => {} });
  model.eval();
  return model;
}
