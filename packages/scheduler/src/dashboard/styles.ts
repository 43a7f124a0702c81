import { createHash } from 'node:crypto';

/**
 * The dashboard's one stylesheet, served by the scheduler (no CDN: many self-hosted networks
 * reach none). Its URL carries its hash, so browsers may keep it for a year.
 */
export const DASHBOARD_CSS = `
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #57606a; --bg: #fff; --line: #d0d7de; --accent: #0969da; --bad: #cf222e; --good: #1a7f37; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --line: #30363d; --accent: #4493f8; --bad: #f85149; --good: #3fb950; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; justify-content: space-between; padding: .6rem 1rem; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; text-decoration: none; color: var(--fg); }
header nav { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; }
header form { margin: 0; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.3rem; margin: .2rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
.muted { color: var(--muted); }
.error { color: var(--bad); border: 1px solid var(--bad); padding: .5rem .75rem; border-radius: 6px; }
button, input, select, textarea { font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: .35rem .6rem; }
button { cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
.link-button { background: none; border: none; padding: 0; color: var(--accent); text-decoration: underline; }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: flex-end; margin-bottom: 1rem; }
form.filters label, form.sign-in label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); gap: .15rem; }
form.filters input { width: 9rem; }
form.sign-in { display: flex; flex-direction: column; gap: .8rem; max-width: 26rem; }
form.sign-in input { width: 100%; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .8rem; color: var(--muted); font-weight: 600; }
td.id, code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85rem; }
td.command { overflow-wrap: anywhere; }
/* Fixed column widths: a row that changes live (its status, its duration) moves nothing. */
table.tasks { table-layout: fixed; min-width: 72rem; }
table.tasks td { overflow-wrap: anywhere; }
col.c-id { width: 8rem; } col.c-status { width: 12.5rem; } col.c-app { width: 12rem; } col.c-created { width: 14rem; } col.c-duration { width: 5.5rem; } col.c-resources { width: 11.5rem; }
table.tasks tr.changed td { animation: changed 1.5s ease-out; }
@keyframes changed { from { background: color-mix(in srgb, var(--accent) 18%, transparent); } to { background: transparent; } }
@media (prefers-reduced-motion: reduce) { tr.changed td { animation: none; } }
.status-STOPPED.failed { color: var(--bad); }
.status-RUNNING { color: var(--good); }
form.stacked { display: flex; flex-direction: column; gap: .8rem; max-width: 48rem; }
form.stacked label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); gap: .15rem; }
form.stacked textarea, form.stacked select, form.stacked input { width: 100%; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
form.stacked fieldset { border: 1px solid var(--line); border-radius: 6px; display: flex; flex-direction: column; gap: .6rem; margin: 0; min-width: 0; }
form.stacked legend { font-size: .85rem; color: var(--muted); }
form.stacked .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr)); gap: .8rem 1rem; }
[aria-invalid="true"] { border-color: var(--bad); outline: 1px solid var(--bad); }
form.inline { display: inline; margin: 0 .3rem .3rem 0; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .5rem 0 1rem; }
.notice { border: 1px solid var(--good); padding: .5rem .75rem; border-radius: 6px; margin: 0 0 1rem; }
.secret { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap: anywhere; border: 1px solid var(--good); border-radius: 6px; padding: .5rem .75rem; }
tr.failing td { color: var(--bad); }
tr.failing td a { color: var(--bad); font-weight: 600; }
table.cards td { overflow-wrap: break-word; }
.pager { display: flex; gap: 1rem; margin-top: 1rem; }
dl.details { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: 0; }
dl.details dt { color: var(--muted); }
dl.details dd { margin: 0; overflow-wrap: anywhere; }
pre.log span.system { color: var(--muted); }
pre.log mark { background: #fff3a3; color: #1b1f24; }
pre.log[hidden], .js-only[hidden] { display: none; }
.log-tools { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; margin-bottom: .5rem; }
.log-tools .js-only { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.actions { display: flex; gap: .75rem; margin: 0 0 1rem; }
a.button { display: inline-block; text-decoration: none; color: inherit; border: 1px solid var(--line); border-radius: 6px; padding: .35rem .8rem; }
a.button.danger, button.danger { color: var(--bad); border-color: var(--bad); }
button.danger { background: var(--bad); color: #fff; }
form.confirm { display: flex; gap: 1rem; align-items: center; }
pre.log { white-space: pre-wrap; overflow-wrap: anywhere; border: 1px solid var(--line); border-radius: 6px; padding: .6rem; max-height: 32rem; overflow-y: auto; }
a.button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
.actions { flex-wrap: wrap; align-items: flex-end; }
form.exec, form.run { display: flex; flex-wrap: wrap; gap: .5rem; align-items: flex-end; }
form.exec label, form.run label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); gap: .15rem; }
form.run { flex-direction: column; align-items: stretch; max-width: 26rem; }
.console-bar { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; margin-bottom: .5rem; }
.console-bar [role=status] { flex: 1 1 16rem; color: var(--muted); }
/* Not .terminal: xterm.js gives its own element that class. */
.console-screen { height: calc(100vh - 14rem); min-height: 14rem; background: #0d1117; padding: 4px; border-radius: 6px; overflow: hidden; }
.console-screen.recording { height: auto; min-height: 0; display: inline-block; max-width: 100%; overflow-x: auto; }
@media (max-width: 640px) {
  main { padding: .75rem; }
  /* A phone shows each task as a card: no table wider than the screen. */
  table.tasks { table-layout: auto; min-width: 0; }
  table.tasks colgroup { display: none; }
  table.tasks thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.tasks tr { display: block; border-bottom: 1px solid var(--line); padding: .4rem 0; }
  table.tasks td { display: flex; gap: .5rem; border: none; padding: .1rem 0; }
  table.tasks td::before { content: attr(data-label); color: var(--muted); font-size: .8rem; min-width: 6.5rem; }
  table.cards thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.cards tr { display: block; border-bottom: 1px solid var(--line); padding: .4rem 0; }
  table.cards td { display: flex; gap: .5rem; border: none; padding: .1rem 0; overflow-wrap: anywhere; min-width: 0; }
  table.cards td::before { content: attr(data-label); color: var(--muted); font-size: .8rem; min-width: 6.5rem; flex-shrink: 0; }
  table.cards td:empty { display: none; }
  dl.details { grid-template-columns: 1fr; gap: 0; }
  dl.details dd { margin-bottom: .4rem; }
  form.filters input, form.filters select { width: 100%; }
  form.filters label { flex: 1 1 40%; }
}
`;

export const DASHBOARD_CSS_PATH = `/assets/dashboard-${createHash('sha256').update(DASHBOARD_CSS).digest('hex').slice(0, 12)}.css`;
