import { Command, Option } from 'commander';
import { applyRetention } from '../../core/usecases/apply-retention.js';
import { planRetention } from '../../core/domain/retention-plan.js';
import type { RetentionKeep } from '../../core/config/config-schema.js';
import { ConfigError } from '../../core/errors.js';
import { DEFAULT_STORAGE } from '../context.js';
import { formatBytes } from '../format.js';
import { catalogOption, openStore, positiveInteger, printFields, printJson, signalOf, thisHost } from './shared.js';

interface PruneOptions {
  from: string;
  job: string;
  keepLast?: string;
  keepHourly?: string;
  keepDaily?: string;
  keepWeekly?: string;
  keepMonthly?: string;
  keepYearly?: string;
  dryRun?: boolean;
  json?: boolean;
  catalog?: string;
}

const KEEP_FLAGS = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;

/**
 * `vaultra prune`: the retention a scheduled environment applies after each backup, on demand. The
 * backups the policy does not keep are removed (manifest first), then the chunked-snapshot packs
 * no kept backup references (a differential or incremental shares its full's packs, so pruning
 * an old full never breaks a later run).
 */
export function pruneCommand(): Command {
  const command = new Command('prune')
    .description('remove the backups of a job that a retention policy does not keep, then the packs no kept backup references')
    .addOption(new Option('--from <storage-url>', 'where the backups are').default(DEFAULT_STORAGE).env('VAULTRA_STORAGE'))
    .requiredOption('--job <name>', 'the job to prune');
  for (const unit of KEEP_FLAGS) command.option(`--keep-${unit} <n>`, unit === 'last' ? 'keep the newest n backups' : `keep the newest backup of each of the last n ${unit === 'daily' ? 'days' : unit.replace(/ly$/, 's')}`);
  return command
    .option('--dry-run', 'say what would be removed; remove nothing')
    .option('--json', 'print the result as JSON on stdout')
    .addOption(catalogOption())
    .addHelpText(
      'after',
      `
The policy is the union of the --keep-* flags (a backup any of them keeps stays), as in a job's
retention in vaultra.config.yaml. At least one is required.

Examples:
  vaultra prune --job shop --keep-last 7
  vaultra prune --job shop --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --dry-run`,
    )
    .action(async (options: PruneOptions, command: Command) => {
      const keep = keepOf(options);
      const signal = signalOf(command);
      const { storage, catalog } = await openStore(options.from, options.catalog);
      if (options.dryRun) {
        const runs = (await catalog.list({ job: options.job, kind: 'backup', status: 'succeeded' }, signal ? { signal } : {})).filter((run) => !run.prunedAt);
        const plan = planRetention(runs.map((run) => ({ runId: run.runId, finishedAt: run.finishedAt ?? run.startedAt })), keep);
        const result = { job: options.job, dryRun: true, kept: plan.keep.map((entry) => entry.runId), wouldPrune: plan.prune };
        if (options.json) return printJson(result);
        return printFields(`prune of job ${options.job} (dry run: nothing removed)`, [
          ['would keep', result.kept.join(', ') || 'nothing'],
          ['would remove', result.wouldPrune.join(', ') || 'nothing'],
        ]);
      }
      const outcome = await applyRetention({ storage, catalog, host: thisHost }, { job: options.job, keep, ...(signal ? { signal } : {}) });
      if (outcome.failed.length > 0) process.exitCode = 1;
      if (options.json) return printJson({ job: options.job, ...outcome });
      printFields(`prune of job ${options.job}`, [
        ['kept', outcome.kept.join(', ') || 'nothing'],
        ['removed', outcome.pruned.join(', ') || 'nothing'],
        ['logs', outcome.logs ? (outcome.logs.skipped ? `kept all ${outcome.logs.kept}: ${outcome.logs.skipped}` : `${outcome.logs.pruned} log runs before the oldest kept base removed; ${outcome.logs.kept} kept${outcome.logs.failed.length ? `; ${outcome.logs.failed.length} failed` : ''}`) : undefined],
        ['packs', outcome.packs ? (outcome.packs.skipped ? `sweep held back: ${outcome.packs.skipped}` : `${outcome.packs.deleted.count} unreferenced removed (${formatBytes(outcome.packs.deleted.bytes)}); ${outcome.packs.referenced} still referenced`) : undefined],
        ['failed', outcome.failed.length ? outcome.failed.map((failure) => `${failure.runId}: ${failure.error}`).join('; ') : undefined],
      ]);
    });
}

function keepOf(options: PruneOptions): RetentionKeep {
  const keep: Record<string, number> = {};
  for (const unit of KEEP_FLAGS) {
    const value = options[`keep${unit[0]!.toUpperCase()}${unit.slice(1)}` as keyof PruneOptions];
    if (typeof value === 'string') keep[unit] = positiveInteger(value, `--keep-${unit}`);
  }
  if (Object.keys(keep).length === 0) throw new ConfigError('vaultra prune needs a policy: at least one of --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly');
  return keep as RetentionKeep;
}
