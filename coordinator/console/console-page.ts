// The console's page and stylesheet. They are here rather than in .html/.css files so that the
// build, which compiles TypeScript and copies .mjs modules, puts them into dist/ with nothing
// else to copy. The page is an empty frame; main.mjs fills it from the REST API.

export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sluice console</title>
  <link rel="stylesheet" href="console.css">
</head>
<body>
  <header class="top-bar">
    <a class="brand" href="#/">Sluice</a>
    <nav>
      <a href="#/" data-nav="overview">Overview</a>
      <a href="#/snapshots" data-nav="snapshots">Snapshots</a>
    </nav>
    <span id="connection" class="connection"></span>
    <button id="forget-token" class="link-button" type="button" hidden>Forget token</button>
  </header>
  <div id="notice" class="notice" role="status" hidden></div>
  <main id="view"></main>
  <dialog id="confirm-dialog">
    <form method="dialog">
      <h2 id="confirm-title"></h2>
      <p id="confirm-message"></p>
      <div class="dialog-buttons">
        <button value="cancel" type="submit">Cancel</button>
        <button value="confirm" type="submit" id="confirm-button" class="primary"></button>
      </div>
    </form>
  </dialog>
  <script type="module" src="main.mjs"></script>
</body>
</html>
`;

export const CONSOLE_STYLESHEET = `
:root {
  --ink: #1d2430; --muted: #5d6878; --line: #d7dce3; --panel: #ffffff; --page: #f3f5f8;
  --accent: #1f6feb; --good: #1a7f37; --warn: #9a6700; --bad: #cf222e;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--page);
}
body { margin: 0; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
.top-bar { display: flex; align-items: center; gap: 24px; padding: 10px 24px; background: #17202c; color: #e6edf3; }
.top-bar a { color: #e6edf3; }
.brand { font-weight: 700; font-size: 17px; letter-spacing: .02em; }
.top-bar nav { display: flex; gap: 16px; }
.top-bar nav a.current { text-decoration: underline; text-underline-offset: 4px; }
.connection { margin-left: auto; color: #9fb0c3; font-size: 12px; }
.link-button { background: none; border: 1px solid #52606f; color: #e6edf3; border-radius: 4px; padding: 3px 10px; cursor: pointer; }
main { padding: 20px 24px 48px; max-width: 1280px; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 0 0 10px; }
.subtitle { color: var(--muted); margin: 0 0 16px; font-size: 12px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 14px 16px; margin-bottom: 16px; }
.grid { display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px 16px; margin: 0; }
.facts div { display: flex; flex-direction: column; }
.facts dt { color: var(--muted); font-size: 12px; }
.facts dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
td.number, th.number { text-align: right; }
.empty { color: var(--muted); font-style: italic; }
.state { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #eaeef2; }
.state-running { background: #dafbe1; color: var(--good); }
.state-failed, .state-cancelled { background: #ffebe9; color: var(--bad); }
.state-restarting, .state-rescaling, .state-stopping, .state-deploying, .state-finishing,
.state-live-rescale-preparing, .state-live-rescale-switching, .state-live-rescale-completing { background: #fff8c5; color: var(--warn); }
.actions { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; }
.actions label { display: flex; gap: 6px; align-items: center; }
.actions input { width: 64px; }
button { font: inherit; padding: 5px 12px; border-radius: 5px; border: 1px solid var(--line); background: #f6f8fa; cursor: pointer; }
button:disabled { opacity: .5; cursor: default; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { background: var(--bad); border-color: var(--bad); color: #fff; }
.notice { margin: 12px 24px 0; padding: 8px 12px; border-radius: 5px; background: #ddf4ff; border: 1px solid #54aeff; max-width: 1232px; }
.notice.error { background: #ffebe9; border-color: #ff8182; }
.graph { overflow-x: auto; }
.graph svg { display: block; }
.graph .task-name { font-weight: 600; font-size: 13px; }
.graph .task-detail { font-size: 11px; fill: #24292f; font-variant-numeric: tabular-nums; }
.graph .edge { fill: none; stroke: #8c959f; stroke-width: 1.5; }
.graph .edge-label { font-size: 10px; fill: var(--muted); text-transform: uppercase; }
.legend { display: flex; gap: 14px; color: var(--muted); font-size: 12px; margin-top: 8px; align-items: center; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -2px; margin-right: 4px; border: 1px solid #8c959f; }
.token-gate { max-width: 460px; margin: 48px auto; }
.token-gate form { display: flex; gap: 8px; margin-top: 12px; }
.token-gate input { flex: 1; font: inherit; padding: 5px 8px; }
.token-gate .refused { color: var(--bad); font-weight: 600; }
dialog { border: 1px solid var(--line); border-radius: 8px; padding: 18px 20px; max-width: 440px; }
dialog::backdrop { background: rgba(23, 32, 44, .45); }
.dialog-buttons { display: flex; justify-content: flex-end; gap: 8px; margin-top: 16px; }
`;
