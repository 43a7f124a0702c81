/** @jsxImportSource hono/jsx */
import type { AuditEvent } from '@tapit/protocol';
import { auditListing } from '@tapit/protocol/format';
import { FilterForm, Pager } from './filters.js';
import { Layout, type Viewer } from './layout.js';
import { ListingTable } from './listing.js';

/** `tapit list audit`'s flags, as the page's query. */
export interface AuditFilters {
  since?: string;
  actor?: string;
  action?: string;
  target?: string;
  project?: string;
  /** Kept across pages, not a field of the form (as the tasks page's `?limit=`). */
  limit?: string;
}

/** `tapit list audit`: newest first, with its filters, in the API's cursor pages. */
export function AuditPage(props: { viewer: Viewer; filters: AuditFilters; events: AuditEvent[]; nextCursor: string | null; paged: boolean; error?: string }) {
  const { events } = props;
  return (
    <Layout title="Audit" viewer={props.viewer}>
      <h1>Audit trail</h1>
      <FilterForm
        action="/audit"
        label="Filter the audit trail"
        values={{ ...props.filters }}
        fields={[
          { name: 'since', placeholder: '1h, 7d or 2026-11-30T17:00:00Z' },
          { name: 'actor', placeholder: 'a token name' },
          { name: 'action', placeholder: 'task.stop, task.*' },
          { name: 'target', placeholder: 'an id, app or name' },
          { name: 'project', locked: props.viewer.principal.project },
        ]}
      />
      {props.error && <p class="error" role="alert">{props.error}</p>}
      {!props.error && events.length === 0 && <p>No audit events.</p>}
      {events.length > 0 && <ListingTable label="Audit events" listing={auditListing(events)} cell={(row, column, text) => (column === 4 ? <TargetLink event={events[row]!} text={text} /> : text)} />}
      <Pager path="/audit" filters={{ ...props.filters }} paged={props.paged} nextCursor={props.nextCursor} older="Older events" />
    </Layout>
  );
}

/** A task's or a schedule's event links to its page (it may since have been deleted: then that page says so). */
function TargetLink(props: { event: AuditEvent; text: string }) {
  const { event, text } = props;
  const page = event.targetType === 'task' ? '/tasks/' : event.targetType === 'schedule' ? '/schedules/' : null;
  return page === null ? <>{text}</> : <a href={`${page}${encodeURIComponent(event.targetId)}`}>{text}</a>;
}
