import { useState } from 'react';
import { Box, Text } from 'ink';
import type { LocatedBackup } from '../../../core/usecases/locate-backup.js';
import type { RestoreReport } from '../../../core/usecases/restore.js';
import { formatBytes } from '../../format.js';
import { redactTarget } from '../../commands/restore-command.js';
import { cliFor } from '../cli-equivalent.js';
import { restoreRun, type RestoreChoice } from '../console-actions.js';
import type { ConsoleSources } from '../console-data.js';
import { clip } from '../cells.js';
import { ChooseTables, ConfirmRestore } from './restore-steps.js';
import { Frame } from './frame.js';
import { TaskView, type ReportBytes, type TaskResult } from './task-view.js';
import { TextInput } from './text-input.js';
import { useTerminalSize } from './terminal-size.js';

/** A restore's (or its dry run's) result, and whether it replaces anything the target holds. */
interface RestoreOutcome extends TaskResult {
  readonly destructive: boolean;
}

type Step =
  | { readonly name: 'target' }
  | { readonly name: 'tables'; readonly target: string }
  | { readonly name: 'plan'; readonly choice: RestoreChoice }
  | { readonly name: 'confirm'; readonly choice: RestoreChoice; readonly plan: RestoreOutcome }
  | { readonly name: 'restore'; readonly choice: RestoreChoice };

function storedBytesOf(backup: LocatedBackup): number {
  return backup.manifest.objects.reduce((sum, object) => sum + object.sizeBytes, 0);
}

/** A report's contents as names, the way `--tables` takes them. */
function names(report: RestoreReport): string {
  const all = report.restored.length === report.backup.manifest.contents.length;
  return all ? 'everything' : report.restored.map((entry) => (entry.schema ? `${entry.schema}.${entry.name}` : entry.name)).join(', ');
}

/**
 * Restoring a run: the target and the tables are asked for, then the restore's own dry run
 * shows exactly what would be restored and replaced; a restore that replaces anything needs the
 * target's name typed, anything else a plain enter. Then the restore, with progress and cancel.
 */
export function RestoreView(props: { readonly sources: ConsoleSources; readonly backup: LocatedBackup; readonly onDone: () => void }) {
  const { backup, sources } = props;
  const [step, setStep] = useState<Step>({ name: 'target' });
  const { columns } = useTerminalSize();
  const environment = sources.environment.name;
  const selectBy = backup.manifest.source.engine === 'directory' || backup.manifest.source.engine === 'volume' ? ('paths' as const) : ('tables' as const);
  const base = { job: backup.job, runId: backup.runId, tables: [] as string[], selectBy, dryRun: true, force: false };
  const title = `restore ${backup.runId} of ${backup.job}`;
  const run = (choice: RestoreChoice) => async (report: ReportBytes, signal: AbortSignal): Promise<RestoreOutcome> => {
    const result = await restoreRun(sources, choice, (bytes) => report(bytes, choice.dryRun ? 'reading and checking' : 'restoring'), signal);
    const fields = [
      `target         ${redactTarget(result.target)}`,
      `${choice.dryRun ? 'would restore' : 'restored     '}  ${names(result)} (${result.restored.length} object(s), ${formatBytes(result.bytesRaw)})`,
      `${choice.dryRun ? 'would replace' : 'replaced     '}  ${result.replaced.length ? result.replaced.join(', ') : 'nothing'}`,
      `signed by      ${result.authenticity.verified ? `${result.authenticity.keyId} (trusted as ${result.authenticity.trustedAs})` : `NOT PROVEN: ${result.authenticity.reason}`}`,
      ...(result.notes ?? []).map((note) => `note           ${note}`),
    ];
    return { title: choice.dryRun ? `dry run: the backup checks out; nothing was written` : `restored into ${redactTarget(result.target)}`, lines: fields, ok: true, destructive: result.replaced.length > 0 };
  };

  if (step.name === 'plan' || step.name === 'restore') {
    const { choice } = step;
    return (
      <TaskView
        key={step.name}
        title={step.name === 'plan' ? `${title}: dry run` : title}
        environment={environment}
        cli={cliFor.restore(sources, choice)}
        totalBytes={storedBytesOf(backup)}
        firstPhase="checking the signature"
        run={run(choice)}
        onDone={props.onDone}
        {...(step.name === 'plan' ? { onSuccess: (plan: RestoreOutcome) => setStep({ name: 'confirm', choice, plan }) } : {})}
      />
    );
  }

  const target = step.name === 'target' ? '' : step.name === 'tables' ? step.target : step.choice.target;
  const cli = step.name === 'confirm' ? cliFor.restore(sources, { ...step.choice, dryRun: false, force: step.plan.destructive }) : cliFor.restore(sources, { ...base, target: target || '<url>' });
  return (
    <Frame title={title} environment={environment} cli={cli} keys="form">
      {step.name === 'target' && (
        <Box flexDirection="column">
          <Text>Restore into which database? A URL such as sqlite:/srv/copy.db or postgres://app@localhost/shop_copy.</Text>
          <TextInput label="target:" onCancel={props.onDone} onSubmit={(value) => value && setStep({ name: 'tables', target: value })} />
        </Box>
      )}
      {step.name === 'tables' && <ChooseTables backup={backup} target={step.target} noun={selectBy} onCancel={props.onDone} onChoose={(tables) => setStep({ name: 'plan', choice: { ...base, target: step.target, tables, dryRun: true, force: true } })} />}
      {step.name === 'confirm' && (
        <Box flexDirection="column">
          <Text bold>{step.plan.title}</Text>
          {step.plan.lines.map((line, i) => (
            <Text key={i} wrap="truncate-end">
              {clip(line, columns)}
            </Text>
          ))}
          <Text> </Text>
          <ConfirmRestore target={step.choice.target} destructive={step.plan.destructive} onCancel={props.onDone} onConfirm={() => setStep({ name: 'restore', choice: { ...step.choice, dryRun: false, force: step.plan.destructive } })} />
        </Box>
      )}
    </Frame>
  );
}
