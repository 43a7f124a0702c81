/** Formatting shared by every command's human output (the `--json` output is the API's own). */
import type { Listing } from '@tapit/protocol/format';

// The words themselves are shared with the dashboard's pages.
export { formatBytes, formatDuration, formatNumber, formatTimestamp, formatUtc, shellJoin, truncate } from '@tapit/protocol/format';

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, col) => Math.max(...all.map((row) => (row[col] ?? '').length)));
  return all
    .map((row) => row.map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col]))).join('  ').trimEnd())
    .join('\n');
}

/**
 * `Key:   value` lines with the values aligned. A value of several lines (a shell script) goes on
 * indented under its first line, so no line of a value can pass for a `Key:` line of its own.
 */
export function details(pairs: readonly (readonly [string, string])[]): string {
  const width = Math.max(...pairs.map(([key]) => key.length)) + 3;
  return pairs.map(([key, value]) => `${`${key}:`.padEnd(width)}${value.replace(/\r?\n/g, `\n${' '.repeat(width)}`)}`).join('\n');
}

/** A shared listing (`@tapit/protocol/format`) as a padded table. */
export function listingTable(listing: Listing): string {
  return table(listing.headers, listing.rows);
}
