/** The lab page's HTML shell; ./page-main.ts fills it in. */
export function labPageHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>qkv lab</title>
<link rel="icon" href="data:,">
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5rem auto; max-width: 960px; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.4rem; margin: 0 0 .3rem; }
  #status, #progress { color: #555; font-size: .9rem; }
  form { display: grid; gap: .6rem; margin: 1rem 0; }
  #params { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: .5rem; }
  label { display: grid; gap: .15rem; }
  label span { font-weight: 600; font-family: ui-monospace, monospace; }
  label small { color: #666; }
  textarea { grid-column: 1 / -1; width: 100%; font-family: ui-monospace, monospace; }
  label:has(textarea) { grid-column: 1 / -1; }
  button { font-size: 1rem; padding: .4rem 1.2rem; width: max-content; }
  table { border-collapse: collapse; margin-top: .8rem; font-size: .85rem; }
  td, th { border: 1px solid #ccc; padding: .2rem .5rem; text-align: right; }
  #plot svg { max-width: 100%; height: auto; }
</style>
</head>
<body>
<h1>qkv lab</h1>
<p>Each experiment behind a “why” of the transformer, run in this page on qkv's WebAssembly kernels (in a worker, with threads) — nothing is computed on the server.</p>
<div id="status">loading the kernels…</div>
<form onsubmit="return false">
  <div><select id="experiment"></select>
  <label style="display:inline"><input type="checkbox" id="quick"> quick settings</label>
  <label style="display:inline">seed <input id="seed" value="0" size="4"></label></div>
  <div id="params"></div>
  <button id="run" type="button" disabled>run</button>
</form>
<div id="progress"></div>
<div id="plot"></div>
<table id="table"></table>
<ul id="findings"></ul>
<script src="page.js"></script>
</body>
</html>
`;
}
