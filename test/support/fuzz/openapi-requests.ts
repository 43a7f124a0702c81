import fc from 'fast-check';
import { hostileBodyText, hostileString, hostileValue, toJsonText } from './hostile-values.js';
import { mutatedValue, validValue, type JsonSchema } from './json-schema-arbitrary.js';

/*
 * HTTP requests generated from an OpenAPI 3.1 document: for each operation, its path and query
 * parameters and its JSON body, each as described, broken, or replaced by something hostile,
 * sent with each of the given authorizations.
 */

export interface Operation {
  /** `GET /v1/tasks/{id}`: the document's own name for it, used in tallies. */
  key: string;
  method: string;
  path: string;
  pathParameters: { name: string; schema: JsonSchema }[];
  queryParameters: { name: string; schema: JsonSchema }[];
  body: JsonSchema | undefined;
  /** The statuses the document gives for success. */
  success: number[];
  /** Every method the document gives for this path (this operation's and its siblings'). */
  methodsOfPath: string[];
}

export interface FuzzRequest {
  operation: string;
  method: string;
  /** Path and query string, as they go on the request line. */
  target: string;
  headers: Record<string, string>;
  body: string | undefined;
  /** Whether this is the operation as described (its method); otherwise only 4xx is right. */
  described: boolean;
}

interface Document {
  paths: Record<string, Record<string, { parameters?: { name: string; in: string; schema: JsonSchema }[]; requestBody?: { content: Record<string, { schema: JsonSchema }> }; responses: Record<string, unknown> }>>;
}

/** Every operation the document describes. */
export function operationsOf(document: unknown): Operation[] {
  const doc = document as Document;
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      key: `${method.toUpperCase()} ${path}`,
      method: method.toUpperCase(),
      path,
      pathParameters: (op.parameters ?? []).filter((p) => p.in === 'path'),
      queryParameters: (op.parameters ?? []).filter((p) => p.in === 'query'),
      body: op.requestBody?.content['application/json']?.schema,
      success: Object.keys(op.responses).filter((s) => /^[23]\d\d$/.test(s)).map(Number),
      methodsOfPath: Object.keys(methods).map((m) => m.toUpperCase()),
    })),
  );
}

/** Every string the document names as an enum or constant value: words the API knows. */
export function dictionaryOf(document: unknown): string[] {
  const words = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (typeof record.const === 'string') words.add(record.const);
    if (Array.isArray(record.enum)) for (const v of record.enum) if (typeof v === 'string') words.add(v);
    Object.values(record).forEach(visit);
  };
  visit(document);
  return [...words];
}

export interface RequestOptions {
  /** Values of path parameters that exist on the server, by parameter name. */
  known: Record<string, readonly string[]>;
  /** `Authorization` header values: tokens of the server, and broken ones ('' sends none). */
  authorizations: { valid: readonly string[]; broken: readonly string[] };
  dictionary: readonly string[];
  /**
   * Bodies known to be accepted, by operation key (a seed corpus): what a schema cannot say,
   * such as "exactly one of command or args", is then still met by some requests.
   */
  seeds?: Record<string, readonly unknown[]>;
  /** Refuses a generated request (e.g. one that would revoke the fuzzer's own tokens). */
  allowed?: (request: FuzzRequest) => boolean;
}

/** Path segments that are not what they look like once decoded, sent as they are. */
const RAW_SEGMENTS = ['%ZZ', '%', '%0', '%00', '.', '..', '%2e%2e', '%2F', '%2f..%2f', '%C0%AF', '%E0%A4%A', '%FF%FE', 'a%20b', ';', ';x=1', '~', '%u0000', '%25', '+'];
/** Query strings that no client should send. */
const RAW_QUERIES = ['', '&', '&&&', '=', '=x', '%ZZ=1', 'a=%ZZ', 'limit', 'limit=', 'limit=1&limit=2', 'a[b]=c', '__proto__=1', 'constructor=x', 'status=', 'cursor=%00', '%00=%00'];
/**
 * Path and query values stay under 2,000 characters: a request line past Node's 16 KiB header
 * limit is refused before any route, and the client, still writing, sees only a reset.
 */
const MAX_URL_VALUE = 2_000;
const short = (s: string) => s.length <= MAX_URL_VALUE;

/** encodeURIComponent, except that a lone surrogate goes out as its (invalid) UTF-8 bytes. */
function encode(value: string): string {
  return value.replace(/[\s\S]/gu, (ch) => {
    const unit = ch.charCodeAt(0);
    if (ch.length === 1 && unit >= 0xd800 && unit <= 0xdfff) return [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    return encodeURIComponent(ch);
  });
}

const OTHER_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];

/** One part of a request, as described and as broken. */
interface Part<T> {
  valid: fc.Arbitrary<T>;
  broken: fc.Arbitrary<T>;
}

function pathValue(name: string, schema: JsonSchema, options: RequestOptions): Part<string> {
  const known = options.known[name] ?? [];
  const described = validValue(schema, { dictionary: [...known, ...options.dictionary] }).map((v) => encode(String(v)));
  const hostile = hostileString([...known, ...options.dictionary]).filter((s) => s.length > 0 && short(s));
  return {
    valid: known.length > 0 ? fc.oneof({ arbitrary: fc.constantFrom(...known).map(encode), weight: 4 }, { arbitrary: described, weight: 1 }) : described,
    broken: fc.oneof({ arbitrary: hostile.map(encode), weight: 3 }, { arbitrary: fc.constantFrom(...RAW_SEGMENTS), weight: 1 }, { arbitrary: described, weight: 1 }),
  };
}

function queryString(op: Operation, options: RequestOptions): Part<string> {
  const join = (parts: string[]) => {
    const query = parts.filter((p) => p !== '').join('&');
    return query === '' ? '' : `?${query}`;
  };
  const param = (name: string, value: fc.Arbitrary<string>) => fc.option(value, { freq: 2 }).map((v) => (v === null ? '' : `${encode(name)}=${encode(v)}`));
  const valid = fc.tuple(...op.queryParameters.map(({ name, schema }) => param(name, validValue(schema, options).map(String)))).map(join);
  const described = op.queryParameters.map(({ name, schema }) =>
    param(
      name,
      fc.oneof(
        { arbitrary: validValue(schema, options).map(String), weight: 2 },
        { arbitrary: hostileString(options.dictionary).filter(short), weight: 3 },
        // A list of known words, for parameters like `status=A,B`.
        { arbitrary: fc.array(fc.constantFrom(...options.dictionary), { minLength: 1, maxLength: 3 }).map((w) => w.join(',')), weight: 1 },
      ),
    ),
  );
  const extra = fc.option(fc.tuple(hostileString().filter(short), hostileString().filter(short)).map(([k, v]) => `${encode(k)}=${encode(v)}`), { freq: 2 }).map((s) => s ?? '');
  const raw = fc.option(fc.constantFrom(...RAW_QUERIES), { freq: 2 }).map((s) => s ?? '');
  return { valid, broken: fc.tuple(...described, extra, raw).map(join) };
}

type Body = { body: string | undefined; contentType: string | undefined };

function bodyOf(op: Operation, options: RequestOptions): Part<Body> {
  const json = (arb: fc.Arbitrary<unknown>) => arb.map((value): Body => ({ body: toJsonText(value), contentType: 'application/json' }));
  const contentType = fc.constantFrom<string | undefined>('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', undefined, 'application/json; charset=latin1');
  const text = fc.tuple(hostileBodyText(), contentType).map(([body, type]): Body => ({ body, contentType: type }));
  const none = fc.constant<Body>({ body: undefined, contentType: undefined });
  if (!op.body) return { valid: none, broken: fc.oneof(json(hostileValue(options.dictionary)), text) };
  const seeds = options.seeds?.[op.key] ?? [];
  const described = validValue(op.body, options);
  const valid = seeds.length > 0 ? fc.oneof(fc.constantFrom(...seeds), described) : described;
  return {
    valid: json(valid),
    broken: fc.oneof(
      { arbitrary: json(mutatedValue(op.body, options, seeds)), weight: 6 },
      { arbitrary: json(hostileValue(options.dictionary)), weight: 1 },
      { arbitrary: text, weight: 1 },
      { arbitrary: none, weight: 1 },
    ),
  };
}

const PARTS = ['path', 'query', 'body', 'authorization', 'method', 'headers'] as const;

/**
 * Requests for one operation: some as described in every part, the others with one or two parts
 * broken (path, query, body, authorization, method, extra headers), so most requests get past
 * the first check and into the handler.
 */
export function requestsFor(op: Operation, options: RequestOptions): fc.Arbitrary<FuzzRequest> {
  const pathParts = op.pathParameters.map((p) => ({ name: p.name, ...pathValue(p.name, p.schema, options) }));
  const fill = (values: string[]) => op.pathParameters.reduce((path, p, i) => path.replace(`{${p.name}}`, values[i]!), op.path);
  const path: Part<string> = {
    valid: fc.tuple(...pathParts.map((p) => p.valid)).map(fill),
    // One parameter broken, the others as described.
    broken: fc.tuple(...pathParts.map((p) => fc.tuple(p.valid, p.broken)), fc.nat()).map((all) => {
      const pairs = all.slice(0, -1) as [string, string][];
      const which = (all[all.length - 1] as number) % Math.max(1, pairs.length);
      return fill(pairs.map(([valid, broken], i) => (i === which ? broken : valid)));
    }),
  };
  const method: Part<string> = { valid: fc.constant(op.method), broken: fc.constantFrom(...OTHER_METHODS) };
  const authorization: Part<string> = { valid: fc.constantFrom(...options.authorizations.valid), broken: fc.constantFrom(...options.authorizations.broken) };
  const headers: Part<Record<string, string>> = {
    valid: fc.constant({}),
    broken: fc.constantFrom<Record<string, string>>(
      { 'content-encoding': 'gzip' },
      { accept: 'text/html' },
      { 'x-forwarded-for': '\u00e9\u00e9, 999.1.1.1' },
      { cookie: 'a=b' },
      { 'x-http-method-override': 'DELETE' },
      { expect: '100-continue' },
    ),
  };
  const parts = { path, query: queryString(op, options), body: bodyOf(op, options), authorization, method, headers };
  const broken = fc.oneof({ arbitrary: fc.constant<string[]>([]), weight: 2 }, { arbitrary: fc.subarray([...PARTS], { minLength: 1, maxLength: 2 }), weight: 3 });
  const choose = <T>(part: Part<T>) => fc.record({ valid: part.valid, broken: part.broken });
  return fc
    .record({ broken, path: choose(parts.path), query: choose(parts.query), body: choose(parts.body), authorization: choose(parts.authorization), method: choose(parts.method), headers: choose(parts.headers) })
    .map((r) => {
      const pick = <K extends (typeof PARTS)[number]>(key: K) => (r.broken.includes(key) ? r[key].broken : r[key].valid) as (typeof r)[K]['valid'];
      const method = pick('method');
      const body = pick('body');
      const headers: Record<string, string> = { ...pick('headers') };
      const auth = pick('authorization');
      if (auth !== '') headers.authorization = auth;
      if (body.contentType) headers['content-type'] = body.contentType;
      // Another method of the same path is that operation's request.
      const described = op.methodsOfPath.includes(method);
      return { operation: described ? `${method} ${op.path}` : op.key, method, target: pick('path') + pick('query'), headers, body: method === 'GET' || method === 'HEAD' ? undefined : body.body, described };
    })
    .filter((request) => options.allowed?.(request) ?? true);
}

/** Requests for every operation of the document, each operation as likely as the next. */
export function requestsOf(operations: Operation[], options: RequestOptions): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(...operations.map((op) => requestsFor(op, options)));
}
