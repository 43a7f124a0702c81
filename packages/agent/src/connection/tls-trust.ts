import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

/**
 * TAPIT_CA_FILE: PEM certificates of the authorities that signed the scheduler's TLS certificate
 * (a private CA), trusted besides Node's own list for the agent's wss:// connections. Returns
 * the whole list to give a TLS connection (a `ca` replaces Node's list); throws a one-line
 * message when the file cannot be used. (NODE_EXTRA_CA_CERTS works too, set before start.)
 */
export function loadTrustedCas(file: string): string[] {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return [...rootCertificates, pem];
}
