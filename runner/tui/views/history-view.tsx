import { useState } from 'react';
import { Box, Text, useInput } from 'ink';
import type { RunKind, RunRecord, RunStatus } from '../../../core/domain/run.js';
import { formatBytes, formatDuration } from '../../format.js';
import { row, RUN_STATUS } from '../cells.js';
import { cliFor } from '../cli-equivalent.js';
import { loadHistory, type ConsoleSources } from '../console-data.js';
import { Frame, useBodyRows } from './frame.js';
import { useTerminalSize } from './terminal-size.js';
import { useLoad } from './use-load.js';
import { useLatest, useSelection } from './use-selection.js';
import { visibleWindow } from './visible-window.js';

/** The filters `s`, `k` and `t` cycle through; the first of each is "all". */
const STATUS_FILTERS: readonly (RunStatus | 'all')[] = ['all', 'succeeded', 'failed', 'running'];
const KIND_FILTERS: readonly (RunKind | 'all')[] = ['all', 'backup', 'restore', 'verify', 'log'];
const TIME_FILTERS: readonly { readonly label: string; readonly ms: number }[] = [
  { label: 'all time', ms: Infinity },
  { label: '24h', ms: 86_400_000 },
  { label: '7d', ms: 7 * 86_400_000 },
  { label: '30d', ms: 30 * 86_400_000 },
];

// No start time column: a run id begins with its start time (UTC), so the id says both.
const HEADER = ['RUN ID', 'KIND', 'STATUS', 'STORED', 'TOOK', 'ERROR'];
const WIDTHS = [27, 7, 11, 9, 7];

function cycle<T>(list: readonly T[], current: T): T {
  return list[(list.indexOf(current) + 1) % list.length]!;
}

/** A job's runs, newest first, filterable by status, kind and age: `vaultra list --all --job`. */
export function HistoryView(props: { readonly sources: ConsoleSources; readonly job: string; readonly nowMs: () => number; readonly onOpen: (run: RunRecord) => void; readonly onBack: () => void }) {
  const { loaded } = useLoad((signal) => loadHistory(props.sources, props.job, signal), [props.job]);
  const [status, setStatus] = useState(STATUS_FILTERS[0]!);
  const [kind, setKind] = useState(KIND_FILTERS[0]!);
  const [time, setTime] = useState(TIME_FILTERS[0]!);
  const { columns } = useTerminalSize();
  const cli = cliFor.history(props.sources, props.job);
  const bodyRows = useBodyRows(cli);
  const now = props.nowMs();
  const runs = (loaded.state === 'ready' ? loaded.value : []).filter(
    (run) => (status === 'all' || run.status === status) && (kind === 'all' || run.kind === kind) && now - Date.parse(run.startedAt) <= time.ms,
  );
  const selection = useSelection(runs.length);
  const latestRuns = useLatest(runs);
  const selected = selection.index;
  const refilter = (apply: () => void) => {
    apply();
    selection.reset();
  };
  useInput((input, key) => {
    if (key.upArrow) selection.move(-1);
    if (key.downArrow) selection.move(1);
    const run = latestRuns.current[selection.current()];
    if (key.return && run) props.onOpen(run);
    if (key.escape) props.onBack();
    if (input === 's') refilter(() => setStatus((s) => cycle(STATUS_FILTERS, s)));
    if (input === 'k') refilter(() => setKind((k) => cycle(KIND_FILTERS, k)));
    if (input === 't') refilter(() => setTime((t) => cycle(TIME_FILTERS, t)));
  });
  const window = visibleWindow(runs.length, selected, bodyRows - 3);
  return (
    <Frame title={`history of ${props.job}`} environment={props.sources.environment.name} cli={cli} keys="history">
      <Text dimColor wrap="truncate-end">
        status: {status} · kind: {kind} · time: {time.label} · {runs.length} run(s)
      </Text>
      {loaded.state === 'loading' && <Text>listing runs…</Text>}
      {loaded.state === 'failed' && <Text color="red">{loaded.error}</Text>}
      {loaded.state === 'ready' && (
        <Box flexDirection="column">
          <Text bold>{row(HEADER, WIDTHS, columns)}</Text>
          {runs.slice(window.start, window.end).map((run, offset) => {
            const index = window.start + offset;
            const cells = [
              run.runId,
              run.kind,
              RUN_STATUS[run.status].text,
              run.bytesStored === undefined ? '' : formatBytes(run.bytesStored),
              run.durationMs === undefined ? '' : formatDuration(run.durationMs),
              run.error?.message ?? '',
            ];
            return (
              <Text key={`${run.kind}/${run.runId}`} inverse={index === selected} color={RUN_STATUS[run.status].color} wrap="truncate-end">
                {row(cells, WIDTHS, columns)}
              </Text>
            );
          })}
        </Box>
      )}
    </Frame>
  );
}
