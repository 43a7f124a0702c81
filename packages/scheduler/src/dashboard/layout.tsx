/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';
import type { Principal } from '../auth/tokens.js';
import { entryStylePath, scriptPath } from './assets.js';
import { DASHBOARD_CSS_PATH } from './styles.js';

/** Who is signed in, and the CSRF token of their forms (absent on the sign-in page). */
export interface Viewer {
  principal: Principal;
  csrf: string;
}

/** `scripts`: the client entries (client/entries/NAME.ts) the page loads; it works without them too. */
export function Layout(props: { title: string; viewer?: Viewer; scripts?: string[]; children: Child }) {
  const { viewer } = props;
  const scripts = (props.scripts ?? []).map(scriptPath).filter((path) => path !== undefined);
  // The stylesheets the entries' libraries bring (xterm.js's), after the dashboard's own.
  const styles = (props.scripts ?? []).map(entryStylePath).filter((path) => path !== undefined);
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · tapit`}</title>
        <link rel="stylesheet" href={DASHBOARD_CSS_PATH} />
        {styles.map((href) => (
          <link rel="stylesheet" href={href} />
        ))}
        {scripts.map((src) => (
          <script type="module" src={src}></script>
        ))}
      </head>
      <body>
        <header>
          <a class="brand" href="/tasks">tapit</a>
          {viewer && (
            <nav aria-label="Main">
              <a href="/tasks">Tasks</a>
              <a href="/run">Run a task</a>
              <a href="/console">Run a console</a>
              <a href="/schedules">Schedules</a>
              <a href="/agents">Agents</a>
              <a href="/audit">Audit</a>
              {/* Tokens are for admins of all projects only, as at /v1/tokens. */}
              {viewer.principal.role === 'admin' && viewer.principal.project === null && <a href="/tokens">Tokens</a>}
              <span class="muted">
                {viewer.principal.name} ({viewer.principal.role}
                {viewer.principal.project ? `, project ${viewer.principal.project}` : ''})
              </span>
              <form method="post" action="/sign-out">
                <input type="hidden" name="csrf" value={viewer.csrf} />
                <button type="submit" class="link-button">Sign out</button>
              </form>
            </nav>
          )}
        </header>
        <main>{props.children}</main>
      </body>
    </html>
  );
}

export function ErrorPage(props: { viewer?: Viewer; title: string; message: string }) {
  return (
    <Layout title={props.title} viewer={props.viewer}>
      <h1>{props.title}</h1>
      <p class="error" role="alert">{props.message}</p>
      {props.viewer && <p><a href="/tasks">Back to the tasks</a></p>}
    </Layout>
  );
}
