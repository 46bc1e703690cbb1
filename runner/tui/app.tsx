import { useState } from 'react';
import { useApp, useInput } from 'ink';
import type { RunRecord } from '../../core/domain/run.js';
import type { Clock } from '../../core/domain/clock.js';
import type { LocatedBackup } from '../../core/usecases/locate-backup.js';
import { formatBytes } from '../format.js';
import { cliFor } from './cli-equivalent.js';
import { backupNow, verifyRun } from './console-actions.js';
import type { CloudConsole, ConsoleSources } from './console-data.js';
import { CloudRestoreView } from './views/cloud-restore-view.js';
import { CloudRunView } from './views/cloud-run-view.js';
import { ConfigView } from './views/config-view.js';
import { HistoryView } from './views/history-view.js';
import { OverviewView } from './views/overview-view.js';
import { RestoreView } from './views/restore-view.js';
import { RunView } from './views/run-view.js';
import { TaskView, type TaskResult } from './views/task-view.js';

/** Where the user is; `back` pops one screen. */
type Screen =
  | { readonly name: 'overview' }
  | { readonly name: 'history'; readonly job: string }
  | { readonly name: 'run'; readonly run: RunRecord }
  | { readonly name: 'verify'; readonly backup: LocatedBackup }
  | { readonly name: 'restore'; readonly backup: LocatedBackup }
  | { readonly name: 'backup'; readonly job: string }
  | { readonly name: 'config' };

/** The console: a stack of screens over one environment, `q` quits from any screen that is not taking text. */
export function ConsoleApp(props: { readonly sources: ConsoleSources; readonly now: Clock }) {
  const { sources } = props;
  const { exit } = useApp();
  const [stack, setStack] = useState<readonly Screen[]>([{ name: 'overview' }]);
  // The job last opened or backed up: the overview comes back with it selected.
  const [lastJob, setLastJob] = useState<string | undefined>();
  const screen = stack.at(-1)!;
  const open = (next: Screen) => setStack((screens) => [...screens, next]);
  const back = () => setStack((screens) => (screens.length > 1 ? screens.slice(0, -1) : screens));
  const nowMs = () => props.now().getTime();
  // Screens with a text field or a running task own every key (the config screen quits itself, outside its form); the others leave `q` to quit.
  const quits = screen.name === 'overview' || screen.name === 'history' || screen.name === 'run';
  useInput((input) => input === 'q' && exit(), { isActive: quits });
  const environment = sources.environment.name;

  // A cloud environment's actions go through its api function and follow the run it starts.
  if (sources.cloud) {
    const cloudSources = { ...sources, cloud: sources.cloud };
    const action = cloudAction(cloudSources, screen, back);
    if (action) return action;
  }

  switch (screen.name) {
    case 'overview':
      return (
        <OverviewView
          sources={sources}
          nowMs={nowMs}
          selectedJob={lastJob}
          onOpen={(job) => {
            setLastJob(job);
            open({ name: 'history', job });
          }}
          onBackup={(job) => {
            setLastJob(job);
            open({ name: 'backup', job });
          }}
          onConfig={() => open({ name: 'config' })}
        />
      );
    case 'history':
      return <HistoryView sources={sources} job={screen.job} nowMs={nowMs} onOpen={(run) => open({ name: 'run', run })} onBack={back} />;
    case 'run':
      return <RunView sources={sources} run={screen.run} onVerify={(backup) => open({ name: 'verify', backup })} onRestore={(backup) => open({ name: 'restore', backup })} onBack={back} />;
    case 'verify': {
      const { backup } = screen;
      return (
        <TaskView
          title={`verify ${backup.runId} of ${backup.job}`}
          environment={environment}
          cli={cliFor.verify(sources, backup.job, backup.runId)}
          totalBytes={backup.manifest.objects.reduce((sum, object) => sum + object.sizeBytes, 0)}
          firstPhase="checking the signature"
          run={async (report, signal): Promise<TaskResult> => {
            const result = await verifyRun(sources, backup, (bytes) => report(bytes, 'reading and checking'), signal);
            const signature = result.authenticity?.verified ? `${result.authenticity.keyId}, trusted as ${result.authenticity.trustedAs}` : `NOT PROVEN: ${result.authenticity?.reason ?? 'not checked'}`;
            return {
              title: `backup ${backup.runId} of job ${backup.job} verified`,
              lines: [`signature   ${signature}`, `stored      ${formatBytes(result.bytesStored)} read, checksums match`, `structure   ${result.structure}`, `plaintext   ${formatBytes(result.bytesRaw)} (matches the manifest)`],
              ok: true,
            };
          }}
          onDone={back}
        />
      );
    }
    case 'restore':
      return <RestoreView sources={sources} backup={screen.backup} onDone={back} />;
    case 'backup': {
      const { job } = screen;
      return (
        <TaskView
          title={`backup of ${job}`}
          environment={environment}
          cli={cliFor.backup(sources, job)}
          firstPhase={`vaultra run ${job}: dumping, compressing, encrypting, storing`}
          run={async (_report, signal): Promise<TaskResult> => {
            const outcome = await backupNow(sources, job, signal);
            return outcome.status === 'succeeded'
              ? { title: `backup ${outcome.runId} of job ${job} succeeded`, lines: outcome.bytesStored === undefined ? [] : [`stored  ${formatBytes(outcome.bytesStored)}`], ok: true }
              : { title: `backup of job ${job} failed`, lines: [outcome.error], ok: false };
          }}
          onDone={back}
        />
      );
    }
    case 'config':
      return <ConfigView configPath={sources.configPath} environment={environment} now={props.now} onBack={back} onQuit={exit} />;
  }
}

/** The screen of an action in a cloud environment (verify, restore, backup now); undefined for a screen that only reads. */
function cloudAction(sources: ConsoleSources & { readonly cloud: CloudConsole }, screen: Screen, back: () => void) {
  switch (screen.name) {
    case 'verify': {
      const request = { action: 'verify' as const, job: screen.backup.job, runId: screen.backup.runId };
      return <CloudRunView sources={sources} title={`verify ${screen.backup.runId} of ${screen.backup.job}`} cli={cliFor.api(sources, request)} request={request} onDone={back} />;
    }
    case 'backup': {
      const request = { action: 'backup' as const, job: screen.job };
      return <CloudRunView sources={sources} title={`backup of ${screen.job}`} cli={cliFor.api(sources, request)} request={request} onDone={back} />;
    }
    case 'restore':
      return <CloudRestoreView sources={sources} backup={screen.backup} onDone={back} />;
    default:
      return undefined;
  }
}
