/**
 * Attention maps: what each head of a decoder looks at, for one text. The model runs once with
 * `returnAttention`, and every layer's (B, NH, T, T) weights are copied out as plain T × T
 * arrays, one per (layer, head), with the tokens that label both axes. The renderers
 * (`heatmap-html.ts`, `heatmap-svg.ts`, `png.ts`) draw from this and nothing else, so what they
 * draw is exactly what the model computed.
 *
 * Legend: L = layer, NH = heads, T = tokens; row i of a map is query position i, column j is
 * key position j, and each row sums to 1 (a softmax over keys).
 *
 * @example
 *   const { model, tokenizer } = loadCausalLM('out/tiny');
 *   const maps = collectAttentionMaps(model, tokenizer, 'The jury said', { layer: 0 });
 *   maps.maps[0].weights[3][1]; // how much query 3 attends to key 1 in layer 0, head 0
 */
import { QkvValueError } from '../tensor/errors.ts';
import { noGrad } from '../tensor/autograd.ts';
import { Tensor } from '../tensor/tensor.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';

/**
 * What a model needs to be looked inside: a forward that can keep its attention weights, and
 * a way to read them back. GPT and the Llama-style decoder both fit.
 */
export interface AttentionModel {
  forward(ids: Tensor, options: { returnAttention?: boolean }): unknown;
  /** Per layer: (B, NH, T, Tk) weights of the last forward with `returnAttention`, or null. */
  attentionWeights(): (Tensor | null)[];
  /** Longest sequence the model accepts, if it has a limit. */
  readonly contextLength?: number;
  /** Training mode (a `Module`'s): switched off for the look, so dropout does not blur the weights. */
  readonly training?: boolean;
  train?(mode?: boolean): unknown;
}

/** True when `model` exposes its attention weights (the check the CLI makes on a loaded folder). */
export function isAttentionModel(model: unknown): model is AttentionModel {
  const candidate = model as Partial<AttentionModel> | null;
  return typeof candidate?.forward === 'function' && typeof candidate.attentionWeights === 'function';
}

/** One head's weights: `weights[i][j]` is how much query i attends to key j. */
export interface AttentionMap {
  layer: number;
  head: number;
  /** T rows (queries) × T columns (keys). */
  weights: number[][];
}

export interface AttentionMaps {
  text: string;
  ids: number[];
  /** The tokenizer's tokens, as it spells them (`Ġthe` for byte-level BPE). */
  tokens: string[];
  /** What to print on the axes: each token's own text, whitespace and control characters made visible. */
  labels: string[];
  /** Layers and heads of the model (not only those kept in `maps`). */
  numLayers: number;
  numHeads: number;
  /** In layer-major order: layer 0 head 0, layer 0 head 1, …. */
  maps: AttentionMap[];
}

export interface CollectOptions {
  /** Keep only this layer (0-based); default all. */
  layer?: number;
  /** Keep only this head (0-based) of each kept layer; default all. */
  head?: number;
}

function checkIndex(name: string, value: number | undefined, count: number, what: string): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < 0 || value >= count) {
    throw new QkvValueError(`attention: ${name} ${value} is out of range: the model has ${count} ${what} (0–${count - 1})`);
  }
}

/**
 * Runs `model` on `text` once (no gradient, eval mode, the caller's mode restored) and returns the attention weights of every layer
 * and head, or of the one layer/head asked for. Errors name the layer or head out of range, an
 * empty text, or a text longer than the model's context.
 */
export function collectAttentionMaps(model: AttentionModel, tokenizer: Tokenizer, text: string, options: CollectOptions = {}): AttentionMaps {
  const encoding = tokenizer.encode(text);
  const ids = encoding.ids;
  const T = ids.length;
  if (T === 0) throw new QkvValueError('attention: the text encodes to no tokens; give a non-empty text');
  if (model.contextLength !== undefined && T > model.contextLength) {
    throw new QkvValueError(`attention: the text is ${T} tokens, longer than the model's context of ${model.contextLength}`);
  }
  const input = Tensor.from(ids, [1, T]);
  // eval mode for this one forward: attention dropout would zero and rescale weights at random
  const wasTraining = model.training === true && typeof model.train === 'function';
  if (wasTraining) model.train!(false);
  try {
    noGrad(() => model.forward(input, { returnAttention: true }));
  } finally {
    if (wasTraining) model.train!(true);
  }
  const perLayer = model.attentionWeights();
  const numLayers = perLayer.length;
  checkIndex('layer', options.layer, numLayers, 'layers');

  const maps: AttentionMap[] = [];
  let numHeads = 0;
  for (const [layer, weights] of perLayer.entries()) {
    if (weights === null) throw new QkvValueError(`attention: layer ${layer} kept no attention weights (does its forward honour returnAttention?)`);
    const [B, NH, Tq, Tk] = weights.shape;
    if (weights.ndim !== 4 || B !== 1 || Tq !== T || Tk !== T) {
      throw new QkvValueError(`attention: layer ${layer} weights have shape (${weights.shape.join(',')}), expected (1, NH, ${T}, ${T})`);
    }
    numHeads = NH;
    if (options.layer !== undefined && layer !== options.layer) continue;
    checkIndex('head', options.head, NH, 'heads per layer');
    for (let head = 0; head < NH; head++) {
      if (options.head !== undefined && head !== options.head) continue;
      maps.push({ layer, head, weights: headWeights(weights, head) });
    }
  }
  return { text, ids, tokens: encoding.tokens, labels: ids.map((id, i) => tokenLabel(tokenizer, id, encoding.tokens[i])), numLayers, numHeads, maps };
}

/** (1, NH, T, T) → head's T × T as nested arrays; `get` follows strides, so views work too. */
function headWeights(weights: Tensor, head: number): number[][] {
  const T = weights.shape[2];
  return Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => weights.get(0, head, i, j)));
}

/**
 * A token as a person reads it: its decoded text (so byte-level `Ġthe` shows as `␣the`), with
 * spaces as `␣`, newlines as `↵`, tabs as `⇥` and other control characters as `\xNN`, so
 * every label is visible and safe to put in XML. A token whose bytes are only part of a
 * character (decoding gives U+FFFD) keeps the tokenizer's spelling.
 */
export function tokenLabel(tokenizer: Tokenizer, id: number, token: string): string {
  let text = token;
  try {
    const decoded = tokenizer.decode([id]);
    if (decoded.length > 0 && !decoded.includes('\uFFFD')) text = decoded;
  } catch {
    // an id the decoder cannot handle alone: keep the token
  }
  return visibleText(text);
}

/** Whitespace and control characters → visible symbols (see {@link tokenLabel}). */
export function visibleText(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === ' ') out += '␣';
    else if (ch === '\n') out += '↵';
    else if (ch === '\r') out += '⏎';
    else if (ch === '\t') out += '⇥';
    else if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0) || (code >= 0xd800 && code < 0xe000) || code === 0xfffe || code === 0xffff) {
      out += `\\x${code.toString(16).padStart(2, '0')}`;
    } else out += ch;
  }
  return out;
}

/**
 * Most cells a drawing holds (panels × T²): beyond it the SVG/HTML grows past what a browser
 * opens comfortably (each cell is an element) and the PNG past 100 megapixels.
 */
export const MAX_DRAWN_CELLS = 2_000_000;

/** Throws, suggesting how to draw less, when `maps` is too large to draw. */
export function checkDrawable(maps: AttentionMaps, renderer: string): void {
  const T = maps.labels.length;
  const cells = maps.maps.length * T * T;
  if (cells > MAX_DRAWN_CELLS) {
    throw new QkvValueError(
      `${renderer}: ${maps.maps.length} panels of ${T}×${T} tokens are ${cells} cells, more than ${MAX_DRAWN_CELLS} can be drawn; pick one --layer/--head or a shorter text`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The colour scale, shared by every renderer so a weight has one colour in HTML, SVG and PNG.
// Sequential white → dark blue (ColorBrewer "Blues"): 0 is white, so the causal mask's upper
// triangle reads as empty, and the scale is absolute (0 to 1, not per-panel min–max), so two
// panels can be compared by eye.

/** Stops of the colour scale: weight → sRGB, linearly interpolated between stops. */
export const ATTENTION_COLOR_STOPS: readonly { weight: number; rgb: readonly [number, number, number] }[] = [
  { weight: 0, rgb: [255, 255, 255] },
  { weight: 0.125, rgb: [222, 235, 247] },
  { weight: 0.25, rgb: [198, 219, 239] },
  { weight: 0.5, rgb: [107, 174, 214] },
  { weight: 0.75, rgb: [33, 113, 181] },
  { weight: 1, rgb: [8, 48, 107] },
];

/** Colour of a weight (clamped to [0, 1]; NaN → red, so a broken model is not drawn as white). */
export function attentionColor(weight: number): [number, number, number] {
  if (Number.isNaN(weight)) return [220, 0, 0];
  const w = Math.min(1, Math.max(0, weight));
  for (let s = 1; s < ATTENTION_COLOR_STOPS.length; s++) {
    const high = ATTENTION_COLOR_STOPS[s];
    if (w > high.weight) continue;
    const low = ATTENTION_COLOR_STOPS[s - 1];
    const t = (w - low.weight) / (high.weight - low.weight);
    return [0, 1, 2].map((c) => Math.round(low.rgb[c] + t * (high.rgb[c] - low.rgb[c]))) as [number, number, number];
  }
  return [...ATTENTION_COLOR_STOPS[ATTENTION_COLOR_STOPS.length - 1].rgb];
}

/** {@link attentionColor} as `#rrggbb`. */
export function attentionColorHex(weight: number): string {
  return `#${attentionColor(weight).map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}

/** A weight as printed in tooltips: 3 decimals. */
export function formatWeight(weight: number): string {
  return weight.toFixed(3);
}
