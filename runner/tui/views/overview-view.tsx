import { Box, Text, useInput } from 'ink';
import { formatDurationMs } from '../../../core/config/durations.js';
import { formatBytes } from '../../format.js';
import { ago, JOB_STATE, row, sparkline, until } from '../cells.js';
import type { JobStatus } from '../../../core/usecases/job-status.js';
import { cliFor } from '../cli-equivalent.js';
import { loadOverview, type ConsoleSources } from '../console-data.js';
import { Frame, useBodyRows } from './frame.js';
import { useTerminalSize } from './terminal-size.js';
import { useLoad } from './use-load.js';
import { useLatest, useSelection } from './use-selection.js';
import { visibleWindow } from './visible-window.js';

const HEADER = ['JOB', 'STATUS', 'LAST RUN', 'LAST GOOD', 'RPO', 'NEXT RUN', 'SIZE TREND'];
const WIDTHS = [12, 8, 9, 10, 4, 10];

/** How the job's latest backup attempt went: a failure newer than the last success shows here before the RPO is past. */
function lastRun(status: JobStatus): string {
  if (status.running.length > 0) return '… running';
  const { lastFailure, lastSuccess } = status;
  if (lastFailure && (!lastSuccess || lastFailure.at > lastSuccess.at)) return '✗ failed';
  return lastSuccess ? '✓ stored' : '';
}

/** Every job of the environment: `vaultra status`, with each job's size trend. */
export function OverviewView(props: { readonly sources: ConsoleSources; readonly nowMs: () => number; readonly selectedJob?: string; readonly onOpen: (job: string) => void; readonly onBackup: (job: string) => void; readonly onConfig: () => void }) {
  const { loaded, reload } = useLoad((signal) => loadOverview(props.sources, signal), []);
  const { columns } = useTerminalSize();
  const cli = cliFor.status(props.sources);
  const bodyRows = useBodyRows(cli);
  const jobs = loaded.state === 'ready' ? loaded.value : [];
  const selection = useSelection(jobs.length, Math.max(0, jobs.findIndex((job) => job.status.job === props.selectedJob)));
  const latestJobs = useLatest(jobs);
  const selected = selection.index;
  useInput((input, key) => {
    if (key.upArrow) selection.move(-1);
    if (key.downArrow) selection.move(1);
    const job = latestJobs.current[selection.current()]?.status.job;
    if (key.return && job) props.onOpen(job);
    if (input === 'b' && job) props.onBackup(job);
    if (input === 'c') props.onConfig();
    if (input === 'r') reload();
  });
  const now = props.nowMs();
  const window = visibleWindow(jobs.length, selected, bodyRows - 2);
  return (
    <Frame title="jobs" environment={props.sources.environment.name} cli={cli} keys="overview">
      {loaded.state === 'loading' && <Text>reading the catalog…</Text>}
      {loaded.state === 'failed' && <Text color="red">{loaded.error}</Text>}
      {loaded.state === 'ready' && jobs.length === 0 && <Text>no jobs in environment {props.sources.environment.name} (c: add one)</Text>}
      {loaded.state === 'ready' && jobs.length > 0 && (
        <Box flexDirection="column">
          <Text bold>{row(HEADER, WIDTHS, columns)}</Text>
          {jobs.slice(window.start, window.end).map(({ status, storedBytes }, offset) => {
            const index = window.start + offset;
            const state = JOB_STATE[status.state];
            const last = storedBytes.at(-1);
            const cells = [
              status.job,
              state.text,
              lastRun(status),
              status.lastSuccess ? ago(status.lastSuccess.at, now) : 'none',
              formatDurationMs(status.rpoMs),
              status.nextRun ? until(status.nextRun, now) : '',
              storedBytes.length ? `${sparkline(storedBytes)} ${formatBytes(last!)}` : '',
            ];
            return (
              <Text key={status.job} inverse={index === selected} color={state.color} wrap="truncate-end">
                {row(cells, WIDTHS, columns)}
              </Text>
            );
          })}
        </Box>
      )}
    </Frame>
  );
}
