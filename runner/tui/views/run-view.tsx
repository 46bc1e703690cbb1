import { useState } from 'react';
import { Text, useInput } from 'ink';
import type { RunRecord } from '../../../core/domain/run.js';
import type { LocatedBackup } from '../../../core/usecases/locate-backup.js';
import { describeManifest, formatContents } from '../../commands/show-command.js';
import { formatBytes, formatDuration } from '../../format.js';
import { clip, RUN_STATUS } from '../cells.js';
import { cliFor } from '../cli-equivalent.js';
import type { ConsoleSources } from '../console-data.js';
import { loadRunDetails, type RunDetails } from '../run-details.js';
import { logLineText, noLogText, phaseLines } from '../../run-record-lines.js';
import { Frame, useBodyRows } from './frame.js';
import { useTerminalSize } from './terminal-size.js';
import { useLoad } from './use-load.js';
import { useLatest } from './use-selection.js';

/** `label  value` lines, aligned like the CLI's. */
function fieldLines(fields: readonly (readonly [string, string | undefined])[]): string[] {
  const width = Math.max(...fields.map(([label]) => label.length));
  return fields.filter(([, value]) => value !== undefined).map(([label, value]) => `${label.padEnd(width)}  ${value}`);
}

/**
 * What the run screen says: the catalog's record, then (for a stored backup) its manifest with
 * its signer and contents, as `vaultra show` prints them; then the run's timings per phase and the
 * last lines of its log, as `vaultra show --log` prints them.
 */
export function runLines(run: RunRecord, details: RunDetails | undefined): string[] {
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
  const backup = details?.backup;
  const manifest = backup
    ? [
        '',
        'manifest',
        ...fieldLines([...describeManifest(backup.manifest), ...signatureFields(details.signature)]).map((line) => `  ${line}`),
        '',
        `contents (${backup.manifest.contents.length})`,
        ...formatContents(backup.manifest.contents).split('\n'),
      ]
    : [];
  const timings = phaseLines(run);
  return [...lines, ...manifest, ...(timings.length ? ['', 'timings', ...timings.map((line) => `  ${line}`)] : []), ...(details ? logBlock(details) : [])];
}

/** Whether the trust a verify uses accepts the manifest's signature, and whose key made it (whole, on its own line: it is what `--trust` is compared with). */
function signatureFields(signature: RunDetails['signature']): [string, string][] {
  if (!signature) return [['signature', 'checking…']];
  if ('unchecked' in signature) return [['signature', `not checked: ${signature.unchecked}`]];
  if (signature.verified) return [['signature', `✔ verified, trusted as ${signature.trustedAs}`], ['signed by', signature.keyId]];
  // Not refused here: a verify (v) or restore (r) refuses it, unless told to allow it.
  return [['signature', `✘ NOT trusted: ${signature.reason}`]];
}

function logBlock(details: RunDetails): string[] {
  if (details.logError) return ['', 'log', `  could not be read: ${details.logError}`];
  const { log } = details;
  if (!log?.length) return ['', `log: ${noLogText(log)}`];
  return ['', `log (last ${log.length} line(s), all with vaultra show --log)`, ...log.map((line) => `  ${logLineText(line)}`)];
}

/** One run: its record, manifest, signer and contents list (`vaultra show`), timings and log (`vaultra show --log`), and the actions on it. */
export function RunView(props: { readonly sources: ConsoleSources; readonly run: RunRecord; readonly onVerify: (backup: LocatedBackup) => void; readonly onRestore: (backup: LocatedBackup) => void; readonly onBack: () => void }) {
  const { run } = props;
  const { loaded } = useLoad((signal) => loadRunDetails(props.sources, run, signal), [run.runId]);
  const [top, setTop] = useState(0);
  const { columns } = useTerminalSize();
  const details = loaded.state === 'ready' ? loaded.value : undefined;
  const backup = details?.backup;
  // A stored backup's screen is mostly its manifest (`show`); any other run's is its record and log (`show --log`).
  const cli = backup ? cliFor.show(props.sources, run.job, run.runId) : cliFor.runLog(props.sources, run.job, run.runId);
  const bodyRows = useBodyRows(cli);
  const lines = runLines(run, details);
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
