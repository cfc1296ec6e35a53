/**
 * The forward graph of a qkv BERT encoder as ONNX (Optimum's `feature-extraction` layout):
 *
 *   inputs   input_ids, attention_mask, token_type_ids (B, T) int64
 *   outputs  last_hidden_state (B, T, C)
 *
 * B and T are symbolic. Post-LN layers as BERT: x = LN(x + attn(x)); x = LN(x + ffn(x)), the
 * exact erf GELU in the feed-forward. Padded keys get −1e30 before the softmax (qkv uses −∞;
 * the weights are the same exact zeros unless a whole row is padding).
 *
 * Legend: B = batch, T = time, C = channels, NH = heads, hs = head size.
 *
 * @example writeFileAtomic('bert.onnx', exportBertOnnx(model));
 */
import { bertBody, type AnyBert } from '../models/bert-heads.ts';
import { GraphLayers } from './onnx-decoder.ts';
import { OnnxGraphBuilder } from './onnx-graph.ts';

const B = 'batch_size';
const T = 'sequence_length';

/** The ONNX bytes of the BERT body's forward (hidden states; task heads are not exported). */
export function exportBertOnnx(model: AnyBert): Uint8Array {
  const bert = bertBody(model);
  const c = bert.config;
  const NH = c.num_attention_heads;
  const hs = c.hidden_size / NH;
  const d = new GraphLayers(new OnnxGraphBuilder('qkv-bert'));
  const g = d.g;
  const ids = g.input('input_ids', 'int64', [B, T]);
  const mask = g.input('attention_mask', 'int64', [B, T]);
  const types = g.input('token_type_ids', 'int64', [B, T]);
  const e = bert.embeddings;
  const table = (name: string, weight: { shape: readonly number[]; contiguousData(): Float32Array | Float64Array }): string =>
    g.initializer(name, Float32Array.from(weight.contiguousData()), [...weight.shape]);
  const length = g.op('Gather', [g.op('Shape', [ids]), g.constant([1], 'int64', [])], { axis: 0 }); // T
  const positions = g.op('Range', [g.constant([0], 'int64', []), length, g.constant([1], 'int64', [])]); // (T)
  const summed = g.op('Add', [
    g.op('Add', [g.op('Gather', [table('embeddings.word_embeddings.weight', e.word_embeddings.weight), ids], { axis: 0 }), g.op('Gather', [table('embeddings.position_embeddings.weight', e.position_embeddings.weight), positions], { axis: 0 })]),
    g.op('Gather', [table('embeddings.token_type_embeddings.weight', e.token_type_embeddings.weight), types], { axis: 0 }),
  ]); // (B, T, C)
  let x = d.layerNorm(summed, 'embeddings.LayerNorm', e.LayerNorm.weight!, e.LayerNorm.bias!, c.layer_norm_eps);
  const keep = g.op('Unsqueeze', [g.op('Cast', [mask], { to: 9 }), g.constant([1, 2], 'int64')]); // (B, 1, 1, T)
  const paddingBias = g.op('Where', [keep, g.constant([0], 'float', []), g.constant([-1e30], 'float', [])]);
  bert.encoder.layer.forEach((layer, i) => {
    const p = `encoder.layer.${i}`;
    const a = layer.attention;
    const heads = (module: typeof a.self.query, name: string) => d.splitHeads(d.linear(x, module, `${p}.attention.self.${name}`), NH, hs);
    const context = d.scaledDotProduct(heads(a.self.query, 'query'), heads(a.self.key, 'key'), heads(a.self.value, 'value'), paddingBias, NH, hs);
    const attended = d.layerNorm(g.op('Add', [d.linear(context, a.output.dense, `${p}.attention.output.dense`), x]), `${p}.attention.output.LayerNorm`, a.output.LayerNorm.weight!, a.output.LayerNorm.bias!, c.layer_norm_eps);
    const hidden = d.linear(attended, layer.intermediate.dense, `${p}.intermediate.dense`);
    // exact GELU: 0.5·x·(1 + erf(x/√2))
    const gelu = g.op('Mul', [g.op('Mul', [hidden, g.constant([0.5], 'float', [])]), g.op('Add', [g.op('Erf', [g.op('Mul', [hidden, g.constant([Math.SQRT1_2], 'float', [])])]), g.constant([1], 'float', [])])]);
    x = d.layerNorm(g.op('Add', [d.linear(gelu, layer.output.dense, `${p}.output.dense`), attended]), `${p}.output.LayerNorm`, layer.output.LayerNorm.weight!, layer.output.LayerNorm.bias!, c.layer_norm_eps);
  });
  g.output(x, 'last_hidden_state', 'float', [B, T, c.hidden_size]);
  return g.encode();
}
