import { SECRET_MASK } from '@tapit/protocol';

/** What a secret is replaced with in a task's log. */
export const MASK = SECRET_MASK;
/**
 * Values shorter than this are not masked: a short value (`1`, `yes`) is everywhere in ordinary
 * output, and masking it would hide the log, not the secret. It is also MASK's length, so a
 * masked text is never longer than it was.
 */
export const MIN_MASKED_CHARS = 4;

/**
 * Replaces a task's secret values in its output before the output is spooled: neither the
 * agent's disk nor the scheduler's database ever holds them. A value of several lines is masked
 * line by line (output reaches the spool a line at a time). Not masked: values shorter than
 * MIN_MASKED_CHARS, a value the task prints transformed (base64, split, reversed), and one cut
 * by a line over the driver's longest line.
 */
export class SecretMask {
  private readonly pattern: RegExp | null;

  constructor(values: Iterable<string>) {
    const fragments = new Set<string>();
    for (const value of values) {
      for (const line of value.split(/\r?\n/)) if (line.length >= MIN_MASKED_CHARS) fragments.add(line);
    }
    // Longest first: a value containing another is masked whole.
    const sorted = [...fragments].sort((a, b) => b.length - a.length);
    this.pattern = sorted.length === 0 ? null : new RegExp(sorted.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  }

  get empty(): boolean {
    return this.pattern === null;
  }

  apply(text: string): string {
    return this.pattern === null ? text : text.replace(this.pattern, MASK);
  }
}
