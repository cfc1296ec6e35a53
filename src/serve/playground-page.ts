/**
 * The playground: one self-contained page (no CDN, no fonts or scripts from elsewhere) served at
 * GET /. It chats with the served model through the server's own OpenAI endpoint with
 * `stream: true`, showing tokens as they arrive, with controls for the sampling fields; when a
 * reply ends it asks POST /qkv/attention for the heatmaps of `src/lab` (SVG) of that last
 * exchange and draws them below the chat.
 *
 * Element ids the tests drive: #message, #send, #log (replies are `.msg.assistant`), #status,
 * #attention (holds the `svg` once drawn), #temperature, #top_p, #max_tokens, #seed, #api_key, #layer.
 */

const STYLE = `
  :root { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #111; }
  body { margin: 0; display: grid; grid-template-columns: 260px 1fr; min-height: 100vh; }
  aside { background: #f5f6f8; border-right: 1px solid #ddd; padding: 16px; }
  aside h1 { font-size: 17px; margin: 0 0 4px; }
  aside p.model { color: #555; font-size: 13px; margin: 0 0 16px; word-break: break-all; }
  aside label { display: block; font-size: 12px; color: #333; margin: 10px 0 2px; }
  aside input, aside select { width: 100%; box-sizing: border-box; padding: 4px 6px; font-size: 13px; }
  main { padding: 16px 24px; display: flex; flex-direction: column; gap: 12px; min-width: 0; }
  #log { display: flex; flex-direction: column; gap: 8px; min-height: 120px; }
  .msg { max-width: 80ch; padding: 8px 12px; border-radius: 8px; white-space: pre-wrap; line-height: 1.4; }
  .msg.user { align-self: flex-end; background: #dbeafe; }
  .msg.assistant { align-self: flex-start; background: #f1f1f1; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }
  .msg.error { align-self: flex-start; background: #fde2e2; color: #8a1111; }
  form { display: flex; gap: 8px; }
  #message { flex: 1; padding: 8px; font-size: 14px; }
  button { padding: 8px 14px; font-size: 14px; }
  #status { font-size: 12px; color: #555; min-height: 1.2em; }
  #attention { overflow: auto; border-top: 1px solid #eee; padding-top: 8px; }
  #attention h2 { font-size: 14px; margin: 0 0 6px; }
`;

const SCRIPT = `
(() => {
  const $ = (id) => document.getElementById(id);
  const log = $('log'), status = $('status'), attention = $('attention');
  const history = [];
  let modelId = null;

  function headers() {
    const h = { 'Content-Type': 'application/json' };
    const key = $('api_key').value.trim();
    if (key) h.Authorization = 'Bearer ' + key;
    return h;
  }
  function bubble(role, text) {
    const div = document.createElement('div');
    div.className = 'msg ' + role;
    div.textContent = text;
    log.appendChild(div);
    return div;
  }
  function numberField(id) {
    const v = $(id).value.trim();
    return v === '' ? undefined : Number(v);
  }
  async function loadModel() {
    const response = await fetch('/v1/models', { headers: headers() });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error ? body.error.message : response.statusText);
    modelId = body.data[0].id;
    $('model').textContent = modelId;
  }

  // Reads OpenAI's server-sent events: "data: {json}" blocks separated by a blank line, then "data: [DONE]".
  async function* events(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf('\\n\\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split('\\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\\n');
        if (data === '[DONE]') return;
        if (data) yield JSON.parse(data);
      }
    }
  }

  async function drawAttention(messages) {
    const layer = $('layer').value;
    const response = await fetch('/qkv/attention', {
      method: 'POST', headers: headers(),
      body: JSON.stringify({ messages, ...(layer === '' ? {} : { layer: Number(layer) }) }),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error ? body.error.message : response.statusText);
    const select = $('layer');
    if (select.options.length <= 1) {
      for (let l = 0; l < body.num_layers; l++) select.add(new Option('layer ' + l, String(l)));
    }
    attention.innerHTML = '<h2>Attention of the last reply (layer ' + body.layer + ', ' + body.num_heads + ' heads, ' + body.tokens.length + ' tokens)</h2>' + body.svg;
  }

  async function send(text) {
    if (modelId === null) await loadModel();
    history.push({ role: 'user', content: text });
    bubble('user', text);
    const reply = bubble('assistant', '');
    const request = {
      model: modelId, messages: history, stream: true, stream_options: { include_usage: true },
      temperature: numberField('temperature'), top_p: numberField('top_p'),
      max_tokens: numberField('max_tokens'), seed: numberField('seed'),
    };
    $('send').disabled = true;
    status.textContent = 'generating…';
    const started = performance.now();
    let firstTokenMs = null, pieces = 0;
    try {
      const response = await fetch('/v1/chat/completions', { method: 'POST', headers: headers(), body: JSON.stringify(request) });
      if (!response.ok) {
        const body = await response.json();
        throw new Error(body.error ? body.error.message : response.statusText);
      }
      let finish = null, usage = null;
      for await (const chunk of events(response)) {
        if (chunk.error) throw new Error(chunk.error.message);
        if (chunk.usage) usage = chunk.usage;
        for (const choice of chunk.choices) {
          if (choice.delta && choice.delta.content) {
            if (firstTokenMs === null) firstTokenMs = performance.now() - started;
            reply.textContent += choice.delta.content;
            pieces++;
          }
          if (choice.finish_reason) finish = choice.finish_reason;
        }
      }
      history.push({ role: 'assistant', content: reply.textContent });
      const seconds = (performance.now() - started) / 1000;
      status.textContent = (usage ? usage.completion_tokens : pieces) + ' tokens in ' + seconds.toFixed(2) + ' s' +
        (firstTokenMs === null ? '' : ', first after ' + Math.round(firstTokenMs) + ' ms') + (finish ? ', ' + finish : '');
      status.dataset.state = 'done';
      await drawAttention(history.slice(-2));
    } catch (error) {
      bubble('error', String(error.message || error));
      status.textContent = 'error';
      status.dataset.state = 'error';
    } finally {
      $('send').disabled = false;
    }
  }

  $('form').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = $('message').value.trim();
    if (!text) return;
    $('message').value = '';
    status.dataset.state = 'busy';
    void send(text);
  });
  $('layer').addEventListener('change', () => { if (history.length >= 2) void drawAttention(history.slice(-2)).catch((e) => bubble('error', e.message)); });
  loadModel().catch((error) => { $('model').textContent = '(' + error.message + ')'; });
})();
`;

/** The page, as served. */
export const PLAYGROUND_HTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>qkv playground</title>
<style>${STYLE}</style>
</head>
<body>
<aside>
<h1>qkv playground</h1>
<p class="model">model: <span id="model">…</span></p>
<label for="temperature">temperature (0 = greedy)</label><input id="temperature" type="number" min="0" max="2" step="0.1" value="0.8">
<label for="top_p">top_p</label><input id="top_p" type="number" min="0" max="1" step="0.05" value="1">
<label for="max_tokens">max_tokens (empty: to the end of the context)</label><input id="max_tokens" type="number" min="1" step="1" value="64">
<label for="seed">seed (empty: random)</label><input id="seed" type="number" step="1">
<label for="layer">attention layer</label><select id="layer"><option value="">last</option></select>
<label for="api_key">API key (if the server has one)</label><input id="api_key" type="password" autocomplete="off">
</aside>
<main>
<div id="log"></div>
<form id="form"><input id="message" autocomplete="off" placeholder="Say something…"><button id="send" type="submit">Send</button></form>
<div id="status"></div>
<section id="attention"></section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
