/**
 * qkv: tokenize, build, train, fine-tune, generate and inspect transformer language models in
 * TypeScript. Each area is also importable on its own (`qkv/tensor`, … once published); this
 * entry re-exports the public API by area.
 *
 * @example
 * import { GPT, Tensor, AdamW } from 'qkv';
 * const model = new GPT({ vocab_size: 96, n_layer: 4, n_embd: 128, n_head: 4 });
 */
export * from './tensor/index.ts';
export * as kernels from './kernels/index.ts';
export * from './nn/index.ts';
export * from './optim/index.ts';
export * from './tokenizers/index.ts';
export * from './io/safetensors.ts';
export { saveModelFolder, loadModelFolder } from './io/model-folder.ts';
export { QkvFormatError, QkvFileNotFoundError } from './io/errors.ts';
export { GPT, KVCache, GPT_DEFAULTS, resolveGPTConfig, type GPTConfig } from './models/gpt.ts';
export { saveGPT, loadGPT } from './models/gpt-folder.ts';
export { Llama, LLAMA_DEFAULTS, resolveLlamaConfig, type LlamaConfig } from './models/llama.ts';
export { saveLlama, loadLlama } from './models/llama-folder.ts';
export { loadCausalLM, saveCausalLM } from './models/load.ts';
export type { CausalLM, DecodingCache } from './models/causal-lm.ts';
export { TokenDataset, unigramCrossEntropy } from './train/data.ts';
export { trainLanguageModel, evaluateLoss, TRAIN_DEFAULTS, type TrainConfig, type TrainSummary } from './train/trainer.ts';
export { trainOnText } from './train/run.ts';
export { evaluatePerplexity } from './eval/perplexity.ts';
export * as generation from './generate/index.ts';
export { generateText, streamText } from './generate/lm.ts';
export { collectAttentionMaps, type AttentionMaps } from './lab/attention-maps.ts';
export { renderAttentionHtml } from './lab/heatmap-html.ts';
export { renderAttentionSvg } from './lab/heatmap-svg.ts';
export { renderAttentionPng, encodePng } from './lab/png.ts';
export { BertModel, BertLayer, BERT_DEFAULTS, resolveBertConfig, meanPool, type BertConfig, type BertInputs } from './models/bert.ts';
export { BertForPreTraining, BertForMaskedLM, BertForSequenceClassification, bertBody, type AnyBert } from './models/bert-heads.ts';
export { saveBert, loadBert, BERT_ARCHITECTURES, type BertArchitecture } from './models/bert-folder.ts';
export { encodeBertBatch, type BertBatch } from './models/bert-inputs.ts';
export { embedTexts, type EmbedOptions } from './models/bert-embed.ts';
export { loadModel, LOADABLE_MODEL_TYPES, type LoadedModel } from './models/load.ts';
export { GRU, GRUCell, type GRUCellOptions, type GRUForwardResult } from './nn/gru.ts';
export { Transformer, TransformerEncoder, TransformerDecoder, TransformerEncoderLayer, TransformerDecoderLayer, type TransformerDecodingState } from './models/transformer.ts';
export { TRANSFORMER_DEFAULTS, TRANSFORMER_PRESETS, resolveTransformerConfig, type TransformerConfig, type TransformerConfigInput } from './models/transformer-config.ts';
export { shiftTokensRight, paddingMask } from './models/transformer-inputs.ts';
export { RnnSeq2Seq, resolveRnnSeq2SeqConfig, type RnnSeq2SeqConfig, type RnnAttentionKind } from './models/rnn-seq2seq.ts';
export { saveSeq2SeqModel, loadSeq2SeqFolder, SEQ2SEQ_MODEL_TYPES, type Seq2SeqModel, type LoadedSeq2Seq } from './models/transformer-folder.ts';
export { loadSeq2SeqModel } from './models/load.ts';
export { beamSearch, greedyDecode, lengthNormalizer, type BeamSearchOptions, type Hypothesis, type Seq2SeqDecodable } from './generate/beam.ts';
export { SEQ2SEQ_TASKS, getSeq2SeqTask, generatePairs, heldOutPairs, readPairsTsv, numberToWords, type Seq2SeqPair, type Seq2SeqTask } from './train/seq2seq-tasks.ts';
export { Seq2SeqDataset, seq2seqCharTokenizer, encodeSources, encodeLabels } from './train/seq2seq-data.ts';
export { trainSeq2Seq, buildSeq2SeqModel, SEQ2SEQ_ARCHITECTURES, SEQ2SEQ_TRAIN_DEFAULTS, type Seq2SeqArchitecture } from './train/seq2seq-train.ts';
export { translate, translateNBest, evaluateSeq2Seq, type Seq2SeqScores } from './train/seq2seq-eval.ts';
export { sacreBleuCorpus, sentenceBleu, computeBleu, formatBleu, tokenize13a, type BleuScore, type BleuOptions } from './eval/bleu.ts';
export { rougeScores, rougeCorpus, rougeTokenize, rougeN, rougeL, lcsLength, type RougeScore, type RougeScores } from './eval/rouge.ts';
export { exactMatch, tokenAccuracy } from './eval/exact-match.ts';
export { distinctN } from './eval/diversity.ts';
export { applyLora, LoraModel, LoraLayer, AdapterDict, loraScaling, matchesTarget, LORA_DEFAULTS, PEFT_DEFAULT_TARGET_MODULES, type LoraConfig } from './adapt/lora.ts';
export { saveLoraAdapter, loadLoraAdapter, readAdapterConfig, adapterStateDict, adapterConfigJson, peftKey, ADAPTER_FILES } from './adapt/peft-files.ts';
export { renderChat, readChatTemplate, chatSegments, DEFAULT_CHAT_TEMPLATE, DEFAULT_CHAT_STOP, type ChatMessage, type ChatSegment } from './adapt/chat-template.ts';
export { readJsonl, parseJsonl, writeJsonl, type PromptCompletionRecord, type ChatRecord, type PreferenceRecord } from './adapt/jsonl.ts';
export { finetune, completionLoss, FINETUNE_DEFAULTS, type FinetuneOptions, type FinetuneResult } from './train/finetune.ts';
export { ExampleDataset, collateExamples, tokenizeSegments, IGNORE_INDEX } from './train/finetune-data.ts';
export { RewardModel, bradleyTerryLoss, pairwiseAccuracy, trainRewardModel, saveRewardModel, loadRewardModel } from './align/reward-model.ts';
export { dpoLoss, trainDpo, evaluateDpo, DPO_DEFAULTS, type DpoMetrics, type DpoReference } from './align/dpo.ts';
export { trainRl, bestOfN, sampleCompletions, RL_DEFAULTS, type RlConfig, type RlLogRecord } from './align/rl.ts';
export { sequenceLogProbs, completionKL, pairBatch } from './align/logprobs.ts';
export { arithmeticInstructions, arithmeticPreferences, arithmeticText, arithmeticQuality, isCorrectAnswer } from './align/data.ts';
export { maskTokens, type MaskingOptions } from './train/mlm-masking.ts';
export { PretrainingDataset, splitDocuments, maskingVocabulary } from './train/mlm.ts';
export { pretrainBert, evaluatePretraining, PRETRAIN_DEFAULTS } from './train/mlm-pretrain.ts';
export { readLabelledFile, parseCsv, ClassificationDataset, type LabelledExample } from './train/classify-data.ts';
export { fineTuneClassifier, predictClasses, CLASSIFY_TRAIN_DEFAULTS, type Predictions } from './train/classify.ts';
export { BagOfWordsClassifier, trainBagOfWords, saveBagOfWords, loadBagOfWords } from './train/classify-bow.ts';
export { loadClassifier } from './train/classify-load.ts';
export { classificationReport, confusionMatrix, type ClassificationReport } from './eval/classification-metrics.ts';
export { groupReport, type GroupReport } from './eval/fairness.ts';
export { calibrate, contentFreeDistribution, CONTENT_FREE_INPUTS } from './eval/calibration.ts';
export { buildFewShotPrompt, labelWordProbabilities, runCalibrationExperiment } from './eval/few-shot.ts';
export * from './rag/index.ts';
