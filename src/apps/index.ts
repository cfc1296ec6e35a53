/** Applications on top of the models: prompt templates, chains, conversation memories, chat sessions. */
export { PromptTemplate } from './prompt-template.ts';
export { LocalModel, OpenAIModel, type CompleteOptions, type LanguageModel, type LocalModelOptions, type OpenAIModelOptions } from './language-model.ts';
// Exported as TextEmbedder: src/rag has its own `Embedder` (named, fixed dim, Float32Array vectors).
export { cosineSimilarity, OpenAIEmbedder, type Embedder as TextEmbedder } from './embedder.ts';
export { LLMChain, RouterChain, SequentialChain, type Chain, type ChainValues, type Route } from './chains.ts';
export {
  BufferMemory,
  SummaryMemory,
  TokenBufferMemory,
  WindowMemory,
  SUMMARY_PROMPT,
  loadMemory,
  memoryFromJson,
  memoryFromSpec,
  memoryToJson,
  saveMemory,
  type ConversationMemory,
  type MemoryJson,
  type Turn,
} from './memory.ts';
export { ChatSession, turnTokenCounter, type ChatSessionOptions } from './chat-session.ts';
