import { randomUUID } from 'node:crypto';
import { ApiErrorBody, IDEMPOTENCY_KEY_HEADER, describeIssues, type ErrorCode } from '@tapit/protocol';
import type { z } from 'zod';
import { adoptEarlyCreate } from '../early/early-create.js';
import { apiBase, apiUrl, idempotencyHeader, identityHeaders, requestHeaders, type Query } from './api-request.js';
import { failedOnReusedConnection, sendRequest, type HttpAnswer } from './http-request.js';
import { backoffMs, CREATE_ATTEMPTS, isTransientNetworkError, isTransientStatus, reachedScheduler, retryAfterMs } from './retry.js';
import { explainTlsFailure } from './tls-trust.js';

/**
 * The one error the client throws. `status` is the HTTP status, or null when the scheduler could
 * not be reached or answered something that is not the API (then `code` says which).
 */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly code: ErrorCode | 'UNREACHABLE' | 'BAD_RESPONSE',
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** 4xx means the request was wrong (exit 2, like bad input); anything else is a failure (1). */
  get exitCode(): number {
    return this.status !== null && this.status >= 400 && this.status < 500 ? 2 : 1;
  }
}

export type { Query } from './api-request.js';

export interface ClientOptions {
  /** Certificate authorities for https and wss (TAPIT_CA_FILE, see tls-trust.ts). */
  ca?: string[];
  /** Told once when a create is sent again; by default a line on stderr. */
  onRetry?: (message: string) => void;
  /** First backoff delay of a retried create (tests shorten it). */
  retryBaseMs?: number;
  /** Who is behind the token (TAPIT_INITIATED_BY): sent with every request for the audit trail. */
  initiatedBy?: string;
}

/** A small client for the scheduler's `/v1` API; every answer is parsed by its schema. */
export class ApiClient {
  readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly token: string,
    private readonly options: ClientOptions = {},
  ) {
    this.baseUrl = apiBase(baseUrl);
  }

  /** The certificate authorities a websocket to the scheduler must trust too. */
  get ca(): string[] | undefined {
    return this.options.ca;
  }

  get<S extends z.ZodType>(path: string, schema: S, query?: Query): Promise<z.output<S>> {
    return this.json('GET', path, schema, undefined, query);
  }

  post<S extends z.ZodType>(path: string, body: unknown, schema: S): Promise<z.output<S>> {
    return this.json('POST', path, schema, body);
  }

  /**
   * A POST that creates something, sent with an Idempotency-Key of its own. When the connection
   * fails before the answer arrives (reset, timed out; refused only once the scheduler was reached,
   * so a wrong URL fails at once) or the scheduler answers 502, 503 or 504, it is sent again with
   * the same key, after a backoff or the Retry-After asked for, up to CREATE_ATTEMPTS times:
   * the scheduler answers the first result again instead of creating a second one, so a blip
   * never runs a migration twice.
   */
  async create<S extends z.ZodType>(path: string, body: unknown, schema: S): Promise<z.output<S>> {
    // `tapit create task` may have sent this very request already, before the CLI had loaded
    // (src/early/): its answer is this create's first attempt, and its key the key of any retry.
    const early = adoptEarlyCreate(this.url(path), requestHeaders(this.identityHeaders, 'application/json', true), body, this.options.ca);
    const headers = idempotencyHeader(early?.key ?? randomUUID());
    const say = this.options.onRetry ?? ((line: string) => process.stderr.write(`${line}\n`));
    let reached = false;
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= CREATE_ATTEMPTS;
      // The body is read inside the attempt: a connection reset halfway through the answer is a lost answer too.
      const sent = attempt === 1 && early ? early.answer : this.request('POST', path, body, undefined, undefined, 'application/json', headers);
      const outcome = await sent
        .then(async (response) => ({ response, text: await response.text() }))
        .catch((error: unknown) => ({ error }));
      let why: string;
      let delayMs: number;
      if ('error' in outcome) {
        if (!isTransientNetworkError(outcome.error, reached) || last) throw unreachable(this.baseUrl, outcome.error);
        reached ||= reachedScheduler(outcome.error);
        why = networkReason(outcome.error);
        delayMs = backoffMs(attempt, this.options.retryBaseMs);
      } else {
        const { response, text } = outcome;
        reached = true;
        if (!isTransientStatus(response.status) || last) return parseAnswer(response, text, 'POST', path, schema);
        why = apiErrorFrom(response.status, response.statusText, response.url, text).message;
        delayMs = retryAfterMs(response.headers['retry-after']) ?? backoffMs(attempt, this.options.retryBaseMs);
      }
      // One line is enough to explain a pause; the outcome (or the last failure) follows.
      if (attempt === 1) say(`Create not confirmed (${why}); sending it again with the same ${IDEMPOTENCY_KEY_HEADER}, up to ${CREATE_ATTEMPTS - 1} more times`);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }

  patch<S extends z.ZodType>(path: string, body: unknown, schema: S): Promise<z.output<S>> {
    return this.json('PATCH', path, schema, body);
  }

  /** Sets or replaces a resource (a webhook); sending it again sets it again. */
  put<S extends z.ZodType>(path: string, body: unknown, schema: S): Promise<z.output<S>> {
    return this.json('PUT', path, schema, body);
  }

  /** A POST answered with no body (204), such as revoking an agent. */
  async postNoContent(path: string): Promise<void> {
    await (await this.send('POST', path)).text();
  }

  async delete(path: string): Promise<void> {
    // Read to the end even when empty: an unread answer keeps its socket, and the process, busy.
    await (await this.send('DELETE', path)).text();
  }

  /** Opens a streaming GET (the log follow endpoint, a recording); the caller reads `answer.body`. */
  stream(path: string, query: Query, signal?: AbortSignal, accept = 'application/x-ndjson'): Promise<HttpAnswer> {
    return this.send('GET', path, undefined, query, signal, accept);
  }

  /** A POST whose answer is read as it arrives (a copied file); the caller reads `answer.body`. */
  streamPost(path: string, body: unknown, accept = 'application/octet-stream'): Promise<HttpAnswer> {
    return this.send('POST', path, body, undefined, undefined, accept);
  }

  /** What every request presents, websocket upgrades (console streams) included: the token, and who is behind it. */
  get identityHeaders(): Record<string, string> {
    return identityHeaders(this.token, this.options.initiatedBy);
  }

  url(path: string, query?: Query): string {
    return apiUrl(this.baseUrl, path, query);
  }

  private async json<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown, query?: Query): Promise<z.output<S>> {
    return this.parse(await this.send(method, path, body, query), method, path, schema);
  }

  private async parse<S extends z.ZodType>(response: HttpAnswer, method: string, path: string, schema: S): Promise<z.output<S>> {
    return parseAnswer(response, await response.text(), method, path, schema);
  }

  private async send(method: string, path: string, body?: unknown, query?: Query, signal?: AbortSignal, accept = 'application/json'): Promise<HttpAnswer> {
    let response: HttpAnswer;
    try {
      response = await this.request(method, path, body, query, signal, accept).catch((error: unknown) => {
        // The scheduler closed a kept-alive connection (idle for TAPIT_KEEP_ALIVE_TIMEOUT_MS while
        // this process was busy, e.g. printing a long page of log) just as it was reused: a GET
        // goes again on a new one.
        if (method !== 'GET' || !failedOnReusedConnection(error)) throw error;
        return this.request(method, path, body, query, signal, accept);
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw unreachable(this.baseUrl, error);
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  /** One request as it went: any answer, or the network error thrown as it came. */
  private request(method: string, path: string, body: unknown, query: Query | undefined, signal: AbortSignal | undefined, accept: string, extra: Record<string, string> = {}): Promise<HttpAnswer> {
    const headers = requestHeaders(this.identityHeaders, accept, body !== undefined, extra);
    return sendRequest(this.url(path, query), { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, ca: this.options.ca });
  }
}

/** An answer's body, parsed with `schema`; an error answer is thrown as its ApiError. */
function parseAnswer<S extends z.ZodType>(response: HttpAnswer, text: string, method: string, path: string, schema: S): z.output<S> {
  if (!response.ok) throw apiErrorFrom(response.status, response.statusText, response.url, text);
  const parsed = schema.safeParse(safeJson(text));
  if (!parsed.success) {
    throw new ApiError(`unexpected answer from ${method} ${path}: ${describeIssues(parsed.error)}`, response.status, 'BAD_RESPONSE');
  }
  return parsed.data;
}

async function errorFrom(response: HttpAnswer): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  return apiErrorFrom(response.status, response.statusText, response.url, text);
}

/**
 * The scheduler has no such route: it is older than the client (its own 404 for an unknown path,
 * not one about a task or app that does not exist).
 */
export function isMissingRoute(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404 && error.message.startsWith('no route for ');
}

/** What a scheduler too old for a request is told: `--stream needs a newer scheduler (…)`. */
export function needsNewerScheduler(what: string): ApiError {
  return new ApiError(`${what} needs a newer scheduler: this one has no log chunks (upgrade tapit-scheduler)`, null, 'BAD_RESPONSE');
}

/** An error answer (to a request, or a refused websocket upgrade) as the ApiError it describes. */
export function apiErrorFrom(status: number, statusText: string, url: string, text: string): ApiError {
  const parsed = ApiErrorBody.safeParse(safeJson(text));
  if (parsed.success) {
    const { code, message, field } = parsed.data.error;
    return new ApiError(message, status, code, field);
  }
  // Not our API (a proxy, a wrong URL): say what came back rather than guess.
  const code = status === 401 ? 'UNAUTHORIZED' : status === 404 ? 'NOT_FOUND' : 'BAD_RESPONSE';
  return new ApiError(`${status} ${statusText || 'error'} from ${url}`, status, code);
}

/** The scheduler could not be reached at all (connection refused, DNS, TLS…). */
export function unreachable(baseUrl: string, error: unknown): ApiError {
  const reason = networkReason(error);
  return new ApiError(`could not reach ${baseUrl}: ${explainTlsFailure(reason) ?? reason}`, null, 'UNREACHABLE');
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The socket error's code is the part worth showing (ECONNREFUSED …); some wrap it in `cause`. */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  const own = (error as { code?: string })?.code;
  if (cause === undefined && typeof own === 'string') return own;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
