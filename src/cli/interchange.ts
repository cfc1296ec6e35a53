/**
 * `qkv export`, `qkv quantize`, `qkv prune` (issue 16): a model folder in, a file or folder out.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { statSync } from 'node:fs';
import { QUANT_FORMATS, type QuantFormat } from '../compress/formats.ts';
import { quantizeModel, saveQuantizedCausalLM } from '../compress/quantize-model.ts';
import { loadCausalLM } from '../models/load.ts';

function oneOf<T extends string>(name: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`${name} must be one of ${choices.join(', ')}, got "${value}"`);
    return value as T;
  };
}

function folderBytes(files: string[]): number {
  return files.reduce((sum, file) => sum + statSync(file).size, 0);
}

interface QuantizeFlags {
  model: string;
  bits: '8' | '4';
  format?: QuantFormat;
  out: string;
  json?: boolean;
}

function registerQuantize(program: Command): void {
  program
    .command('quantize')
    .description('quantise a model folder\'s Linear/Conv1D weights to ggml blocks (Q8_0, Q4_0) or group-128 4-bit')
    .requiredOption('--model <dir>', 'model folder to read')
    .requiredOption('--out <dir>', 'quantised model folder to write (generates and evaluates like any other)')
    .option('--bits <n>', '8 → q8_0, 4 → q4_0', oneOf('--bits', ['8', '4'] as const), '8')
    .option('--format <name>', `block format, overriding --bits (${QUANT_FORMATS.join(', ')}; q4_g128: asymmetric, groups of 128)`, oneOf('--format', QUANT_FORMATS))
    .option('--json', 'print one JSON object: format, layers, sizes')
    .action((flags: QuantizeFlags) => {
      const { model, tokenizer, generationConfig } = loadCausalLM(flags.model);
      const format: QuantFormat = flags.format ?? (flags.bits === '8' ? 'q8_0' : 'q4_0');
      const report = quantizeModel(model, format);
      const files = saveQuantizedCausalLM(flags.out, model, tokenizer, generationConfig);
      const summary = {
        format,
        out: flags.out,
        layers: Object.keys(report.modules).length,
        skipped: report.skipped,
        size_bytes_before: report.sizeBytesBefore,
        size_bytes_after: report.sizeBytesAfter,
        folder_bytes: folderBytes(files),
      };
      if (flags.json) console.log(JSON.stringify(summary));
      else {
        console.log(`${format}: ${summary.layers} layers quantised${report.skipped.length ? `, ${report.skipped.length} left float32 (${report.skipped.join(', ')})` : ''}`);
        console.log(`weights ${(report.sizeBytesBefore / 1e6).toFixed(2)} MB → ${(report.sizeBytesAfter / 1e6).toFixed(2)} MB (${(report.sizeBytesAfter / report.sizeBytesBefore).toFixed(3)}×); wrote ${flags.out}`);
      }
    });
}

export function registerInterchangeCommands(program: Command): void {
  registerQuantize(program);
}
