import { TABLE_CHECKSUMS_DETAIL, tableChecksumsOf } from '../core/domain/table-checksums.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${UNITS[unit]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

/** A time budget as configured (`30m`, `2h`) when it is whole minutes, else as a measured duration (`90.0 s`). */
export function formatBudget(ms: number): string {
  if (ms % 60_000 !== 0) return formatDuration(ms);
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return formatDuration(ms);
}

/**
 * A manifest's free-form `dump.details` on one line. Per-table checksums are summarised (their
 * JSON is for drills, `vaultra show --json` prints it whole); other details as `key: value`.
 */
export function formatDumpDetails(details: Readonly<Record<string, string>> | undefined): string | undefined {
  if (!details) return undefined;
  const parts = Object.entries(details).map(([key, value]) => {
    if (key !== TABLE_CHECKSUMS_DETAIL) return `${key}: ${value}`;
    const checksums = tableChecksumsOf(details);
    if (!checksums) return `${key}: ${value}`;
    const algorithms = [...new Set(Object.values(checksums).map((checksum) => checksum.split(':')[0]))];
    return `${algorithms.join(', ')} checksums of ${Object.keys(checksums).length} table(s)`;
  });
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/** Control characters that a terminal acts on: C0 (newline, escape…), DEL and C1. */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;
const NAMED_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A name from a backup (a table, a file) as one printable line: control characters escaped
 * (`\n`, `\x1b`), the rest as is. Names come from the backed-up data, not from the operator: a
 * file named with a newline would break the listing, one holding an escape sequence would
 * drive the terminal that shows it.
 */
export function printableName(name: string): string {
  return name.replace(CONTROL_CHARACTERS, (c) => NAMED_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
