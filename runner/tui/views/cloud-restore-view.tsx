import { useEffect, useRef, useState } from 'react';
import { Box, Text, useInput } from 'ink';
import type { LocatedBackup } from '../../../core/usecases/locate-backup.js';
import type { OnDemandRequest } from '../../../core/ports/on-demand-api.js';
import { oneLine } from '../../../core/errors.js';
import { redact } from '../../../core/domain/redact.js';
import { formatBytes, formatDuration } from '../../format.js';
import { redactTarget } from '../../commands/restore-command.js';
import { clip } from '../cells.js';
import { cliFor } from '../cli-equivalent.js';
import { awaitDryRun, startCloudRun, type DryRunResult } from '../cloud-actions.js';
import type { CloudConsole, ConsoleSources } from '../console-data.js';
import { CloudRunView } from './cloud-run-view.js';
import { ChooseTables, ConfirmRestore } from './restore-steps.js';
import { Frame } from './frame.js';
import { TextInput } from './text-input.js';
import { useTerminalSize } from './terminal-size.js';

type RestoreRequest = Extract<OnDemandRequest, { action: 'restore' }>;

/** What the dry run told, or why it told nothing (then the restore counts as replacing data). */
type Plan = { readonly result: DryRunResult } | { readonly unknown: string };

type Step =
  | { readonly name: 'target' }
  | { readonly name: 'tables'; readonly target: string }
  | { readonly name: 'plan'; readonly request: RestoreRequest }
  | { readonly name: 'confirm'; readonly request: RestoreRequest; readonly plan: Plan }
  | { readonly name: 'restore'; readonly request: RestoreRequest };

/**
 * Restoring a run of a cloud environment: the same steps as locally — target, tables, the
 * restore's own dry run, then the typed name for anything destructive — with each run started
 * through the api function. The dry run records no run: its answer is read from the runner's log;
 * when the log cannot be read, the restore is treated as replacing data and needs the name typed.
 */
export function CloudRestoreView(props: { readonly sources: ConsoleSources & { readonly cloud: CloudConsole }; readonly backup: LocatedBackup; readonly onDone: () => void }) {
  const { backup, sources } = props;
  const [step, setStep] = useState<Step>({ name: 'target' });
  const { columns } = useTerminalSize();
  const title = `restore ${backup.runId} of ${backup.job}`;
  const base = { action: 'restore' as const, job: backup.job, runId: backup.runId };

  if (step.name === 'plan') return <CloudDryRun sources={sources} title={`${title}: dry run`} request={step.request} onPlan={(plan) => setStep({ name: 'confirm', request: step.request, plan })} onCancel={props.onDone} />;
  if (step.name === 'restore') return <CloudRunView sources={sources} title={title} cli={cliFor.api(sources, step.request)} request={step.request} onDone={props.onDone} />;

  const target = step.name === 'target' ? '<target>' : step.name === 'tables' ? step.target : step.request.target;
  const destructive = step.name === 'confirm' && ('unknown' in step.plan || step.plan.result.replaced.length > 0);
  const cli = cliFor.api(sources, step.name === 'confirm' ? { ...step.request, dryRun: false, force: destructive } : { ...base, target });
  return (
    <Frame title={title} environment={sources.environment.name} cli={cli} keys="form">
      {step.name === 'target' && (
        <Box flexDirection="column">
          <Text wrap="wrap">Restore into which database? The runner in the cloud connects to it: a secret reference such as secret+aws://prod/shop-copy, or a URL without a password.</Text>
          <TextInput label="target:" onCancel={props.onDone} onSubmit={(value) => value && setStep({ name: 'tables', target: value })} />
        </Box>
      )}
      {step.name === 'tables' && (
        <ChooseTables
          backup={backup}
          target={step.target}
          noun="tables"
          onCancel={props.onDone}
          onChoose={(tables) => setStep({ name: 'plan', request: { ...base, target: step.target, ...(tables.length ? { tables } : {}), dryRun: true, force: true } })}
        />
      )}
      {step.name === 'confirm' && (
        <Box flexDirection="column">
          {planLines(step.plan).map((line, i) => (
            <Text key={i} bold={i === 0} wrap="truncate-end">
              {clip(line, columns)}
            </Text>
          ))}
          <Text> </Text>
          <ConfirmRestore
            target={step.request.target}
            destructive={destructive}
            {...('unknown' in step.plan ? { warning: 'What this replaces is not known, so it counts as replacing data.' } : {})}
            onCancel={props.onDone}
            onConfirm={() => setStep({ name: 'restore', request: { ...step.request, dryRun: false, force: destructive } })}
          />
        </Box>
      )}
    </Frame>
  );
}

function planLines(plan: Plan): string[] {
  if ('unknown' in plan) return ['dry run: its answer could not be read', `why            ${plan.unknown}`];
  const { result } = plan;
  return [
    'dry run: the backup checks out; nothing was written',
    `target         ${redactTarget(result.target)}`,
    `would restore  ${result.restored.map((entry) => (entry.schema ? `${entry.schema}.${entry.name}` : entry.name)).join(', ') || 'nothing'} (${result.restored.length} object(s), ${formatBytes(result.bytesRaw)})`,
    `would replace  ${result.replaced.length ? result.replaced.join(', ') : 'nothing'}`,
    `signed by      ${result.signature}`,
  ];
}

/** The dry run in the cloud: started through the api function, its answer read from its task's log. */
function CloudDryRun(props: { readonly sources: ConsoleSources & { readonly cloud: CloudConsole }; readonly title: string; readonly request: RestoreRequest; readonly onPlan: (plan: Plan) => void; readonly onCancel: () => void }) {
  const { sources } = props;
  const controller = useRef(new AbortController());
  const startedAt = useRef(new Date());
  const [status, setStatus] = useState(`asking ${sources.cloud.api.endpoint} to start the dry run`);
  const [failed, setFailed] = useState<string | undefined>();
  const [, redraw] = useState(0);

  useEffect(() => {
    const { signal } = controller.current;
    const timer = setInterval(() => redraw((n) => n + 1), 1000);
    (async () => {
      const { runLog } = sources.cloud;
      const started = await startCloudRun(sources.cloud.api, props.request, signal);
      if (!('reader' in runLog)) return props.onPlan({ unknown: runLog.unavailable });
      setStatus(`dry run started (task ${started.taskId}): reading its answer from the runner's log`);
      const answer = await awaitDryRun(runLog.reader, started, { signal, startedAt: startedAt.current }).catch((error: unknown) => {
        if (signal.aborted) throw error;
        return { unreadable: redact(oneLine(error)) };
      });
      if ('error' in answer) return setFailed(redact(answer.error));
      props.onPlan('result' in answer ? { result: answer.result } : { unknown: answer.unreadable });
    })().catch((error: unknown) => !signal.aborted && setFailed(redact(oneLine(error))));
    return () => {
      clearInterval(timer);
      controller.current.abort();
    };
    // Runs once: one dry run per screen.
  }, []);

  useInput((_input, key) => {
    if (key.escape || (failed && key.return)) {
      controller.current.abort();
      props.onCancel();
    }
  });

  return (
    <Frame title={props.title} environment={sources.environment.name} cli={cliFor.api(sources, props.request)} keys={failed ? 'finished' : 'working'}>
      {failed ? (
        <Text bold color="red" wrap="wrap">
          ✗ {failed}
        </Text>
      ) : (
        <Text wrap="truncate-end">{`${status} · ${formatDuration(Date.now() - startedAt.current.getTime())}`}</Text>
      )}
    </Frame>
  );
}
