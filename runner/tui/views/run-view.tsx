import { useState } from 'react';
import { Text, useInput } from 'ink';
import type { RunRecord } from '../../../core/domain/run.js';
import type { LocatedBackup } from '../../../core/usecases/locate-backup.js';
import { describeManifest, formatContents } from '../../commands/show-command.js';
import { formatBytes, formatDuration } from '../../format.js';
import { clip, RUN_STATUS } from '../cells.js';
import { cliFor } from '../cli-equivalent.js';
import { loadBackup, type ConsoleSources } from '../console-data.js';
import { Frame, useBodyRows } from './frame.js';
import { useTerminalSize } from './terminal-size.js';
import { useLoad } from './use-load.js';
import { useLatest } from './use-selection.js';

/** `label  value` lines, aligned like the CLI's. */
function fieldLines(fields: readonly (readonly [string, string | undefined])[]): string[] {
  const width = Math.max(...fields.map(([label]) => label.length));
  return fields.filter(([, value]) => value !== undefined).map(([label, value]) => `${label.padEnd(width)}  ${value}`);
}

/** What the run screen says: the catalog's record, then (for a stored backup) its manifest and contents, as `vaultra show` prints them. */
export function runLines(run: RunRecord, backup: LocatedBackup | undefined): string[] {
  const lines = fieldLines([
    ['status', `${RUN_STATUS[run.status].text} (${run.kind}${run.type ? `, ${run.type}` : ''})`],
    ['started', run.startedAt],
    ['finished', run.finishedAt],
    ['took', run.durationMs === undefined ? undefined : formatDuration(run.durationMs)],
    ['stored', run.bytesStored === undefined ? undefined : `${formatBytes(run.bytesStored)}${run.bytesRaw === undefined ? '' : ` (${formatBytes(run.bytesRaw)} raw)`}`],
    ['error', run.error ? `${run.error.kind}: ${run.error.message}` : undefined],
    ['location', run.location],
    ['pruned', run.prunedAt],
  ]);
  if (!backup) return lines;
  return [
    ...lines,
    '',
    'manifest',
    ...fieldLines([...describeManifest(backup.manifest), ['signature', 'manifest.json.sig: checked by a verify (v) or a restore (r)']]).map((line) => `  ${line}`),
    '',
    `contents (${backup.manifest.contents.length})`,
    ...formatContents(backup.manifest.contents).split('\n'),
  ];
}

/** One run: its record, manifest and contents list (`vaultra show`), and the actions on it. */
export function RunView(props: { readonly sources: ConsoleSources; readonly run: RunRecord; readonly onVerify: (backup: LocatedBackup) => void; readonly onRestore: (backup: LocatedBackup) => void; readonly onBack: () => void }) {
  const { run } = props;
  const { loaded } = useLoad((signal) => loadBackup(props.sources, run, signal), [run.runId]);
  const [top, setTop] = useState(0);
  const { columns } = useTerminalSize();
  const backup = loaded.state === 'ready' ? loaded.value : undefined;
  const cli = backup ? cliFor.show(props.sources, run.job, run.runId) : cliFor.history(props.sources, run.job);
  const bodyRows = useBodyRows(cli);
  const lines = runLines(run, backup);
  const latest = useLatest({ backup, lastTop: Math.max(0, lines.length - bodyRows) });
  useInput((input, key) => {
    if (key.upArrow) setTop((t) => Math.max(0, t - 1));
    if (key.downArrow) setTop((t) => Math.min(latest.current.lastTop, t + 1));
    if (key.escape) props.onBack();
    const { backup: loadedBackup } = latest.current;
    if (input === 'v' && loadedBackup) props.onVerify(loadedBackup);
    if (input === 'r' && loadedBackup) props.onRestore(loadedBackup);
  });
  return (
    <Frame title={`${run.kind} ${run.runId} of ${run.job}`} environment={props.sources.environment.name} cli={cli} keys={backup ? 'run' : 'record'}>
      {loaded.state === 'failed' && <Text color="red">{loaded.error}</Text>}
      {lines.slice(top, top + bodyRows - (loaded.state === 'failed' ? 1 : 0)).map((line, i) => (
        <Text key={top + i} wrap="truncate-end">
          {clip(line, columns) || ' '}
        </Text>
      ))}
    </Frame>
  );
}
