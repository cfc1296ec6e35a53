/**
 * Chains, as LangChain has them: an `LLMChain` (prompt template → model → text), a
 * `SequentialChain` (each chain's outputs feed later chains' inputs by name), and a
 * `RouterChain` (one sub-chain per input, chosen by a rule or by the embedding similarity of
 * the input to each route's description). Every chain maps named string inputs to named
 * string outputs, so they nest.
 *
 * @example
 * const title = new LLMChain({ llm, prompt: new PromptTemplate('Title for: {topic}\n'), outputKey: 'title' });
 * const blurb = new LLMChain({ llm, prompt: new PromptTemplate('Blurb for "{title}":\n'), outputKey: 'blurb' });
 * const both = new SequentialChain({ chains: [title, blurb], inputKeys: ['topic'] });
 * await both.call({ topic: 'attention' }); // { topic, title, blurb }
 */
import { QkvValueError } from '../tensor/errors.ts';
import { cosineSimilarity, type Embedder } from './embedder.ts';
import type { CompleteOptions, LanguageModel } from './language-model.ts';
import type { PromptTemplate } from './prompt-template.ts';

export type ChainValues = Record<string, string>;

export interface Chain {
  readonly inputKeys: readonly string[];
  readonly outputKeys: readonly string[];
  call(inputs: ChainValues): Promise<ChainValues>;
}

function requireInputs(chain: string, keys: readonly string[], inputs: ChainValues): void {
  const missing = keys.filter((key) => typeof inputs[key] !== 'string');
  if (missing.length > 0) throw new QkvValueError(`${chain}: missing input${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}`);
}

export interface LLMChainOptions {
  llm: LanguageModel;
  prompt: PromptTemplate;
  /** Name of the output (default "text"). */
  outputKey?: string;
  /** Passed to every call (stop strings, max tokens, temperature). */
  completeOptions?: CompleteOptions;
  /** Trim whitespace around the model's text (default true: small models start with a space or end with a newline). */
  trim?: boolean;
}

/** Prompt template → model → `{ [outputKey]: text }`. */
export class LLMChain implements Chain {
  readonly inputKeys: readonly string[];
  readonly outputKeys: readonly string[];

  constructor(private readonly options: LLMChainOptions) {
    this.inputKeys = options.prompt.inputVariables;
    this.outputKeys = [options.outputKey ?? 'text'];
  }

  async call(inputs: ChainValues): Promise<ChainValues> {
    const text = await this.options.llm.complete(this.options.prompt.format(inputs), this.options.completeOptions);
    return { [this.outputKeys[0]]: this.options.trim === false ? text : text.trim() };
  }

  /** The single output of a call. */
  async run(inputs: ChainValues): Promise<string> {
    return (await this.call(inputs))[this.outputKeys[0]];
  }
}

export interface SequentialChainOptions {
  chains: readonly Chain[];
  /** Inputs the caller gives. */
  inputKeys: readonly string[];
  /** Which values to return (default: the caller's inputs and every chain's outputs). */
  outputKeys?: readonly string[];
}

/**
 * Runs chains in order; each sees the caller's inputs and every earlier output. Checked when
 * built: a chain whose input nothing provides is an error naming the chain and the variable.
 */
export class SequentialChain implements Chain {
  readonly inputKeys: readonly string[];
  readonly outputKeys: readonly string[];
  private readonly chains: readonly Chain[];

  constructor(options: SequentialChainOptions) {
    if (options.chains.length === 0) throw new QkvValueError('SequentialChain: give at least one chain');
    const known = new Set(options.inputKeys);
    options.chains.forEach((chain, index) => {
      const missing = chain.inputKeys.filter((key) => !known.has(key));
      if (missing.length > 0) {
        throw new QkvValueError(`SequentialChain: chain ${index} needs ${missing.map((m) => `"${m}"`).join(', ')}, which neither the inputs nor an earlier chain provide (known: ${[...known].join(', ')})`);
      }
      for (const key of chain.outputKeys) known.add(key);
    });
    for (const key of options.outputKeys ?? []) {
      if (!known.has(key)) throw new QkvValueError(`SequentialChain: output "${key}" is produced by no chain`);
    }
    this.chains = options.chains;
    this.inputKeys = options.inputKeys;
    this.outputKeys = options.outputKeys ?? [...known];
  }

  async call(inputs: ChainValues): Promise<ChainValues> {
    requireInputs('SequentialChain', this.inputKeys, inputs);
    const values: ChainValues = { ...inputs };
    for (const chain of this.chains) Object.assign(values, await chain.call(values));
    return Object.fromEntries(this.outputKeys.map((key) => [key, values[key]]));
  }
}

export interface Route {
  name: string;
  /** What inputs this route is for; embedded once and compared with each input (embedding routing). */
  description: string;
  chain: Chain;
}

export interface RouterChainOptions {
  routes: readonly Route[];
  /** The input the router reads (default "input"). */
  inputKey?: string;
  /** Rule routing: the route's name for these inputs, or undefined for the default. */
  rule?: (inputs: ChainValues) => string | undefined;
  /** Embedding routing (when no rule): the route whose description is most similar to the input. */
  embedder?: Embedder;
  /** Embedding routing: below this cosine similarity the default is taken (default −1: always a route). */
  minSimilarity?: number;
  /** Used when the rule names no route or no route is similar enough. */
  defaultChain?: Chain;
}

/** Picks one sub-chain per input; returns its outputs and `route` (the name taken, or "default"). */
export class RouterChain implements Chain {
  readonly inputKeys: readonly string[];
  readonly outputKeys: readonly string[];
  private descriptionVectors: Promise<number[][]> | null = null;

  constructor(private readonly options: RouterChainOptions) {
    if (options.routes.length === 0) throw new QkvValueError('RouterChain: give at least one route');
    if (!options.rule && !options.embedder) throw new QkvValueError('RouterChain: give a rule or an embedder to choose routes with');
    const names = options.routes.map((r) => r.name);
    if (new Set(names).size !== names.length) throw new QkvValueError(`RouterChain: route names must differ, got ${names.join(', ')}`);
    this.inputKeys = [options.inputKey ?? 'input'];
    this.outputKeys = [...new Set([...options.routes.flatMap((r) => r.chain.outputKeys), 'route'])];
  }

  /** The route chosen for `inputs` (its name, or "default"), without running it. */
  async choose(inputs: ChainValues): Promise<{ name: string; chain: Chain; similarity?: number }> {
    const { routes, rule, embedder, defaultChain } = this.options;
    const fallback = (why: string) => {
      if (defaultChain === undefined) throw new QkvValueError(`RouterChain: ${why}, and there is no defaultChain`);
      return { name: 'default', chain: defaultChain };
    };
    if (rule) {
      const name = rule(inputs);
      if (name === undefined) return fallback('the rule chose no route');
      const route = routes.find((r) => r.name === name);
      if (route === undefined) throw new QkvValueError(`RouterChain: the rule chose "${name}", which is not a route (routes: ${routes.map((r) => r.name).join(', ')})`);
      return { name, chain: route.chain };
    }
    this.descriptionVectors ??= Promise.resolve(embedder!.embed(routes.map((r) => r.description)));
    const descriptions = await this.descriptionVectors;
    const [query] = await embedder!.embed([inputs[this.inputKeys[0]]]);
    let best = 0;
    const similarities = descriptions.map((vector) => cosineSimilarity(query, vector));
    for (let i = 1; i < similarities.length; i++) if (similarities[i] > similarities[best]) best = i;
    if (similarities[best] < (this.options.minSimilarity ?? -1)) return fallback(`no route is similar enough (best ${similarities[best].toFixed(3)})`);
    return { name: routes[best].name, chain: routes[best].chain, similarity: similarities[best] };
  }

  async call(inputs: ChainValues): Promise<ChainValues> {
    requireInputs('RouterChain', this.inputKeys, inputs);
    const { name, chain } = await this.choose(inputs);
    return { ...(await chain.call(inputs)), route: name };
  }
}
