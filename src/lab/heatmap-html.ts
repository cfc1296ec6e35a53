/**
 * Attention heatmaps as one self-contained HTML page: a section per layer, an inline SVG panel
 * per head (`svg.panel`, drawn by `heatmap-svg.ts`), the colour scale, the token list, and a
 * read-out line that shows the exact weight under the mouse. Nothing is fetched: styles and
 * the small script are inline, and the weights themselves are embedded as JSON in
 * `<script type="application/json" id="qkv-attention-data">`, so the page can be checked (or
 * re-plotted) against the model's numbers.
 *
 * @example
 *   writeFileAtomic('attention.html', renderAttentionHtml(collectAttentionMaps(model, tokenizer, text)));
 */
import { ATTENTION_COLOR_STOPS, attentionColorHex, checkDrawable, type AttentionMaps } from './attention-maps.ts';
import { attentionPanelSvg, defaultTitle, escapeXml, panelGeometry, type SvgOptions } from './heatmap-svg.ts';

export type HtmlOptions = SvgOptions;

/** The id of the embedded JSON (`{ text, ids, tokens, labels, numLayers, numHeads, maps }`). */
export const ATTENTION_DATA_ID = 'qkv-attention-data';

/** JSON that is safe inside `<script>`: no `</script>` or `<!--` can close or confuse it. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

const STYLE = `
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #111; background: #fff; }
  h1 { font-size: 18px; margin: 0 0 6px; }
  h2 { font-size: 15px; margin: 20px 0 8px; }
  .meta { color: #555; font-size: 13px; margin: 0 0 12px; }
  .color-scale { display: flex; align-items: center; gap: 10px; font-size: 12px; color: #333; margin-bottom: 10px; }
  .color-scale .bar { width: 200px; height: 12px; border: 1px solid #888; }
  .tokens { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; line-height: 1.9; }
  .tokens span { border: 1px solid #ccc; border-radius: 3px; padding: 1px 4px; margin-right: 2px; white-space: pre; }
  .tokens sub { color: #888; font-size: 9px; }
  .heads { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
  svg.panel { border: 1px solid #e4e4e4; border-radius: 4px; background: #fff; padding: 6px; }
  svg.panel rect[data-i]:hover { stroke: #e6550d; stroke-width: 2; }
  #readout { position: sticky; top: 0; background: #fffbe8; border: 1px solid #e8d9a0; padding: 4px 8px; font-size: 13px;
             font-family: ui-monospace, Menlo, Consolas, monospace; min-height: 1.3em; margin-bottom: 8px; }
`;

/** Shows the exact weight of the cell under the mouse, read from the embedded JSON. */
const SCRIPT = `
(() => {
  const data = JSON.parse(document.getElementById('${ATTENTION_DATA_ID}').textContent);
  const byPanel = new Map(data.maps.map((m) => [m.layer + '/' + m.head, m.weights]));
  const readout = document.getElementById('readout');
  document.addEventListener('mouseover', (event) => {
    const cell = event.target.closest && event.target.closest('rect[data-i]');
    if (!cell) return;
    const panel = cell.closest('svg.panel');
    const i = Number(cell.dataset.i), j = Number(cell.dataset.j);
    const weights = byPanel.get(panel.dataset.layer + '/' + panel.dataset.head);
    readout.textContent = 'layer ' + panel.dataset.layer + ', head ' + panel.dataset.head + ': query ' + i + ' ' +
      JSON.stringify(data.labels[i]) + ' → key ' + j + ' ' + JSON.stringify(data.labels[j]) + ' = ' + weights[i][j].toPrecision(6);
  });
})();
`;

/** The page for `maps`: one `svg.panel` per (layer, head) kept, grouped by layer. */
export function renderAttentionHtml(maps: AttentionMaps, options: HtmlOptions = {}): string {
  checkDrawable(maps, 'renderAttentionHtml');
  const title = options.title ?? defaultTitle(maps);
  const geometry = panelGeometry(maps, options);
  const gradient = ATTENTION_COLOR_STOPS.map((stop) => `${attentionColorHex(stop.weight)} ${stop.weight * 100}%`).join(', ');
  const layers = [...new Set(maps.maps.map((map) => map.layer))];
  const heads = new Set(maps.maps.map((map) => map.head));
  const shown =
    layers.length === maps.numLayers && heads.size === maps.numHeads
      ? `all ${maps.numLayers} layers × ${maps.numHeads} heads`
      : `${maps.maps.length} of ${maps.numLayers * maps.numHeads} heads (model: ${maps.numLayers} layers × ${maps.numHeads} heads)`;
  const tokens = maps.labels.map((label, i) => `<span title="id ${maps.ids[i]}">${escapeXml(label)}<sub>${i}</sub></span>`).join('');

  const sections = layers.map((layer) => {
    const panels = maps.maps.filter((map) => map.layer === layer).map((map) => attentionPanelSvg(maps, map, geometry));
    return `<section class="layer" data-layer="${layer}">\n<h2>Layer ${layer}</h2>\n<div class="heads">\n${panels.join('\n')}\n</div>\n</section>`;
  });

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeXml(title)}</h1>
<p class="meta">${maps.labels.length} tokens · ${shown} · rows are queries (position i), columns are keys (position j); each row sums to 1</p>
<div class="color-scale"><span>0</span><div><div class="bar" style="background: linear-gradient(to right, ${gradient})"></div></div><span>1</span><span>attention weight</span></div>
<p class="tokens">${tokens}</p>
<div id="readout">hover over a cell to read its weight</div>
</header>
<main>
${sections.join('\n')}
</main>
<script type="application/json" id="${ATTENTION_DATA_ID}">${jsonForScript(maps)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
