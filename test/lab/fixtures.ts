/**
 * Shared by the lab tests: a tiny GPT built in code (weights drawn wide enough that heads attend
 * unevenly, so the heatmaps have structure), and headless Chromium when it is installed.
 */
import { existsSync } from 'node:fs';
import { GPT } from '../../src/models/gpt.ts';
import { Rng } from '../../src/tensor/random.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';
import type { Tokenizer } from '../../src/tokenizers/tokenizer.ts';

export const SAMPLE_TEXT = 'The jury said <it> & "won"';

export function tinyModel(seed = 0): { model: GPT; tokenizer: Tokenizer } {
  const tokenizer = trainCharTokenizer(`${SAMPLE_TEXT} abcdefghijklmnopqrstuvwxyz\n`);
  const model = new GPT(
    { vocab_size: tokenizer.vocabSize, n_layer: 2, n_embd: 16, n_head: 2, n_positions: 32, initializer_range: 0.35 },
    { rng: new Rng(seed) },
  ).eval();
  return { model, tokenizer };
}

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_MISSING = 'chromium not installed: apt-get install chromium';

export function chromiumInstalled(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/** Headless Chromium with nothing that phones home; the caller closes it. */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
