import type { Catalog } from '../../core/ports/catalog.js';
import { drillTrends } from '../../core/usecases/drill-history.js';
import { formatBudget, formatDuration } from '../format.js';
import { printJson } from './shared.js';

const ARROW = { up: '↑ slower', down: '↓ faster', flat: '→ steady' } as const;

/** `vaultra list --drills`: each job's drills, newest first, under one line with its RTO trend. */
export async function listDrills(catalog: Catalog, options: { readonly job?: string; readonly json?: boolean; readonly signal?: AbortSignal }): Promise<void> {
  const trends = await drillTrends(catalog, options);
  if (options.json) return printJson(trends);
  if (trends.length === 0) {
    process.stdout.write(`no drills recorded${options.job ? ` for job ${options.job}` : ''}: run vaultra drill latest --job <job>\n`);
    return;
  }
  const out: string[] = [];
  for (const trend of trends) {
    const rto = trend.latestRtoMs === undefined ? 'no RTO measured yet' : `RTO ${formatDuration(trend.latestRtoMs)}${trend.previousMedianMs === undefined ? '' : ` (median before: ${formatDuration(trend.previousMedianMs)}, ${ARROW[trend.direction!]})`}`;
    out.push(`${trend.job}: ${trend.drills.length} drill(s), ${trend.passed} passed, ${trend.failed} failed; ${rto}`);
    const rows = trend.drills.map((run) => {
      const drill = run.drill;
      const phases = drill ? Object.entries(drill.phasesMs).map(([phase, ms]) => `${phase} ${formatDuration(ms ?? 0)}`).join(', ') : '';
      return [
        run.runId,
        run.status,
        drill?.backupRunId ?? '',
        drill ? formatDuration(drill.rtoMs) : '',
        drill?.rtoBudgetMs === undefined ? '' : `${drill.rtoMs <= drill.rtoBudgetMs ? 'within' : 'OVER'} ${formatBudget(drill.rtoBudgetMs)}`,
        drill ? `${drill.checks - drill.failedChecks}/${drill.checks}` : '',
        phases,
        run.error?.message ?? '',
      ];
    });
    const header = ['  DRILL RUN', 'STATUS', 'BACKUP', 'RTO', 'BUDGET', 'CHECKS', 'PHASES', 'ERROR'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length + (i === 0 ? 2 : 0))));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
    out.push(line(header), ...rows.map((row) => line([`  ${row[0]}`, ...row.slice(1)])));
  }
  process.stdout.write(out.join('\n') + '\n');
}
