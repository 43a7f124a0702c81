/** One line per lifecycle event on stderr: `tapit-agent <event> key=value …`. */
export function log(event: string, fields: Record<string, unknown> = {}): void {
  if (process.env.TAPIT_AGENT_QUIET === '1') return; // in-process tests
  const parts = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  process.stderr.write(`${new Date().toISOString()} tapit-agent ${event}${parts.length ? ' ' + parts.join(' ') : ''}\n`);
}

/** Turns anything thrown into a message (graphile-worker's coerceError). */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : JSON.stringify(error);
}
