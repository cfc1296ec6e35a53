/**
 * `qkv attention`: draws a model's attention weights for a text as heatmaps, one panel per
 * head, in the format the output's extension names: `.html` (a self-contained page), `.svg`
 * or `.png`. With `--json`, prints one object with the tokens and the weights (and the file
 * written, if any).
 *
 * @example
 *   qkv attention --model out/tiny --text 'The jury said' --out attention.html
 *   qkv attention --model out/tiny --text 'The jury said' --layer 1 --head 0 --out head.png
 */
import { extname } from 'node:path';
import type { Command } from 'commander';
import { writeFileAtomic } from '../io/atomic.ts';
import { collectAttentionMaps, isAttentionModel, type AttentionMaps } from '../lab/attention-maps.ts';
import { renderAttentionHtml } from '../lab/heatmap-html.ts';
import { renderAttentionSvg } from '../lab/heatmap-svg.ts';
import { renderAttentionPng } from '../lab/png.ts';
import { loadCausalLM } from '../models/load.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { integerOption } from './options.ts';

export type HeatmapFormat = 'html' | 'svg' | 'png';

interface AttentionFlags {
  model: string;
  text: string;
  layer?: number;
  head?: number;
  out?: string;
  json?: boolean;
}

export interface AttentionIo {
  write(text: string): void;
}

const FORMATS: Record<string, HeatmapFormat> = { '.html': 'html', '.htm': 'html', '.svg': 'svg', '.png': 'png' };

/** The format an output path asks for, from its extension; anything else is an error naming the path. */
export function heatmapFormatOf(path: string): HeatmapFormat {
  const format = FORMATS[extname(path).toLowerCase()];
  if (format === undefined) throw new QkvValueError(`--out ${path}: the extension must be .html, .svg or .png, got "${extname(path) || '(none)'}"`);
  return format;
}

/** Renders `maps` as `format` and writes it atomically; returns the image size for PNG. */
export function writeHeatmap(path: string, maps: AttentionMaps, format = heatmapFormatOf(path)): { widthPx?: number; heightPx?: number } {
  switch (format) {
    case 'html':
      writeFileAtomic(path, renderAttentionHtml(maps));
      return {};
    case 'svg':
      writeFileAtomic(path, renderAttentionSvg(maps));
      return {};
    case 'png': {
      const image = renderAttentionPng(maps);
      writeFileAtomic(path, image.png);
      return { widthPx: image.widthPx, heightPx: image.heightPx };
    }
  }
}

export function registerAttentionCommand(program: Command, io: AttentionIo = { write: (text) => void process.stdout.write(text) }): void {
  program
    .command('attention')
    .description('draw attention weights for a text as heatmaps (one panel per head): HTML page, SVG or PNG')
    .requiredOption('--model <dir>', 'model folder (config.json, model.safetensors, tokenizer.json)')
    .requiredOption('--text <text>', 'text whose attention to draw')
    .option('--layer <l>', 'only this layer (0-based; default all)', integerOption('--layer', 0))
    .option('--head <h>', 'only this head of each layer drawn (0-based; default all)', integerOption('--head', 0))
    .option('--out <file>', 'output file; .html, .svg or .png chooses the format')
    .option('--json', 'print one JSON object: tokens, ids and every drawn head\'s weights (and the file written)')
    .action((flags: AttentionFlags) => {
      if (flags.out === undefined && !flags.json) throw new QkvValueError('attention: give --out FILE.html|.svg|.png, or --json to print the weights');
      // check the extension before the (slower) model load
      const format = flags.out === undefined ? undefined : heatmapFormatOf(flags.out);
      const { model, tokenizer } = loadCausalLM(flags.model);
      if (!isAttentionModel(model)) throw new QkvValueError(`${flags.model}: this model does not expose its attention weights`);
      const maps = collectAttentionMaps(model, tokenizer, flags.text, { layer: flags.layer, head: flags.head });
      const size = flags.out === undefined ? {} : writeHeatmap(flags.out, maps, format);
      if (flags.json) {
        io.write(`${JSON.stringify({
          ...(flags.out === undefined ? {} : { out: flags.out, format }),
          ...(size.widthPx === undefined ? {} : { width: size.widthPx, height: size.heightPx }),
          text: maps.text,
          ids: maps.ids,
          tokens: maps.tokens,
          num_layers: maps.numLayers,
          num_heads: maps.numHeads,
          maps: maps.maps,
        })}\n`);
        return;
      }
      const sizeText = size.widthPx === undefined ? '' : `, ${size.widthPx}×${size.heightPx} px`;
      io.write(`wrote ${flags.out} (${format}${sizeText}): ${maps.maps.length} panel${maps.maps.length === 1 ? '' : 's'} (model: ${maps.numLayers} layers × ${maps.numHeads} heads), ${maps.ids.length} tokens\n`);
    });
}
