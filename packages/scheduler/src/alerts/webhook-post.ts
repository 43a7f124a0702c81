import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { storableText } from '../db/errors.js';
import type { AllowedNetworks } from './allowed-networks.js';

/** The start of an answer's body kept with the delivery. */
export const RESPONSE_EXCERPT_CHARS = 1024;

export interface PostOutcome {
  /** A 2xx came back. */
  delivered: boolean;
  /** The answer's status; null when none came. */
  statusCode: number | null;
  /** Why it does not count as delivered; null when it does. */
  error: string | null;
  /** The start of the answer's body. */
  response: string | null;
}

export interface PostOptions {
  timeoutMs: number;
  networks: AllowedNetworks;
}

/** Thrown by the lookup: the host resolves only to addresses webhooks may not reach. */
class DestinationRefused extends Error {}

/** A DNS lookup that keeps only allowed addresses: checked on the address connected to, so DNS rebinding cannot slip past. */
function guardedLookup(networks: AllowedNetworks): LookupFunction {
  return ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error);
      const allowed = addresses.filter((a) => networks.allows(a.address));
      if (allowed.length === 0) return callback(new DestinationRefused(networks.refusal(hostname, addresses[0]?.address ?? '?')));
      if (options.all) callback(null, allowed);
      else callback(null, allowed[0].address, allowed[0].family);
    });
  }) as LookupFunction;
}

/**
 * POSTs one delivery and says how it went; never throws. Redirects are not followed (a 3xx is a
 * failure, recorded with where it pointed): a receiver must not be able to send the signed body,
 * or the scheduler, to another host. The whole exchange, answer included, has `timeoutMs`.
 */
export function postWebhook(url: string, headers: Record<string, string>, body: string, options: PostOptions): Promise<PostOutcome> {
  return new Promise((resolve) => {
    let request: ReturnType<typeof httpRequest> | undefined;
    let settled = false;
    const finish = (outcome: PostOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request?.destroy();
      resolve(outcome);
    };
    const fail = (error: string, statusCode: number | null = null, response: string | null = null) =>
      finish({ delivered: false, statusCode, error: storableText(error), response });
    const timer = setTimeout(() => fail(`no answer within ${options.timeoutMs / 1000} s`), options.timeoutMs);

    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return fail('the webhook URL is not a valid URL');
    }
    const host = target.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && !options.networks.allows(host)) return fail(options.networks.refusal(host, host));
    const send = target.protocol === 'https:' ? httpsRequest : target.protocol === 'http:' ? httpRequest : null;
    if (!send) return fail(`the webhook URL's scheme ${target.protocol} is not http or https`);

    try {
      request = send(target, {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) },
        lookup: guardedLookup(options.networks),
        // One connection per attempt: nothing of one receiver lingers into the next attempt.
        agent: false,
      });
    } catch (error) {
      return fail((error as Error).message);
    }
    request.on('error', (error) => fail(error instanceof DestinationRefused ? error.message : error.message || String(error)));
    request.on('response', (answer: IncomingMessage) => {
      const status = answer.statusCode ?? 0;
      let excerpt = '';
      const done = () => {
        const response = excerpt === '' ? null : storableText(excerpt);
        if (status >= 200 && status < 300) return finish({ delivered: true, statusCode: status, error: null, response });
        if (status >= 300 && status < 400) {
          const location = answer.headers.location;
          return fail(`the receiver answered ${status}, a redirect${location ? ` to ${location.slice(0, 200)}` : ''}: redirects are not followed, give the final URL`, status, response);
        }
        fail(`the receiver answered ${status}`, status, response);
      };
      answer.setEncoding('utf8');
      answer.on('data', (chunk: string) => {
        excerpt += chunk;
        // Enough of the answer is kept: the rest is never read.
        if (excerpt.length >= RESPONSE_EXCERPT_CHARS) {
          excerpt = excerpt.slice(0, RESPONSE_EXCERPT_CHARS);
          done();
        }
      });
      answer.on('end', done);
      answer.on('error', done);
    });
    request.end(body);
  });
}
