import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { UsageError } from './errors.js';

/**
 * The certificate authorities to give an https or wss connection to `url`: Node's own list and
 * - TAPIT_CA_FILE: a PEM file of authorities to trust besides Node's, for a scheduler behind TLS
 *   with a private CA (the agent reads it too). Bad input: an error naming it.
 * - TAPIT_EXTRA_CA_CERTS: NODE_EXTRA_CA_CERTS as the `tapit` launcher (bin/tapit) hands it over
 *   when the scheduler's URL is plain http, so that Node does not parse it at every start. Read
 *   only if a connection is https after all (`tapit login https://…`); as Node does, a file it
 *   cannot read is a warning and nothing more. Otherwise Node read NODE_EXTRA_CA_CERTS itself
 *   and has it in its own list.
 * Undefined when neither adds anything (Node's list as it is); a `ca` replaces Node's list, so
 * the whole list is given.
 */
export function trustedCas(url: string, env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const extra: string[] = [];
  const file = env.TAPIT_CA_FILE;
  if (file) {
    const read = readPem(file);
    if ('problem' in read) throw new UsageError(`TAPIT_CA_FILE: ${read.problem}`);
    extra.push(read.pem);
  }
  const handedOver = env.TAPIT_EXTRA_CA_CERTS;
  if (handedOver && /^https:/i.test(url)) {
    const read = readPem(handedOver);
    if ('problem' in read) warnOnce(`Ignoring extra certs (NODE_EXTRA_CA_CERTS): ${read.problem}`);
    else extra.push(read.pem);
  }
  return extra.length > 0 ? [...rootCertificates, ...extra] : undefined;
}

/** A PEM file's text, or why it cannot be used (naming the file). */
function readPem(file: string): { pem: string } | { problem: string } {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    return { problem: `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  }
  return pem.includes('-----BEGIN CERTIFICATE-----') ? { pem } : { problem: `${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)` };
}

/** Once per process: the early start (src/early/) and the CLI's bundle each read the settings. */
const WARNED = Symbol.for('tapit.tls-trust.warned');
function warnOnce(message: string): void {
  const warned = globalThis as { [WARNED]?: Set<string> };
  const seen = (warned[WARNED] ??= new Set());
  if (seen.has(message)) return;
  seen.add(message);
  process.emitWarning(message);
}

/** Node's codes for a certificate it would not accept, and what to do about each. */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);

/** One line saying why a TLS connection failed and how to fix it; undefined when `code` is not a TLS failure. */
export function explainTlsFailure(code: string): string | undefined {
  if (UNTRUSTED.has(code)) return `its TLS certificate is not signed by a trusted authority (${code}): set TAPIT_CA_FILE to the PEM file of the CA that signed it`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `its TLS certificate is for another host name (${code}): use the name the certificate was issued for`;
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return `its TLS certificate is not valid now (${code})`;
  return undefined;
}
