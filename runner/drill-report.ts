import { writeFile } from 'node:fs/promises';
import type { DrillReport } from '../core/usecases/drill.js';
import { oneLine } from '../core/errors.js';
import { redact } from '../core/domain/redact.js';
import { formatBudget, formatBytes } from './format.js';

/** A drill as one JSON object: what `--json` prints and what `--report` files. */
export function drillJson(report: DrillReport): Record<string, unknown> {
  const { manifest } = report.backup;
  return {
    drillRunId: report.run.runId,
    job: report.backup.job,
    backupRunId: report.backup.runId,
    status: report.passed ? 'passed' : 'failed',
    ...(report.error === undefined ? {} : { error: redact(oneLine(report.error)) }),
    startedAt: report.run.startedAt,
    finishedAt: report.run.finishedAt,
    engine: { id: manifest.source.engine, database: manifest.source.database, serverVersion: manifest.source.serverVersion },
    backup: {
      startedAt: manifest.startedAt,
      finishedAt: manifest.finishedAt,
      manifestSha256: report.backup.manifestSha256,
      objects: manifest.objects.map((o) => ({ name: o.name, role: o.role, sizeBytes: o.sizeBytes, sha256: o.sha256 })),
      plaintextBytes: manifest.plaintextBytes,
      encryption: manifest.encryption.format,
      compression: manifest.compression.id,
    },
    signature: report.authenticity ? (report.authenticity.verified ? { verified: true, keyId: report.authenticity.keyId, trustedAs: report.authenticity.trustedAs } : { verified: false, reason: report.authenticity.reason }) : { verified: false, reason: 'not checked: the drill failed before' },
    scratch: report.outcome.scratch ?? null,
    scratchRemoved: report.leftover === undefined,
    ...(report.leftover ? { leftover: report.leftover } : {}),
    rto: { totalMs: report.outcome.rtoMs, phasesMs: report.outcome.phasesMs, scratchStartMs: report.outcome.scratchMs ?? null, budgetMs: report.outcome.rtoBudgetMs ?? null, withinBudget: report.outcome.rtoBudgetMs === undefined ? null : report.outcome.rtoMs <= report.outcome.rtoBudgetMs },
    bytesRestored: report.bytesRaw ?? null,
    checks: report.checks,
    alerts: report.alerts,
  };
}

/**
 * The evidence an auditor files: a Markdown page (what was restored, every check and its result,
 * the RTO, the backup's signature and checksums) with the same facts as JSON at its end, or
 * JSON alone for a file ending in `.json`. Written whether the drill passed or failed.
 */
export async function writeDrillReport(path: string, report: DrillReport): Promise<void> {
  const json = drillJson(report);
  const text = path.endsWith('.json') ? `${JSON.stringify(json, null, 2)}\n` : drillMarkdown(report, json);
  await writeFile(path, text, { mode: 0o644 });
}

function drillMarkdown(report: DrillReport, json: Record<string, unknown>): string {
  const { manifest } = report.backup;
  const { outcome } = report;
  const passed = report.checks.filter((c) => c.passed).length;
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [
    `# Restore drill ${report.run.runId}: ${report.passed ? 'PASSED' : 'FAILED'}`,
    '',
    `Backup ${report.backup.runId} of job ${report.backup.job} was restored into a scratch target that existed only for this drill, checked, and removed.`,
    '',
    '| | |',
    '| --- | --- |',
    `| job | ${cell(report.backup.job)} |`,
    `| backup | ${report.backup.runId} (taken ${manifest.startedAt} … ${manifest.finishedAt}) |`,
    `| engine | ${manifest.source.engine} ${cell(manifest.source.serverVersion)}, database ${cell(manifest.source.database)} |`,
    `| drill | ${report.run.startedAt} … ${report.run.finishedAt ?? ''} |`,
    `| result | ${report.passed ? 'passed' : `failed: ${cell(redact(oneLine(report.error)))}`} |`,
    `| checks | ${passed} of ${report.checks.length} passed |`,
    `| RTO | ${ms(outcome.rtoMs)} (${Object.entries(outcome.phasesMs).map(([phase, value]) => `${phase} ${ms(value ?? 0)}`).join(', ')})${outcome.rtoBudgetMs ? `; budget ${formatBudget(outcome.rtoBudgetMs)}: ${outcome.rtoMs <= outcome.rtoBudgetMs ? 'within' : 'EXCEEDED'}` : ''} |`,
    `| scratch | ${cell(outcome.scratch ?? 'not started')}${outcome.scratchMs === undefined ? '' : `, ready in ${ms(outcome.scratchMs)}`}; ${report.leftover ? `NOT removed: ${cell(report.leftover)}` : 'removed'} |`,
    `| restored | ${report.bytesRaw === undefined ? 'nothing' : formatBytes(report.bytesRaw)} |`,
    `| signature | ${report.authenticity ? (report.authenticity.verified ? `${report.authenticity.keyId}, trusted as ${cell(report.authenticity.trustedAs)}` : `NOT PROVEN: ${cell(report.authenticity.reason)}`) : 'not checked'} |`,
    `| manifest sha256 | ${report.backup.manifestSha256} |`,
    ...manifest.objects.map((o) => `| ${cell(o.name)} | ${formatBytes(o.sizeBytes)}, sha256 ${o.sha256} |`),
    '',
    '## Checks',
    '',
    '| result | kind | what | detail |',
    '| --- | --- | --- | --- |',
    ...report.checks.map((c) => `| ${c.passed ? 'pass' : 'FAIL'} | ${c.kind} | ${cell(c.name)} | ${cell(c.detail)} |`),
    '',
    '## Facts as JSON',
    '',
    '```json',
    JSON.stringify(json, null, 2),
    '```',
    '',
  ];
  return lines.join('\n');
}

function ms(value: number): string {
  return value < 1000 ? `${value} ms` : `${(value / 1000).toFixed(1)} s`;
}
