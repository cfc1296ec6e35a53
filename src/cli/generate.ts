/**
 * `qkv generate`: sample text from a model folder, printing tokens as they are produced
 * (or, with `--json`, one object with the text, the prompt and generated ids, and tokens/s).
 */
import type { Command } from 'commander';
import type { GenerationConfig } from '../generate/config.ts';
import { generateText, streamText } from '../generate/lm.ts';
import { loadLoraAdapter } from '../adapt/peft-files.ts';
import { loadCausalLM } from '../models/load.ts';
import { collect, integerOption, numberOption } from './options.ts';

interface GenerateFlags {
  model: string;
  prompt: string;
  maxNewTokens: number;
  temperature: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  stop?: string[];
  seed?: number;
  cache: boolean;
  adapter?: string;
  json?: boolean;
}

export function generationConfigFromFlags(flags: GenerateFlags, fromFolder: Record<string, unknown>): GenerationConfig {
  const eos = typeof fromFolder.eos_token_id === 'number' ? fromFolder.eos_token_id : undefined;
  return {
    max_new_tokens: flags.maxNewTokens,
    // temperature 0 is greedy; anything else samples
    do_sample: flags.temperature > 0,
    temperature: flags.temperature > 0 ? flags.temperature : 1,
    top_k: flags.topK ?? 0,
    top_p: flags.topP ?? 1,
    repetition_penalty: flags.repetitionPenalty ?? 1,
    stop: flags.stop ?? [],
    seed: flags.seed ?? null,
    ...(eos === undefined ? {} : { eos_token_id: eos }),
  };
}

export function registerGenerateCommand(program: Command): void {
  program
    .command('generate')
    .description('generate text from a model folder')
    .requiredOption('--model <dir>', 'model folder (config.json, model.safetensors, tokenizer.json)')
    .option('--prompt <text>', 'text to continue (empty: start from <|endoftext|>)', '')
    .option('--max-new-tokens <n>', 'tokens to generate', integerOption('--max-new-tokens', 0), 200)
    .option('--temperature <t>', 'sampling temperature; 0 = greedy', numberOption('--temperature', 0), 0.8)
    .option('--top-k <k>', 'sample among the k most likely tokens (0 = all)', integerOption('--top-k', 0))
    .option('--top-p <p>', 'nucleus sampling: the smallest set with probability ≥ p', numberOption('--top-p', 0, 1))
    .option('--repetition-penalty <r>', 'penalise tokens already present (1 = off)', numberOption('--repetition-penalty', 0))
    .option('--stop <text>', 'stop when this text appears (repeatable)', collect)
    .option('--seed <n>', 'random seed for sampling', integerOption('--seed', 0))
    .option('--no-cache', 'recompute the whole sequence each step instead of using the KV cache')
    .option('--adapter <dir>', 'apply a LoRA adapter folder (PEFT: adapter_config.json, adapter_model.safetensors) to the model')
    .option('--json', 'print one JSON object: text, prompt_ids, ids, tokens_per_second')
    .action(async (flags: GenerateFlags) => {
      const { model, tokenizer, generationConfig } = loadCausalLM(flags.model);
      if (flags.adapter !== undefined) loadLoraAdapter(model, flags.adapter);
      const config = generationConfigFromFlags(flags, generationConfig);
      if (flags.json) {
        const result = await generateText({ model, tokenizer, prompt: flags.prompt, config, useCache: flags.cache });
        console.log(JSON.stringify({
          text: result.text,
          prompt_ids: result.promptIds,
          ids: result.ids,
          finish_reason: result.finishReason,
          tokens_per_second: result.tokensPerSecond,
        }));
        return;
      }
      process.stdout.write(flags.prompt);
      const stream = streamText({ model, tokenizer, prompt: flags.prompt, config, useCache: flags.cache });
      let next = await stream.next();
      while (!next.done) {
        process.stdout.write(next.value.text);
        next = await stream.next();
      }
      process.stdout.write('\n');
      console.error(`(${next.value.ids.length} tokens, ${next.value.tokensPerSecond.toFixed(1)} tokens/s, ${next.value.finishReason})`);
    });
}
