/**
 * DDP vs FSDP (and DDP at bf16 / fp16) memory per worker and throughput, at 2 workers, on a GPT whose AdamW state
 * dominates (3.2M parameters, batch 1 × 16 tokens per worker, so activations are small).
 *
 *   node --import tsx examples/parallel-memory.ts [--workers 2] [--steps 3] [--json]
 *
 * "held" bytes are counted from the arrays a worker holds (parameters, gradients, AdamW m and v,
 * FSDP shards); "arrayBuffers" is measured: process.memoryUsage().arrayBuffers inside each
 * worker's isolate (it also counts the kernels' scratch and garbage not yet collected).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { GPT } from '../src/models/gpt.ts';
import { Rng } from '../src/tensor/random.ts';
import { trainCharTokenizer } from '../src/tokenizers/char.ts';
import { TokenDataset } from '../src/train/data.ts';
import { trainParallel } from '../src/train/parallel/launch.ts';
import { TRAIN_DEFAULTS, trainLanguageModel } from '../src/train/trainer.ts';

const { values } = parseArgs({ options: { workers: { type: 'string', default: '2' }, steps: { type: 'string', default: '3' }, json: { type: 'boolean', default: false } } });
const workers = Number(values.workers);
const text = readFileSync(new URL('../data/brown.txt', import.meta.url), 'utf8').slice(0, 50_000);
const tokenizer = trainCharTokenizer(text);
const dataset = new TokenDataset(tokenizer.encodeIds(text), 0.1);
const modelConfig = { vocab_size: tokenizer.vocabSize, n_layer: 4, n_embd: 256, n_head: 4, n_positions: 16, embd_pdrop: 0, resid_pdrop: 0, attn_pdrop: 0 };
const config = { ...TRAIN_DEFAULTS, steps: Number(values.steps), batchSize: 1, blockSize: 16, warmupSteps: 0, evalBatches: 1, evalInterval: 1000 };
const MiB = 2 ** 20;
const rows = [];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const single = await trainLanguageModel({ model: new GPT(modelConfig, { rng: new Rng(1) }), dataset, config: { ...config, batchSize: workers * config.batchSize }, outDir: null, saveModel: () => {} });
console.log(`one process, batch ${workers * config.batchSize}: median ${Math.round(median(single.history.map((r) => r.tokens_per_second)))} tokens/s`);
const runs = [['ddp', 'fp32'], ['fsdp', 'fp32'], ['ddp', 'bf16'], ['ddp', 'fp16']] as const;
for (const [strategy, precision] of runs) {
  const model = new GPT(modelConfig, { rng: new Rng(1) });
  const summary = await trainParallel({ model, dataset, config, workers, strategy, outDir: null, saveModel: () => {}, measureMemory: true, precision });
  for (const m of summary.workerMemory) {
    rows.push({
      strategy, precision, rank: m.rank,
      peak_held_mib: +(m.peakHeldBytes / MiB).toFixed(2),
      resting_held_mib: +(m.restingHeldBytes / MiB).toFixed(2),
      peak_array_buffers_mib: +(m.peakArrayBufferBytes / MiB).toFixed(2),
      peak_heap_mib: +(m.peakHeapUsedBytes / MiB).toFixed(2),
      median_tokens_per_s: Math.round(median(summary.history.map((r) => r.tokens_per_second))),
      params: model.parameters().reduce((n, p) => n + p.size, 0),
    });
  }
}
const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
if (values.json) console.log(JSON.stringify({ workers, loadavg, rows }));
else {
  console.table(rows);
  const ratio = (field: 'peak_held_mib' | 'resting_held_mib' | 'peak_array_buffers_mib') =>
    (rows.filter((r) => r.strategy === 'fsdp')[0][field] / rows.filter((r) => r.strategy === 'ddp' && r.precision === 'fp32')[0][field]).toFixed(3);
  console.log(`FSDP/DDP rank 0: peak held ${ratio('peak_held_mib')}, resting held ${ratio('resting_held_mib')}, peak arrayBuffers ${ratio('peak_array_buffers_mib')} (load average ${loadavg})`);
}
