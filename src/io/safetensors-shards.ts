/**
 * Sharded safetensors checkpoints, as transformers' `save_pretrained` writes them past its
 * `max_shard_size`: `model.safetensors.index.json` maps each tensor to the shard holding it,
 *
 *   { "metadata": { "total_size": 4976698672 },
 *     "weight_map": { "model.embed_tokens.weight": "model-00001-of-00002.safetensors", … } }
 *
 * and each shard is an ordinary safetensors file read by ./safetensors.ts (F32, F16, BF16, …).
 * Errors name the index or the shard and the tensor: a shard that is missing, a tensor the
 * index promises that its shard lacks, a tensor found in two shards.
 *
 * @example const tensors = loadShardedSafetensors('llama-7b'); // Map name → entry, all shards
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isJsonObject, readJsonObject } from './config.ts';
import { QkvFileNotFoundError, QkvFormatError } from './errors.ts';
import { loadSafetensors, type SafeTensorEntry } from './safetensors.ts';

/** transformers' file name for the index. */
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';

export interface ShardIndex {
  /** Tensor name → shard file name (relative to the index's folder). */
  weightMap: Map<string, string>;
  /** The shard files, in first-mention order. */
  shards: string[];
  metadata: Record<string, unknown>;
}

/** Reads and checks `model.safetensors.index.json` (a file, or a folder holding one). */
export function readShardIndex(path: string): ShardIndex {
  const file = path.endsWith('.json') ? path : join(path, SAFETENSORS_INDEX_FILE);
  if (!existsSync(file)) throw new QkvFileNotFoundError(file, 'no sharded-safetensors index here');
  const json = readJsonObject(file);
  if (!isJsonObject(json.weight_map)) throw new QkvFormatError(file, 'expected an object of tensor name → shard file', 'weight_map');
  const weightMap = new Map<string, string>();
  const shards: string[] = [];
  for (const [name, shard] of Object.entries(json.weight_map)) {
    if (typeof shard !== 'string' || shard === '' || basename(shard) !== shard) {
      throw new QkvFormatError(file, `expected a shard file name in the same folder, found ${JSON.stringify(shard)}`, `weight_map["${name}"]`);
    }
    weightMap.set(name, shard);
    if (!shards.includes(shard)) shards.push(shard);
  }
  return { weightMap, shards, metadata: isJsonObject(json.metadata) ? json.metadata : {} };
}

/**
 * Every tensor of a sharded checkpoint, in index order, each checked against the index.
 *
 * @example const tensors = loadShardedSafetensors('path/to/model'); // or …/model.safetensors.index.json
 */
export function loadShardedSafetensors(path: string): Map<string, SafeTensorEntry> {
  const indexFile = path.endsWith('.json') ? path : join(path, SAFETENSORS_INDEX_FILE);
  const dir = dirname(indexFile);
  const index = readShardIndex(indexFile);
  const tensors = new Map<string, SafeTensorEntry>();
  const foundIn = new Map<string, string>();
  for (const shard of index.shards) {
    const shardPath = join(dir, shard);
    if (!existsSync(shardPath)) throw new QkvFileNotFoundError(shardPath, `shard listed in ${indexFile} is missing`);
    for (const [name, entry] of loadSafetensors(shardPath).tensors) {
      const previous = foundIn.get(name);
      if (previous !== undefined) throw new QkvFormatError(shardPath, `also in shard ${previous}`, `tensor "${name}"`);
      foundIn.set(name, shard);
      tensors.set(name, entry);
    }
  }
  for (const [name, shard] of index.weightMap) {
    const actual = foundIn.get(name);
    if (actual === undefined) throw new QkvFormatError(join(dir, shard), `missing: ${basename(indexFile)} says this shard holds it`, `tensor "${name}"`);
    if (actual !== shard) throw new QkvFormatError(join(dir, actual), `found here, but ${basename(indexFile)} puts it in ${shard}`, `tensor "${name}"`);
  }
  const ordered = new Map<string, SafeTensorEntry>();
  for (const name of index.weightMap.keys()) ordered.set(name, tensors.get(name)!);
  for (const [name, entry] of tensors) if (!ordered.has(name)) ordered.set(name, entry); // unlisted extras (buffers) kept
  return ordered;
}
