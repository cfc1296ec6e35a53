/**
 * `npm run bench [-- --json] [-- --only NAME]`: every benchmark in one run, so the ratios
 * compare numbers measured side by side on the same machine state.
 */
import { BenchReport } from './report.ts';

type Bench = { name: string; run: (report: BenchReport) => Promise<void> };

const benches: Bench[] = [
  { name: 'matmul', run: async (report) => (await import('./matmul.ts')).run(report) },
  { name: 'tokenizers', run: async (report) => (await import('./tokenizers.ts')).run(report) },
  { name: 'tokenizers-llama', run: async (report) => (await import('./tokenizers-llama.ts')).run(report) },
  { name: 'attention', run: async (report) => (await import('./attention.ts')).run(report) },
  { name: 'kernels', run: async (report) => (await import('./kernels.ts')).run(report) },
  { name: 'fused-attention', run: async (report) => (await import('./fused-attention.ts')).run(report) },
  { name: 'adaptive-softmax', run: async (report) => (await import('./adaptive-softmax.ts')).run(report) },
  { name: 'gpt', run: async (report) => (await import('./gpt.ts')).run(report) },
  { name: 'torch', run: async (report) => (await import('./torch.ts')).run(report) },
  { name: 'rag', run: async (report) => (await import('./rag.ts')).run(report) },
  { name: 'seq2seq', run: async (report) => (await import('./seq2seq.ts')).run(report) },
  { name: 'compress-kernels', run: async (report) => (await import('./compress-kernels.ts')).run(report) },
  { name: 'compress', run: async (report) => (await import('./compress.ts')).run(report) },
  { name: 'bert', run: async (report) => (await import('./bert.ts')).run(report) },
  { name: 'parallel', run: async (report) => (await import('./parallel.ts')).run(report) },
];

const args = process.argv.slice(2);
const json = args.includes('--json');
const onlyIndex = args.indexOf('--only');
const only = onlyIndex >= 0 ? args[onlyIndex + 1] : undefined;
const report = new BenchReport(json);
for (const bench of benches) {
  if (only !== undefined && bench.name !== only) continue;
  report.section(bench.name);
  await bench.run(report);
}
