import { ApiErrorBody, describeIssues, type ErrorCode } from '@tapit/protocol';
import type { z } from 'zod';
import { sendRequest, type HttpAnswer } from './http-request.js';

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

export type Query = Record<string, string | number | undefined>;

/** A small client for the scheduler's `/v1` API; every answer is parsed by its schema. */
export class ApiClient {
  readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly token: string,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  get<S extends z.ZodType>(path: string, schema: S, query?: Query): Promise<z.output<S>> {
    return this.json('GET', path, schema, undefined, query);
  }

  post<S extends z.ZodType>(path: string, body: unknown, schema: S): Promise<z.output<S>> {
    return this.json('POST', path, schema, body);
  }

  async delete(path: string): Promise<void> {
    // Read to the end even when empty: an unread answer keeps its socket, and the process, busy.
    await (await this.send('DELETE', path)).text();
  }

  /** Opens a streaming GET (the log follow endpoint, a recording); the caller reads `answer.body`. */
  stream(path: string, query: Query, signal?: AbortSignal, accept = 'application/x-ndjson'): Promise<HttpAnswer> {
    return this.send('GET', path, undefined, query, signal, accept);
  }

  /** The header a websocket upgrade (console streams) presents, as every request does. */
  get authorization(): string {
    return `Bearer ${this.token}`;
  }

  url(path: string, query?: Query): string {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  private async json<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown, query?: Query): Promise<z.output<S>> {
    const response = await this.send(method, path, body, query);
    const text = await response.text();
    const parsed = schema.safeParse(safeJson(text));
    if (!parsed.success) {
      throw new ApiError(`unexpected answer from ${method} ${path}: ${describeIssues(parsed.error)}`, response.status, 'BAD_RESPONSE');
    }
    return parsed.data;
  }

  private async send(method: string, path: string, body?: unknown, query?: Query, signal?: AbortSignal, accept = 'application/json'): Promise<HttpAnswer> {
    const url = this.url(path, query);
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: HttpAnswer;
    try {
      response = await sendRequest(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw unreachable(this.baseUrl, error);
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }
}

async function errorFrom(response: HttpAnswer): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  return apiErrorFrom(response.status, response.statusText, response.url, text);
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
  return new ApiError(`could not reach ${baseUrl}: ${networkReason(error)}`, null, 'UNREACHABLE');
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
