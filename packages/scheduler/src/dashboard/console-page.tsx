/** @jsxImportSource hono/jsx */
import type { Task } from '@tapit/protocol';
import { Layout, type Viewer } from './layout.js';
import { dashboardConsoleSocketPath } from './console-sockets.js';
import { shellJoin, shortId } from './format.js';

/**
 * A task's console (attach) or a new process in it (exec) in the browser: the page is a frame
 * for the terminal; client/console.ts connects it.
 */
export function ConsolePage(props: { viewer: Viewer; task: Task; mode: 'attach' | 'exec'; command?: string[] }) {
  const { task, mode } = props;
  const title = mode === 'attach' ? `Console of task ${shortId(task.id)}` : `${shellJoin(props.command ?? [])} in task ${shortId(task.id)}`;
  return (
    <Layout title={title} viewer={props.viewer} scripts={['console']}>
      <p><a href={`/tasks/${task.id}`}>← Task {shortId(task.id)}</a></p>
      <h1>{title}</h1>
      <section
        id="console"
        class="console"
        data-mode={mode}
        data-socket={dashboardConsoleSocketPath(task.id, mode)}
        data-status-url={`/tasks/${task.id}/status`}
        data-command={mode === 'exec' ? JSON.stringify(props.command ?? []) : undefined}
      >
        <div class="console-bar">
          <span id="console-state" role="status">Loading…</span>
          {/* A link can open this page signed in (SameSite=Lax): nothing runs until its reader presses this. */}
          {mode === 'exec' && <button type="button" id="console-start" class="primary">{`Run ${shellJoin(props.command ?? [])}`}</button>}
          <button type="button" id="console-detach" hidden>Detach</button>
          <button type="button" id="console-reattach" class="primary" hidden>Reattach</button>
        </div>
        <div id="console-terminal" class="console-screen" />
      </section>
      <noscript><p class="error">The console needs JavaScript. Or, from a terminal: <code>{mode === 'attach' ? `tapit task:attach ${shortId(task.id)}` : `tapit task:attach ${shortId(task.id)} -- ${shellJoin(props.command ?? [])}`}</code></p></noscript>
    </Layout>
  );
}

/** A recording played back (client/recording.ts). */
export function RecordingPage(props: { viewer: Viewer; session: { id: string; taskId: string; title: string } }) {
  const { session } = props;
  return (
    <Layout title={`Recording ${shortId(session.id)}`} viewer={props.viewer} scripts={['recording']}>
      <p><a href={`/tasks/${session.taskId}#consoles`}>← Task {shortId(session.taskId)}</a></p>
      <h1>Recording {shortId(session.id)}</h1>
      <p class="muted">{session.title}</p>
      <section id="recording" class="console" data-src={`/consoles/${session.id}/recording.cast`}>
        <div class="console-bar">
          <span id="recording-state" role="status">Loading…</span>
          <button type="button" id="recording-play" class="primary">Pause</button>
          <button type="button" id="recording-restart">Play from the start</button>
          <label for="recording-speed">
            speed{' '}
            <select id="recording-speed">
              {['0.5', '1', '2', '4', '16'].map((speed) => (
                <option value={speed} selected={speed === '1'}>{`${speed}×`}</option>
              ))}
            </select>
          </label>
          <a href={`/consoles/${session.id}/recording.cast`} download={`${session.id}.cast`}>Download (.cast)</a>
        </div>
        <div id="recording-terminal" class="console-screen recording" />
      </section>
      <p class="muted">From a terminal: <code>{`tapit show recording session=${session.id}`}</code></p>
    </Layout>
  );
}
