import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { UsageError } from './errors.js';

/**
 * TAPIT_CA_FILE: a PEM file of certificate authorities to trust besides Node's own, for a
 * scheduler behind TLS with a private CA. Node's NODE_EXTRA_CA_CERTS does the same for the whole
 * process, but only when set before Node starts; this one is ours, and the agent reads it too.
 * Returns the whole list to give a TLS connection (a `ca` replaces Node's list), or undefined.
 */
export function trustedCas(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const file = env.TAPIT_CA_FILE;
  if (!file) return undefined;
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`TAPIT_CA_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`TAPIT_CA_FILE: ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return [...rootCertificates, pem];
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
