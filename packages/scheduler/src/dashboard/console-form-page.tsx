/** @jsxImportSource hono/jsx */
import { Layout, type Viewer } from './layout.js';

export interface ConsoleForm {
  project: string;
  stage: string;
  app: string;
  command: string;
}

/**
 * `tapit run`'s form: an interactive task of an app, its console opened in the browser once it
 * runs. The command is a shell line, as `tapit run 'CMD'` takes it.
 */
export function ConsoleFormPage(props: { viewer: Viewer; form: ConsoleForm; idempotencyKey: string; error?: string }) {
  const { form, viewer } = props;
  const locked = viewer.principal.project;
  return (
    <Layout title="Run a console" viewer={viewer}>
      <h1>Run a console</h1>
      <p class="muted">A new interactive task of the app, as <code>tapit run 'CMD' -a APP</code>: its console opens here once it runs.</p>
      {props.error && <p class="error" role="alert">{props.error}</p>}
      <form class="run" method="post" action="/console">
        <input type="hidden" name="csrf" value={viewer.csrf} />
        <input type="hidden" name="idempotency_key" value={props.idempotencyKey} />
        <label for="run-project">
          project
          <input id="run-project" name="project" value={locked ?? form.project} readonly={locked !== null} required />
        </label>
        <label for="run-stage">
          stage
          <input id="run-stage" name="stage" value={form.stage} required />
        </label>
        <label for="run-app">
          app
          <input id="run-app" name="app" value={form.app} required />
        </label>
        <label for="run-command">
          command
          <input id="run-command" name="command" value={form.command} required />
        </label>
        <button type="submit" class="primary">Run</button>
      </form>
    </Layout>
  );
}
