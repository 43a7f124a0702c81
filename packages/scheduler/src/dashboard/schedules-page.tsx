/** @jsxImportSource hono/jsx */
import type { Schedule, ScheduleDetail } from '@tapit/protocol';
import { runHistoryListing, scheduleDetails, scheduleListing, shortId, upcomingListing } from '@tapit/protocol/format';
import { FilterForm, Pager } from './filters.js';
import { Layout, type Viewer } from './layout.js';
import { ActionButton, DetailsList, ListingTable } from './listing.js';

export interface ScheduleFilters {
  project?: string;
  stage?: string;
  app?: string;
  /** Kept across pages, not a field of the form. */
  limit?: string;
}

/** `tapit list schedules`: its columns, failing schedules marked; each links to its page. */
export function SchedulesPage(props: { viewer: Viewer; filters: ScheduleFilters; schedules: Schedule[]; nextCursor: string | null; paged: boolean; error?: string }) {
  const { schedules } = props;
  return (
    <Layout title="Schedules" viewer={props.viewer}>
      <h1>Schedules</h1>
      <FilterForm action="/schedules" label="Filter schedules" values={{ ...props.filters }} fields={[{ name: 'project', locked: props.viewer.principal.project }, { name: 'stage' }, { name: 'app' }]} />
      {props.error && <p class="error" role="alert">{props.error}</p>}
      {!props.error && schedules.length === 0 && <p>No schedules.</p>}
      {schedules.length > 0 && (
        <ListingTable
          label="Schedules"
          listing={scheduleListing(schedules)}
          rowClass={(row) => (schedules[row]!.failing ? 'failing' : undefined)}
          cell={(row, column, text) => (column === 0 ? <a href={`/schedules/${schedules[row]!.id}`}>{text}</a> : column === 1 ? `${schedules[row]!.project}/${schedules[row]!.stage}/${text}` : text)}
        />
      )}
      <Pager path="/schedules" filters={{ ...props.filters }} paged={props.paged} nextCursor={props.nextCursor} older="Older schedules" />
    </Layout>
  );
}

/** `tapit show schedule`: settings, the next runs, the recent runs with their tasks; suspend, resume and trigger for members. */
export function SchedulePage(props: { viewer: Viewer; schedule: ScheduleDetail; notice?: { text: string; taskId?: string } }) {
  const { schedule, viewer } = props;
  const history = runHistoryListing(schedule.runs);
  const action = (verb: string) => `/schedules/${schedule.id}/${verb}`;
  return (
    <Layout title={`Schedule ${shortId(schedule.id)}`} viewer={viewer}>
      <p><a href="/schedules">← Schedules</a></p>
      <h1>Schedule {shortId(schedule.id)}{schedule.failing ? ' (FAILING)' : ''}</h1>
      {props.notice && (
        <p class="notice" role="status">
          {props.notice.text}
          {props.notice.taskId && <> <a href={`/tasks/${props.notice.taskId}`}>task {shortId(props.notice.taskId)}</a></>}
        </p>
      )}
      {viewer.principal.role === 'viewer' ? (
        <p class="muted">Token "{viewer.principal.name}" has role viewer: suspending, resuming and triggering need member or above.</p>
      ) : (
        <div class="actions">
          {schedule.suspended ? <ActionButton action={action('resume')} csrf={viewer.csrf} label="Resume" /> : <ActionButton action={action('suspend')} csrf={viewer.csrf} label="Suspend" />}
          <ActionButton action={action('trigger')} csrf={viewer.csrf} label="Trigger now" />
        </div>
      )}
      <DetailsList details={scheduleDetails(schedule)} />
      <h2>Next runs</h2>
      {schedule.upcoming.length === 0 ? <p class="muted">None{schedule.suspended ? ' while suspended' : ''}.</p> : <ListingTable label="Next runs" listing={upcomingListing(schedule, schedule.upcoming)} />}
      <h2>Recent runs, newest first</h2>
      {schedule.runs.length === 0 ? (
        <p class="muted">None yet.</p>
      ) : (
        <ListingTable label="Recent runs" listing={history} cell={(_row, column, text) => (column === 4 && text !== '-' && text !== '' ? <a href={`/tasks/${text}`}>{text}</a> : text)} />
      )}
    </Layout>
  );
}
