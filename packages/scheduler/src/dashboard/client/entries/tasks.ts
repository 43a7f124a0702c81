import { openLiveSocket, parseHtml, showNotice } from '../lib/live-socket.js';

/*
 * The tasks page, live: rows change in place as their tasks do, and on the first page new tasks
 * that match the filters come in at their place (newest first). The server sends rows rendered
 * as the page renders them (dashboard/live-tasks.ts); the table's columns have fixed widths, so
 * a changed row moves nothing.
 */

interface RowMessage {
  type: 'task';
  id: string;
  /** `created_at|id`, ordered as the listing is (newest first). */
  order: string;
  /** Whether it matches the page's status filter (a row already shown is updated either way). */
  matches: boolean;
  row: string;
}

const table = document.querySelector<HTMLTableElement>('table.tasks[data-live]');
if (table) {
  const body = table.tBodies[0]!;
  const firstPage = table.dataset.firstPage === 'true';
  const pageSize = Number(table.dataset.pageSize);
  openLiveSocket({
    path: table.dataset.live!,
    onMessage(message) {
      const m = message as RowMessage;
      if (m.type === 'task') place(m);
    },
    onEnd: showNotice,
  });

  function place(m: RowMessage): void {
    const row = parseHtml(m.row).querySelector('tr');
    if (!row) return;
    const shown = body.querySelector<HTMLTableRowElement>(`tr[data-task-id="${CSS.escape(m.id)}"]`);
    if (shown) {
      if (shown.innerHTML === row.innerHTML) return;
      row.classList.add('changed');
      shown.replaceWith(row);
      return;
    }
    if (!firstPage || !m.matches) return;
    // Before the first older row; after the last one only while the page is not full.
    const older = [...body.rows].find((r) => (r.dataset.order ?? '') < m.order);
    if (older) body.insertBefore(row, older);
    else if (body.rows.length < pageSize) body.append(row);
    else return;
    row.classList.add('changed');
    document.getElementById('no-tasks')?.remove();
    table!.hidden = false;
  }
}
