import { openLiveSocket, parseHtml, showNotice } from '../lib/live-socket.js';

/*
 * A task's page, live (dashboard/live-task.tsx): the details and buttons as the task changes, the
 * log's new lines as `tapit show logs --follow` prints them, following the end while the reader
 * is there. Search filters and highlights the lines loaded in the page; "Jump to the end" goes
 * to the last line. The page keeps the last MAX_LINES lines; the whole log is the raw download.
 */

type Message =
  | { type: 'lines'; lines: [number, string, string][] }
  | { type: 'task'; status: string; details: string; actions: string }
  | { type: 'end'; exitCode: number | null; logExpiredAt?: string }
  | { type: 'gone' };

const MAX_LINES = 20_000;

const log = document.querySelector<HTMLPreElement>('pre#log-lines');
const details = document.getElementById('task-details');
const actions = document.getElementById('task-actions');
const heading = document.querySelector<HTMLElement>('h2#log');
const search = document.querySelector<HTMLInputElement>('#log-search');
const matchCount = document.getElementById('log-matches');

if (log) {
  for (const tools of document.querySelectorAll<HTMLElement>('.js-only')) tools.hidden = false;
  let last = Number(log.dataset.last);
  let first = Number(log.dataset.first);
  let query = '';
  let ended = false;

  const atEnd = () => log.scrollHeight - log.scrollTop - log.clientHeight < 8;
  const jumpToEnd = () => {
    log.scrollTop = log.scrollHeight;
    log.scrollIntoView({ block: 'end' });
  };

  /** Shows or hides a line for the search, its matches marked. */
  const applySearch = (line: HTMLElement) => {
    const text = line.dataset.text ?? line.textContent ?? '';
    line.dataset.text = text;
    if (!query) {
      if (line.hidden || line.childElementCount > 0) line.textContent = text;
      line.hidden = false;
      return false;
    }
    const lower = text.toLowerCase();
    let at = lower.indexOf(query);
    line.hidden = at < 0;
    if (at < 0) return false;
    line.textContent = '';
    let from = 0;
    while (at >= 0) {
      line.append(text.slice(from, at));
      const mark = document.createElement('mark');
      mark.textContent = text.slice(at, at + query.length);
      line.append(mark);
      from = at + query.length;
      at = lower.indexOf(query, from);
    }
    line.append(text.slice(from));
    return true;
  };

  const countMatches = () => {
    if (!matchCount) return;
    if (!query) {
      matchCount.textContent = '';
      return;
    }
    const lines = log.querySelectorAll<HTMLElement>('span.line');
    let shown = 0;
    for (const line of lines) if (!line.hidden) shown++;
    matchCount.textContent = `${shown} of ${lines.length} loaded ${lines.length === 1 ? 'line' : 'lines'}`;
  };

  const updateHeading = () => {
    if (!heading) return;
    heading.textContent = first > 1 ? `Log, lines ${first}–${last} of ${last}` : 'Log';
  };

  search?.addEventListener('input', () => {
    query = search.value.toLowerCase();
    for (const line of log.querySelectorAll<HTMLElement>('span.line')) applySearch(line);
    countMatches();
  });
  document.getElementById('log-end')?.addEventListener('click', jumpToEnd);

  const addLines = (lines: [number, string, string][]) => {
    const following = atEnd();
    const fragment = document.createDocumentFragment();
    for (const [position, text, stream] of lines) {
      if (position <= last) continue; // already shown (a reconnect's overlap)
      const line = document.createElement('span');
      line.className = stream === 'system' ? 'line system' : 'line';
      line.textContent = `${text}\n`;
      if (query) applySearch(line);
      fragment.append(line);
      last = position;
    }
    log.append(fragment);
    log.hidden = false;
    document.getElementById('log-empty')?.remove();
    // The page keeps the newest MAX_LINES: the rest is in the raw download.
    let extra = log.childElementCount - MAX_LINES;
    while (extra-- > 0) log.firstElementChild?.remove();
    first = Math.max(first, last - log.childElementCount + 1);
    updateHeading();
    countMatches();
    if (following) log.scrollTop = log.scrollHeight;
  };

  // A page of a running task starts at the end of its log.
  log.scrollTop = log.scrollHeight;
  if (log.dataset.live) openLiveSocket({
    path: () => `${log.dataset.live!.replace(/\?.*$/, '')}?after=${last}`,
    reconnectAfterClose: () => !ended,
    onMessage(message) {
      const m = message as Message;
      if (m.type === 'lines') addLines(m.lines);
      else if (m.type === 'task') {
        if (details) details.replaceChildren(parseHtml(m.details));
        if (actions) actions.replaceChildren(parseHtml(m.actions));
        document.body.dataset.status = m.status;
      } else if (m.type === 'end') {
        ended = true;
        document.body.dataset.logComplete = 'true';
      } else if (m.type === 'gone') {
        ended = true;
        showNotice('This task was deleted.');
      }
    },
    onEnd: showNotice,
  });
}
