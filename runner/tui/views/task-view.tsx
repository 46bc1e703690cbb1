import { useEffect, useRef, useState } from 'react';
import { Box, Text, useInput } from 'ink';
import { AbortedError, oneLine } from '../../../core/errors.js';
import { redact } from '../../../core/domain/redact.js';
import { describeProgress, progressBar, type ProgressState } from '../progress-state.js';
import { Frame } from './frame.js';
import { useTerminalSize } from './terminal-size.js';

/** What a finished task says: a title line and `label  value` lines, as the CLI prints its result. */
export interface TaskResult {
  readonly title: string;
  readonly lines: readonly string[];
  readonly ok: boolean;
}

/** Bytes read, and (optionally) the phase the task says it is in. */
export type ReportBytes = (bytes: number, phase?: string) => void;

/** How often the progress line is redrawn: often enough to see it move, rarely enough to be cheap over SSH. */
const REDRAW_MS = 200;

/**
 * A long task (verify, restore, backup) on its own screen: live progress while it runs — phase,
 * bytes, rate, elapsed, ETA when the total is known — `esc` to cancel, which aborts the signal
 * the use case runs under (as Ctrl-C does for the CLI: it tears down and leaves nothing behind),
 * then its result or its one error line.
 */
export function TaskView<T extends TaskResult>(props: {
  readonly title: string;
  readonly environment: string;
  readonly cli: string;
  readonly totalBytes?: number;
  readonly firstPhase: string;
  readonly run: (report: ReportBytes, signal: AbortSignal) => Promise<T>;
  readonly onDone: () => void;
  /** A task that is a step (a restore's dry run): its success goes here instead of being shown. */
  readonly onSuccess?: (result: T) => void;
}) {
  const controller = useRef(new AbortController());
  const progress = useRef<ProgressState>({ phase: props.firstPhase, bytes: 0, startedAtMs: Date.now(), ...(props.totalBytes ? { totalBytes: props.totalBytes } : {}) });
  const [, redraw] = useState(0);
  const [outcome, setOutcome] = useState<TaskResult | undefined>();
  const { columns } = useTerminalSize();

  useEffect(() => {
    const timer = setInterval(() => redraw((n) => n + 1), REDRAW_MS);
    const report: ReportBytes = (bytes, phase) => {
      progress.current = { ...progress.current, bytes, ...(phase ? { phase } : {}) };
    };
    props.run(report, controller.current.signal).then(
      (result) => (props.onSuccess && result.ok ? props.onSuccess(result) : setOutcome(result)),
      (error: unknown) => {
        const cancelled = controller.current.signal.aborted || error instanceof AbortedError;
        setOutcome({ title: cancelled ? 'cancelled: the task was stopped and what it had written removed' : 'failed', lines: [redact(oneLine(error))], ok: false });
      },
    );
    return () => {
      clearInterval(timer);
      controller.current.abort();
    };
    // Runs once: a task screen is one task.
  }, []);

  useInput((_input, key) => {
    if (!outcome && key.escape) {
      progress.current = { ...progress.current, phase: 'cancelling' };
      controller.current.abort();
    }
    if (outcome && (key.escape || key.return)) props.onDone();
  });

  return (
    <Frame title={props.title} environment={props.environment} cli={props.cli} keys={outcome ? 'finished' : 'working'}>
      {!outcome && (
        <Box flexDirection="column">
          <Text wrap="truncate-end">{describeProgress(progress.current, Date.now())}</Text>
          <Text>{progressBar(progress.current, Math.min(columns, 60))}</Text>
        </Box>
      )}
      {outcome && (
        <Box flexDirection="column">
          <Text bold color={outcome.ok ? 'green' : 'red'} wrap="truncate-end">
            {outcome.ok ? '✓ ' : '✗ '}
            {outcome.title}
          </Text>
          {outcome.lines.map((line, i) => (
            <Text key={i} wrap="wrap">
              {line}
            </Text>
          ))}
        </Box>
      )}
    </Frame>
  );
}
