/*
 * The words and formats of tapit's listings, shared by the CLI's text and the dashboard's pages
 * (`@tapit/protocol/format`). No schemas here, and no zod: the CLI's early start may load these.
 */

/** `2021-03-17 09:58:34`, in UTC like the log lines (formatLogLine), so the two line up. */
export function formatTimestamp(iso: string | null): string {
  return iso === null ? '-' : iso.slice(0, 19).replace('T', ' ');
}

/** `2021-03-17 01:30:00 UTC`: for times shown beside another zone's (a schedule's slots). */
export function formatUtc(iso: string | null): string {
  return iso === null ? '-' : `${formatTimestamp(iso)} UTC`;
}

/** `0.4s`, `12s`, `3m 05s`, `2h 07m`: precise when short, compact when long. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  if (seconds < 60) return `${Math.floor(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${pad2(Math.floor(seconds % 60))}s`;
  return `${Math.floor(minutes / 60)}h ${pad2(minutes % 60)}m`;
}

/** `512 B`, `12.0 MiB`, `1.50 GiB`: binary units, as Docker reports memory. */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${value} B`;
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** Numbers without float noise: 0.25, 1.5, 0.0976 (not 0.09765625000000001). */
export function formatNumber(value: number): string {
  return String(Number(value.toPrecision(4)));
}

/** `a b 'c d'`: an argument vector as a shell would need it typed. */
export function shellJoin(args: readonly string[]): string {
  return args.map((arg) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Cuts a cell to `max` characters with an ellipsis, so one long command cannot break a table. */
export function truncate(text: string, max: number): string {
  const oneLine = text.replace(/\s*\n\s*/g, ' ');
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

/** `region=eu,gpu=true`, keys sorted; empty text for no labels. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key]}`)
    .join(',');
}

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** `90s`, `30m`, `24h`, `7d` as seconds (`keep=`, `--since`); null for anything else. */
export function durationSeconds(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  return match ? Math.round(Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS]) : null;
}

/** Ids are 32 hex characters; 12 are unique in practice and accepted back as a prefix. */
export function shortId(id: string): string {
  return id.slice(0, 12);
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}
