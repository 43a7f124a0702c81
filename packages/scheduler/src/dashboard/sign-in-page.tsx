/** @jsxImportSource hono/jsx */
import { Layout } from './layout.js';

export function SignInPage(props: { csrf: string; error?: string }) {
  return (
    <Layout title="Sign in">
      <h1>Sign in to tapit</h1>
      <form class="sign-in" method="post" action="/sign-in">
        <input type="hidden" name="csrf" value={props.csrf} />
        {props.error && <p class="error" role="alert">{props.error}</p>}
        <label for="token">
          API token
          <input id="token" name="token" type="password" autocomplete="current-password" required autofocus />
        </label>
        <p class="muted">A token from <code>tapit create token</code> or the scheduler's TAPIT_BOOTSTRAP_TOKEN. The dashboard shows what this token may see through the API.</p>
        <button type="submit" class="primary">Sign in</button>
      </form>
    </Layout>
  );
}
