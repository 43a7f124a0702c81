/**
 * Reads until `ok` holds (a failed read counts as not yet), every 250 ms, and returns that value;
 * after `timeoutMs` throws naming `what`, with the last value and `context()` (process output).
 */
export async function readUntil<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, options: { timeoutMs?: number; context?: () => string } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 45_000);
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined && ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)?.slice(0, 2000)}\n${options.context?.() ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
