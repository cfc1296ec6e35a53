/**
 * `qkv serve` (an OpenAI-compatible server with a playground) and `qkv chat` (a conversation
 * in the terminal, streamed, with a memory).
 *
 * @example
 *   qkv serve --model runs/small --port 8080            # then: OpenAI client with baseURL http://127.0.0.1:8080/v1
 *   printf 'hi\n' | qkv chat --model runs/small --memory window:4
 */
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { readChatTemplate } from '../adapt/chat-template.ts';
import { ChatSession, turnTokenCounter } from '../apps/chat-session.ts';
import { LocalModel } from '../apps/language-model.ts';
import { loadMemory, memoryFromSpec, saveMemory } from '../apps/memory.ts';
import { loadCausalLM } from '../models/load.ts';
import { loadServedEmbedder, loadServedModel } from '../serve/load.ts';
import { DEFAULT_HOST, DEFAULT_PORT, startServer } from '../serve/server.ts';
import { DEFAULT_MAX_BODY_BYTES } from '../serve/app.ts';
import { integerOption, numberOption } from './options.ts';

interface ServeFlags {
  model: string;
  adapter?: string;
  embedModel?: string;
  host: string;
  port: number;
  apiKey?: string;
  maxBodyBytes: number;
  graceMs: number;
  json?: boolean;
}

interface ChatFlags {
  model: string;
  memory: string;
  system?: string;
  maxNewTokens: number;
  temperature: number;
  seed?: number;
  load?: string;
  save?: string;
}

async function serveCommand(flags: ServeFlags): Promise<void> {
  const { served, chatTemplate } = loadServedModel(flags.model, { adapter: flags.adapter });
  const embedder = flags.embedModel === undefined ? undefined : loadServedEmbedder(flags.embedModel);
  const apiKey = flags.apiKey ?? process.env.QKV_API_KEY;
  const server = await startServer({ served, chatTemplate, embedder, apiKey, host: flags.host, port: flags.port, maxBodyBytes: flags.maxBodyBytes });
  const where = {
    url: server.url,
    openai_base_url: `${server.url}/v1`,
    playground: `${server.url}/`,
    model: served.id,
    ...(embedder ? { embed_model: embedder.id } : {}),
    api_key_required: apiKey !== undefined,
  };
  if (flags.json) console.log(JSON.stringify(where));
  else console.log(`qkv serve: listening on ${server.url} (OpenAI base URL ${where.openai_base_url}, playground ${where.playground}); model "${served.id}"${embedder ? `, embeddings "${embedder.id}"` : ''}${apiKey ? ', API key required' : ''}`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      console.error(`qkv serve: ${signal}: shutting down (in-flight streams get ${flags.graceMs} ms to finish)`);
      void server.close({ graceMs: flags.graceMs }).then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  console.error('qkv serve: stopped');
}

async function chatCommand(flags: ChatFlags): Promise<void> {
  const { model, tokenizer, generationConfig } = loadCausalLM(flags.model);
  const chatTemplate = readChatTemplate(flags.model) ?? undefined;
  const eos = generationConfig.eos_token_id;
  const llm = new LocalModel({
    model,
    tokenizer,
    config: {
      max_new_tokens: flags.maxNewTokens,
      do_sample: flags.temperature > 0,
      temperature: flags.temperature > 0 ? flags.temperature : 1,
      top_k: 0,
      seed: flags.seed ?? null,
      ...(typeof eos === 'number' ? { eos_token_id: eos } : {}),
    },
  });
  const dependencies = { llm, countTokens: turnTokenCounter((text) => tokenizer.encodeIds(text).length, chatTemplate) };
  const memory = flags.load !== undefined && existsSync(flags.load) ? loadMemory(flags.load, dependencies) : memoryFromSpec(flags.memory, dependencies);
  const session = new ChatSession({ llm, memory, chatTemplate, system: flags.system });
  const interactive = process.stdin.isTTY === true;
  const lines = createInterface({ input: process.stdin, terminal: false });
  if (interactive) process.stdout.write('> ');
  for await (const line of lines) {
    const text = line.trim();
    if (text === '') {
      if (interactive) process.stdout.write('> ');
      continue;
    }
    for await (const piece of session.send(text)) process.stdout.write(piece);
    process.stdout.write('\n');
    if (flags.save !== undefined) saveMemory(flags.save, memory);
    if (interactive) process.stdout.write('> ');
  }
}

export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description('serve a model over an OpenAI-compatible HTTP API (completions, chat completions, embeddings) with a web playground at /')
    .requiredOption('--model <dir>', 'causal LM folder (config.json, model.safetensors, tokenizer.json)')
    .option('--adapter <dir>', 'LoRA adapter folder (adapter_config.json, adapter_model.safetensors) applied to the model')
    .option('--embed-model <dir>', 'BERT folder served at /v1/embeddings')
    .option('--host <host>', 'address to bind (0.0.0.0 opens it to the network)', DEFAULT_HOST)
    .option('--port <port>', 'port (0: any free port)', integerOption('--port', 0), DEFAULT_PORT)
    .option('--api-key <key>', 'require "Authorization: Bearer <key>" on /v1 (default: $QKV_API_KEY, else none)')
    .option('--max-body-bytes <n>', 'largest request body', integerOption('--max-body-bytes', 1), DEFAULT_MAX_BODY_BYTES)
    .option('--grace-ms <ms>', 'on SIGTERM, how long in-flight streams may finish before they are ended', integerOption('--grace-ms', 0), 5000)
    .option('--json', 'print where it listens as one JSON object')
    .action(serveCommand);

  program
    .command('chat')
    .description('chat with a model in the terminal (one message per line on stdin), replies streamed')
    .requiredOption('--model <dir>', 'causal LM folder')
    .option('--memory <kind>', 'what the model remembers: buffer, window:K (last K exchanges), tokens:N (newest turns within N tokens), summary', 'window:4')
    .option('--system <text>', 'a system message put first in every prompt')
    .option('--max-new-tokens <n>', 'longest reply in tokens', integerOption('--max-new-tokens', 1), 120)
    .option('--temperature <t>', 'sampling temperature; 0 = greedy', numberOption('--temperature', 0), 0.8)
    .option('--seed <n>', 'random seed for sampling', integerOption('--seed', 0))
    .option('--load <file>', 'resume the conversation memory from this JSON file (if it exists)')
    .option('--save <file>', 'write the conversation memory to this JSON file after every reply')
    .action(chatCommand);
}
