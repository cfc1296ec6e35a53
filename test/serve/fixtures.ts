/**
 * Shared by the serving and application tests: a tiny GPT (2 layers, n_embd 32, context 96)
 * with a character tokenizer, trained for a few dozen steps on a short chat transcript so its
 * replies are not uniform noise, saved as a model folder in a temp directory; and a started
 * server on 127.0.0.1 with a free port.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveGPT } from '../../src/models/gpt-folder.ts';
import { GPT } from '../../src/models/gpt.ts';
import { AdamW } from '../../src/optim/index.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';
import type { Tokenizer } from '../../src/tokenizers/tokenizer.ts';
import { ServedModel } from '../../src/serve/engine.ts';
import { startServer, type RunningServer, type StartServerOptions } from '../../src/serve/server.ts';

export const TRANSCRIPT = 'User: hi\nAssistant: hello there, friend.\nUser: how are you?\nAssistant: fine, thank you.\n';

export interface TinyModel {
  model: GPT;
  tokenizer: Tokenizer;
  /** The training loss of the first and the last step (nats/char). */
  losses: { first: number; last: number };
}

/** A 2-layer GPT trained `steps` AdamW steps on TRANSCRIPT windows. */
export function trainTinyModel(steps = 40, seed = 0): TinyModel {
  const tokenizer = trainCharTokenizer(`${TRANSCRIPT}abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ.,?!:'\n`, { specialTokens: ['<|endoftext|>'] });
  const rng = new Rng(seed);
  const model = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 2, n_embd: 32, n_head: 2, n_positions: 96 }, { rng });
  const ids = tokenizer.encodeIds(TRANSCRIPT.repeat(4));
  const optimizer = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 });
  const T = 32;
  const B = 4;
  let first = NaN;
  let last = NaN;
  for (let step = 0; step < steps; step++) {
    const inputs: number[] = [];
    const targets: number[] = [];
    for (let b = 0; b < B; b++) {
      const start = rng.randint(ids.length - T - 1);
      inputs.push(...ids.slice(start, start + T));
      targets.push(...ids.slice(start + 1, start + T + 1));
    }
    const out = model.forward(Tensor.from(inputs, [B, T]), { targets: Tensor.from(targets, [B, T]) });
    const loss = out.loss!.item();
    if (step === 0) first = loss;
    last = loss;
    out.loss!.backward();
    optimizer.step();
    optimizer.zeroGrad();
  }
  model.eval();
  return { model, tokenizer, losses: { first, last } };
}

/** Trains the tiny model and writes it as a model folder; returns the folder. */
export function tinyModelFolder(steps = 40): { dir: string } & TinyModel {
  const tiny = trainTinyModel(steps);
  const dir = join(mkdtempSync(join(tmpdir(), 'qkv-serve-')), 'tiny-chat');
  saveGPT(dir, tiny.model, tiny.tokenizer);
  return { dir, ...tiny };
}

/** A server on 127.0.0.1, a free port, serving `tiny`; log lines are collected in `logLines`. */
export async function startTinyServer(
  tiny: TinyModel,
  options: Partial<StartServerOptions> = {},
): Promise<{ server: RunningServer; served: ServedModel; logLines: string[] }> {
  const logLines: string[] = [];
  const eos = tiny.tokenizer.tokenToId('<|endoftext|>')!;
  const served = options.served ?? new ServedModel({ id: 'tiny-chat', model: tiny.model, tokenizer: tiny.tokenizer, generationConfig: { eos_token_id: eos } });
  const server = await startServer({ port: 0, log: (line) => logLines.push(line), ...options, served });
  return { server, served, logLines };
}
