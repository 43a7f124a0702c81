import { randomUUID } from 'node:crypto';
import { apiBase, apiUrl, idempotencyHeader, identityHeaders, requestHeaders } from '../lib/api-request.js';
import { hoistScopeFlags } from '../lib/argv.js';
import { connectionSettings } from '../lib/connection-settings.js';
import { appPath } from '../lib/context.js';
import { sendRequest, type HttpAnswer } from '../lib/http-request.js';

/*
 * The early start of `tapit create task CMD [--wait]`. Loading the CLI (oclif, zod, the
 * protocol's schemas, every command) takes about as long as Node's own start, and nothing of it
 * is needed to say what to create: bin/tapit.cjs sends the create first, from this small module,
 * then loads the CLI while the scheduler places the task and the agent starts its container.
 * The command, once loaded, parses its arguments as always and adopts the answer of the
 * identical request already sent (ApiClient.create) instead of sending a second one.
 *
 * Only the plain forms are taken: the command, --wait/-w and the scope flags, every value plain.
 * Anything else (a key=value, --file, --json, --help, an unknown or repeated flag, no app, no
 * login) is left to the CLI as it was: there is then no early start. Both sides build the
 * request with the same functions (api-request.ts, connection-settings.ts, context.ts), and
 * early-create.test.ts checks, form by form, that the command sends what this module would.
 * TAPIT_EARLY_CREATE=0 turns it off.
 */

export interface EarlyRequest {
  url: string;
  /** Every header but the idempotency key. */
  headers: Record<string, string>;
  body: string;
  ca?: string[];
}

export interface EarlyCreate extends EarlyRequest {
  key: string;
  /** The scheduler's answer, or the network error, as sending it gave. */
  answer: Promise<HttpAnswer>;
  adopted: boolean;
}

/** Where the one early create of this process is kept between bin/tapit.cjs and the CLI's bundle (two separate bundles). */
const SLOT = Symbol.for('tapit.early-create');
type Slot = { [SLOT]?: EarlyCreate };

const SCOPE_FLAGS: Record<string, 'project' | 'stage' | 'app'> = { '-p': 'project', '--project': 'project', '-s': 'stage', '--stage': 'stage', '-a': 'app', '--app': 'app' };
/** Longest wait for the request to leave before the CLI loads anyway (and the request with it, later). */
const SEND_WAIT_MS = 50;
/** What the CLI could read as a key (`memory=4`) rather than the command: left to the CLI. */
const KEY_LIKE = /^[a-z][a-z0-9_]*=/;

/** The request `tapit create task` sends for `argv`, if `argv` is one of the plain forms; else undefined. */
export function earlyCreateRequest(argv: readonly string[], env: NodeJS.ProcessEnv): EarlyRequest | undefined {
  if (env.TAPIT_EARLY_CREATE === '0') return undefined;
  const args = hoistScopeFlags(argv);
  if (args[0] !== 'create' || args[1] !== 'task') return undefined;
  const scope: Partial<Record<'project' | 'stage' | 'app', string>> = {};
  let command: string | undefined;
  let wait = false;
  for (let i = 2; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--wait' || arg === '-w') {
      if (wait) return undefined;
      wait = true;
      continue;
    }
    const equals = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = SCOPE_FLAGS[equals === -1 ? arg : arg.slice(0, equals)];
    if (flag) {
      const value = equals === -1 ? args[++i] : arg.slice(equals + 1);
      if (value === undefined || value === '' || value.startsWith('-') || scope[flag] !== undefined) return undefined;
      scope[flag] = value;
      continue;
    }
    if (arg.startsWith('-') || KEY_LIKE.test(arg) || command !== undefined || arg === '') return undefined;
    command = arg;
  }
  if (command === undefined) return undefined;
  // As oclif reads the flags' environment variables: an empty one is left to it.
  for (const name of ['TAPIT_PROJECT', 'TAPIT_STAGE', 'TAPIT_APP']) if (env[name] === '') return undefined;
  const app = scope.app ?? env.TAPIT_APP;
  if (app === undefined) return undefined;
  let settings;
  try {
    settings = connectionSettings(env);
  } catch {
    return undefined; // the CLI says what is wrong
  }
  const path = `${appPath({ project: scope.project ?? env.TAPIT_PROJECT ?? 'default', stage: scope.stage ?? env.TAPIT_STAGE ?? 'default', app })}/tasks`;
  return {
    url: apiUrl(apiBase(settings.url), path),
    headers: requestHeaders(identityHeaders(settings.token, settings.initiatedBy), 'application/json', true),
    // As CreateTaskRequest gives it: the command, and the kind it defaults to.
    body: JSON.stringify({ command, kind: 'background' }),
    ...(settings.ca ? { ca: settings.ca } : {}),
  };
}

/**
 * Sends the create for `argv` if it is a plain form; resolves once the request has left (so the
 * caller may then block the event loop loading the CLI), or at once when there is none.
 */
export function startEarlyCreate(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let request: EarlyRequest | undefined;
  try {
    request = earlyCreateRequest(argv, env);
  } catch {
    request = undefined;
  }
  if (!request) return Promise.resolve();
  const key = randomUUID();
  return new Promise((resolve) => {
    // A scheduler slow to accept the connection does not hold the CLI's loading back for long.
    setTimeout(resolve, SEND_WAIT_MS).unref();
    const answer = sendRequest(request.url, { method: 'POST', headers: { ...request.headers, ...idempotencyHeader(key) }, body: request.body, ca: request.ca, onSent: resolve }).then((sent) => {
      // Read once, for the command that adopts it and for the report below alike.
      const text = sent.text();
      text.catch(() => undefined);
      return { ...sent, text: () => text };
    });
    // Whoever adopts it reads the outcome; until then a failure is not an unhandled rejection.
    answer.catch(() => undefined);
    const early: EarlyCreate = { ...request, key, answer, adopted: false };
    (globalThis as Slot)[SLOT] = early;
    reportIfUnadopted(early);
  });
}

/** The early create, if one was sent for exactly this request (URL, headers, body, trust); taken once. */
export function adoptEarlyCreate(url: string, headers: Record<string, string>, body: unknown, ca?: string[]): EarlyCreate | undefined {
  const early = (globalThis as Slot)[SLOT];
  if (!early || early.adopted) return undefined;
  if (early.url !== url || !sameJson(early.headers, headers) || !sameJson(JSON.parse(early.body), JSON.parse(JSON.stringify(body))) || (early.ca ?? []).join('\n') !== (ca ?? []).join('\n')) return undefined;
  early.adopted = true;
  return early;
}

/**
 * At exit, an early create the CLI did not adopt (it failed before creating, or its arguments
 * meant another request: neither should happen, see the test) is said on stderr with the task
 * it created, if the answer came: never a task created behind the user's back.
 */
function reportIfUnadopted(early: EarlyCreate): void {
  let created: string | null | undefined;
  early.answer
    .then(async (answer) => (created = answer.ok ? String((JSON.parse(await answer.text()) as { id?: unknown }).id) : null))
    .catch(() => (created = null));
  process.once('exit', () => {
    if (early.adopted || created === null) return;
    process.stderr.write(`tapit: the create sent at start-up was not the command's own: ${created === undefined ? 'a task may have been created' : `task ${created} was created`} (see tapit list tasks)\n`);
  });
}

/** Equal as JSON values: the same keys and values, in any order. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length && keysA.every((key) => Object.hasOwn(b, key) && sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}
