/**
 * Structured logs for Cloud Logging: one JSON object per line on stdout, whose `severity` and
 * `message` fields Cloud Logging reads as the entry's severity and text (the rest becomes
 * `jsonPayload`).
 * `VAULTRA_LOG_LEVEL` (DEBUG, INFO, WARNING, ERROR; default INFO) drops the lower ones.
 */
export type Severity = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

const RANK: Record<Severity, number> = { DEBUG: 0, INFO: 1, WARNING: 2, ERROR: 3 };

export function log(severity: Severity, message: string, fields: Record<string, unknown> = {}): void {
  const threshold = RANK[(process.env.VAULTRA_LOG_LEVEL?.toUpperCase() ?? 'INFO') as Severity] ?? RANK.INFO;
  if (RANK[severity] < threshold) return;
  process.stdout.write(`${JSON.stringify({ severity, message, component: 'vaultra', ...fields })}\n`);
}
