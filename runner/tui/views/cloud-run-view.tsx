import { useEffect, useRef, useState } from 'react';
import { Box, Text, useInput } from 'ink';
import type { RunRecord } from '../../../core/domain/run.js';
import type { OnDemandRequest } from '../../../core/ports/on-demand-api.js';
import type { RunLogLine } from '../../../core/ports/run-log.js';
import { oneLine } from '../../../core/errors.js';
import { redact } from '../../../core/domain/redact.js';
import { formatBytes, formatDuration } from '../../format.js';
import { clip, RUN_STATUS } from '../cells.js';
import { followRun, logTail, startCloudRun, taskRun, type StartedCloudRun } from '../cloud-actions.js';
import type { CloudConsole, ConsoleSources } from '../console-data.js';
import { Frame, useBodyRows } from './frame.js';
import { useTerminalSize } from './terminal-size.js';

/** Where the screen is: asking the function, following the run it started, or done one way or another. */
type Stage =
  | { readonly name: 'sending' }
  | { readonly name: 'following'; readonly started: StartedCloudRun; readonly record?: RunRecord }
  | { readonly name: 'finished'; readonly started: StartedCloudRun; readonly record: RunRecord }
  | { readonly name: 'failed'; readonly error: string }
  | { readonly name: 'stopped'; readonly message: string };

/** The log block's own lines besides the log: its heading. */
const LOG_HEADING_LINES = 2;
/** Lines the screen uses above the log: request state, run, status, a blank. */
const STATUS_LINES = 4;

type LogState = { readonly lines: readonly RunLogLine[] } | { readonly unavailable: string };

/**
 * A cloud action: the request goes to the environment's api function, and the run it started
 * is followed in the catalog (its status, then its outcome) with the newest lines of its task's
 * log, until it finishes. `esc` stops following — the run goes on in the cloud, and the screen
 * says so — then `enter`/`esc` goes back.
 */
export function CloudRunView(props: {
  readonly sources: ConsoleSources & { readonly cloud: CloudConsole };
  readonly title: string;
  readonly cli: string;
  readonly request: Extract<OnDemandRequest, { action: 'backup' | 'verify' | 'restore' }>;
  readonly onDone: () => void;
}) {
  const { sources, request } = props;
  const controller = useRef(new AbortController());
  const startedAtMs = useRef(Date.now());
  const [stage, setStage] = useState<Stage>({ name: 'sending' });
  const [log, setLog] = useState<LogState | undefined>();
  const [, redraw] = useState(0);
  const stageRef = useRef(stage);
  stageRef.current = stage;
  const bodyRows = useBodyRows(props.cli);
  const { columns } = useTerminalSize();
  const logLimit = Math.max(1, bodyRows - STATUS_LINES - LOG_HEADING_LINES);

  useEffect(() => {
    const { signal } = controller.current;
    const timer = setInterval(() => redraw((n) => n + 1), 1000);
    const readLog = async (started: StartedCloudRun) => {
      const { runLog } = sources.cloud;
      const tail = 'reader' in runLog ? await logTail(runLog.reader, taskRun(started, request.action, new Date(startedAtMs.current)), logLimit, signal) : runLog;
      if (!signal.aborted) setLog(tail);
    };
    (async () => {
      const started = await startCloudRun(sources.cloud.api, request, signal);
      setStage({ name: 'following', started });
      const record = await followRun(sources.catalog, started, {
        signal,
        onRead: (read) => {
          setStage({ name: 'following', started, ...(read ? { record: read } : {}) });
          readLog(started).catch(() => undefined);
        },
      });
      await readLog(started).catch(() => undefined);
      setStage({ name: 'finished', started, record });
    })().catch((error: unknown) => {
      if (signal.aborted) return;
      // A read that fails once the run has started ends the following, not the run: say which run to look for.
      const current = stageRef.current;
      const following = current.name === 'following' ? `stopped following run ${current.started.runId} (it goes on in the cloud): ` : '';
      setStage({ name: 'failed', error: `${following}${redact(oneLine(error))}` });
    });
    return () => {
      clearInterval(timer);
      controller.current.abort();
    };
    // Runs once: a cloud action screen is one request.
  }, []);

  useInput((_input, key) => {
    const current = stageRef.current;
    if (current.name === 'sending' && key.escape) {
      controller.current.abort();
      setStage({ name: 'stopped', message: `stopped waiting for ${sources.cloud.api.endpoint}: it may still have started the ${request.action}; look for it in the job's history` });
    } else if (current.name === 'following' && key.escape) {
      controller.current.abort();
      const { runId, taskId } = current.started;
      setStage({ name: 'stopped', message: `stopped following: run ${runId} goes on in the cloud (task ${taskId}); find it in the job's history` });
    } else if ((current.name === 'finished' || current.name === 'failed' || current.name === 'stopped') && (key.escape || key.return)) {
      props.onDone();
    }
  });

  const elapsed = formatDuration(Date.now() - startedAtMs.current);
  const done = stage.name === 'finished' || stage.name === 'failed' || stage.name === 'stopped';
  return (
    <Frame title={props.title} environment={sources.environment.name} cli={props.cli} keys={done ? 'finished' : 'following'}>
      <Box flexDirection="column">
        {stage.name === 'sending' && <Text wrap="truncate-end">{clip(`asking ${sources.cloud.api.endpoint} to start the ${request.action} · ${elapsed}`, columns)}</Text>}
        {(stage.name === 'following' || stage.name === 'finished') && <StartedLines stage={stage} action={request.action} elapsed={elapsed} columns={columns} />}
        {stage.name === 'failed' && (
          <Text bold color="red" wrap="wrap">
            ✗ {stage.error}
          </Text>
        )}
        {stage.name === 'stopped' && (
          <Text color="yellow" wrap="wrap">
            {stage.message}
          </Text>
        )}
        {log && stage.name !== 'sending' && stage.name !== 'failed' && <LogBlock log={log} limit={logLimit} columns={columns} />}
      </Box>
    </Frame>
  );
}

function StartedLines(props: { readonly stage: Extract<Stage, { name: 'following' | 'finished' }>; readonly action: string; readonly elapsed: string; readonly columns: number }) {
  const { stage, columns } = props;
  const { started, record } = stage;
  const lines = [`started    run ${started.runId} · task ${started.taskId}`];
  if (stage.name === 'following') {
    lines.push(record ? `status     ${RUN_STATUS[record.status].text} · following for ${props.elapsed} (esc stops following; the run goes on)` : `status     waiting for the runner to start and record the run · ${props.elapsed}`);
  }
  return (
    <>
      {stage.name === 'finished' && (
        <Text bold color={stage.record.status === 'succeeded' ? 'green' : 'red'} wrap="truncate-end">
          {clip(outcomeTitle(props.action, stage.record), columns)}
        </Text>
      )}
      {lines.map((line, i) => (
        <Text key={i} wrap="truncate-end">
          {clip(line, columns)}
        </Text>
      ))}
      {stage.name === 'finished' &&
        outcomeLines(stage.record).map((line, i) => (
          <Text key={`o${i}`} wrap="truncate-end">
            {clip(line, columns)}
          </Text>
        ))}
    </>
  );
}

/** `✓ verify of job shop succeeded`, or the failure with its recorded error (the run's own id is on the line below). */
function outcomeTitle(action: string, record: RunRecord): string {
  const what = `${action} of job ${record.job}`;
  return record.status === 'succeeded' ? `✓ ${what} succeeded` : `✗ ${what} ${record.status}${record.error ? `: ${record.error.message}` : ''}`;
}

function outcomeLines(record: RunRecord): string[] {
  return [
    ...(record.durationMs === undefined ? [] : [`took       ${formatDuration(record.durationMs)}`]),
    ...(record.bytesStored === undefined ? [] : [`stored     ${formatBytes(record.bytesStored)}${record.bytesRaw === undefined ? '' : ` (${formatBytes(record.bytesRaw)} raw)`}`]),
  ];
}

function LogBlock(props: { readonly log: LogState; readonly limit: number; readonly columns: number }) {
  const { log, columns } = props;
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text bold>log</Text>
      {'unavailable' in log ? (
        <Text dimColor wrap="truncate-end">
          {clip(`(no log lines: ${log.unavailable})`, columns)}
        </Text>
      ) : (
        log.lines.slice(-props.limit).map((line, i) => (
          <Text key={i} wrap="truncate-end">
            {clip(redact(line.text), columns) || ' '}
          </Text>
        ))
      )}
    </Box>
  );
}
