import { Command, Option } from 'commander';
import type { Manifest, SnapshotSummary } from '../../core/domain/manifest.js';
import type { ContentEntry } from '../../core/ports/database-engine.js';
import { locateBackup } from '../../core/usecases/locate-backup.js';
import { dataObjectOf } from '../../core/usecases/read-backup.js';
import { DEFAULT_STORAGE } from '../context.js';
import { formatBytes, formatDumpDetails, formatDuration, printableName } from '../format.js';
import { catalogOption, openStore, printFields, printJson, positiveInteger, signalOf } from './shared.js';
import type { Catalog } from '../../core/ports/catalog.js';
import type { RunRecord } from '../../core/domain/run.js';
import { NotFoundError } from '../../core/errors.js';
import { runLogReaderFor } from '../run-log-readers.js';
import { logLineText, noLogText, phaseLines } from '../run-record-lines.js';

interface ShowOptions {
  from: string;
  catalog?: string;
  job?: string;
  json?: boolean;
  log?: boolean;
  lines: string;
}

/** How many of a run's last log lines `--log` prints unless `--lines` says otherwise. */
const DEFAULT_LOG_LINES = 200;

/**
 * `vaultra show <runId>`: what a backup holds and how it was made, from its manifest alone —
 * no key needed, nothing decrypted. The contents list is what `restore --tables/--paths` picks from.
 */
export function showCommand(): Command {
  return new Command('show')
    .description('print a backup\'s manifest: source, tools, compression, encryption and its contents list')
    .argument('<runId|latest>', 'the run to show, or latest')
    .addOption(new Option('--from <storage-url>', 'where the backups are').default(DEFAULT_STORAGE).env('VAULTRA_STORAGE'))
    .option('--job <name>', 'the job, when the storage holds several')
    .addOption(catalogOption())
    .option('--json', 'print the manifest itself (JSON) on stdout; with --log, the run record and its log lines')
    .option('--log', "print the run's record, its timings per phase and its log lines instead: any run in the catalog (failed, a restore, a verify)")
    .option('--lines <n>', `with --log: how many of the log's last lines (default ${DEFAULT_LOG_LINES})`, String(DEFAULT_LOG_LINES))
    .addHelpText(
      'after',
      `
Examples:
  vaultra show latest --from file:///srv/backups              the latest backup's manifest and contents
  vaultra show 20261122T043134.860Z-bc8df3 --job shop --log    that run's record, timings and log (even a failed run)

A run's log is kept beside a local catalog (<catalog>/<job>/<runId>.log) for backups, restores,
verifies and drills: the lines the run printed, redacted like its errors, at most 256 KiB (then
its last lines). A restore or verify prints its own run id on its "run" line.`,
    )
    .action(async (ref: string, options: ShowOptions, command: Command) => {
      const signal = signalOf(command);
      const store = await openStore(options.from, options.catalog);
      if (options.log) return showRunLog(store, ref, options, signal);
      const backup = await locateBackup(store.storage, { ref, job: options.job }, signal);
      const { manifest } = backup;
      if (options.json) return printJson(manifest);
      printFields(`${manifest.log ? 'log run' : 'backup'} ${backup.runId} of job ${backup.job}`, describeManifest(manifest));
      process.stdout.write(`\ncontents (${manifest.contents.length}):\n${formatContents(manifest.contents)}\n`);
      // The manifest is in storage, the timings in the catalog's record: a catalog without it (rebuilt, another machine) shows none.
      const timings = phaseLines((await store.catalog.get(backup.job, backup.runId, signal ? { signal } : {})) ?? {});
      if (timings.length > 0) process.stdout.write(`\ntimings:\n${timings.map((line) => `  ${line}`).join('\n')}\n`);
    });
}

/** `show --log`: a run's record, its phase timings and the last lines of its log. */
async function showRunLog(store: { catalog: Catalog; localCatalogDir?: string }, ref: string, options: ShowOptions, signal: AbortSignal | undefined): Promise<void> {
  const limit = positiveInteger(options.lines, '--lines');
  const run = await recordedRunOf(store.catalog, ref, options.job, signal);
  const lines = await runLogReaderFor(store)?.read(run, { limit, ...(signal ? { signal } : {}) });
  if (options.json) return printJson({ run, log: lines ?? null });
  printFields(`${run.kind} ${run.runId} of job ${run.job} ${run.status}`, [
    ['started', run.startedAt],
    ['took', run.durationMs === undefined ? undefined : formatDuration(run.durationMs)],
    ['error', run.error ? `${run.error.kind}: ${run.error.message}` : undefined],
    ['location', run.location],
  ]);
  const timings = phaseLines(run);
  if (timings.length > 0) process.stdout.write(`\ntimings:\n${timings.map((line) => `  ${line}`).join('\n')}\n`);
  process.stdout.write(lines?.length ? `\nlog (last ${lines.length} line(s)):\n${lines.map((line) => `  ${logLineText(line)}`).join('\n')}\n` : `\nlog: ${noLogText(lines)}\n`);
}

/** The run `ref` names in the catalog: a run id (of `job`, when given), or `latest`, the newest run of any kind. */
async function recordedRunOf(catalog: Catalog, ref: string, job: string | undefined, signal: AbortSignal | undefined): Promise<RunRecord> {
  const io = signal ? { signal } : {};
  const found = ref === 'latest' ? (await catalog.list({ ...(job ? { job } : {}), limit: 1 }, io))[0] : job ? await catalog.get(job, ref, io) : (await catalog.list({}, io)).find((run) => run.runId === ref);
  if (!found) throw new NotFoundError(`no run ${ref}${job ? ` of job ${job}` : ''} in the catalog: vaultra list --all shows the runs it holds (with --catalog, if it is not beside the storage)`);
  return found;
}

/** The manifest as `label  value` fields: what `vaultra show` prints, and the console's run screen too. */
export function describeManifest(manifest: Manifest): [string, string | undefined][] {
  const durationMs = Date.parse(manifest.finishedAt) - Date.parse(manifest.startedAt);
  return [
    ['taken', `${manifest.startedAt} (${formatDuration(durationMs)})`],
    ['source', `${manifest.source.engine} ${manifest.source.database} (server ${manifest.source.serverVersion})`],
    ['dump', `${manifest.dump.tool} ${manifest.dump.toolVersion}, ${manifest.dump.format}`],
    ['consistency', manifest.dump.consistency],
    ['log range', manifest.log ? `${manifest.log.kind} ${manifest.log.start} → ${manifest.log.end}, ${manifest.log.events ?? 'uncounted'} transaction(s)${manifest.log.firstEventAt ? ` committed ${manifest.log.firstEventAt} … ${manifest.log.lastEventAt}` : ''}; covers until ${manifest.log.coveredUntil}${manifest.log.gapFrom ? `; GAP before it: the server had purged its log from ${manifest.log.gapFrom}` : ''}` : undefined],
    ['details', formatDumpDetails(manifest.dump.details)],
    ['compression', `${manifest.compression.id} level ${manifest.compression.level} (${manifest.compression.implementation})`],
    ['encryption', describeEncryption(manifest)],
    ...(manifest.snapshot ? snapshotFields(manifest, manifest.snapshot) : singleObjectFields(manifest)),
    ['vaultra', manifest.vaultraVersion],
  ];
}

function singleObjectFields(manifest: Manifest): [string, string | undefined][] {
  const object = dataObjectOf(manifest);
  return [
    ['size', `${formatBytes(manifest.plaintextBytes)} raw, ${formatBytes(object.sizeBytes)} stored`],
    ['object', `${object.name} sha256 ${object.sha256}`],
  ];
}

/** A chunked snapshot: its type and base, what it references and what it added, its index. */
function snapshotFields(manifest: Manifest, snapshot: SnapshotSummary): [string, string | undefined][] {
  const index = manifest.objects.find((object) => object.role === 'index')!;
  const packs = manifest.objects.filter((object) => object.role === 'pack').length;
  return [
    ['type', `${manifest.type ?? 'full'}, chunked (${snapshot.layout}, ${snapshot.streams} stream(s))${manifest.baseRunId ? `; base ${manifest.baseRunId}` : ''}`],
    ['size', `${formatBytes(manifest.plaintextBytes)} raw in ${snapshot.chunks} chunks, ${formatBytes(snapshot.storedBytes)} stored in ${packs} pack(s); this run added ${snapshot.newChunks} chunks, ${formatBytes(snapshot.newStoredBytes)}`],
    ['chunks', `${snapshot.chunker.algorithm} ${formatBytes(snapshot.chunker.minBytes)}/${formatBytes(snapshot.chunker.avgBytes)}/${formatBytes(snapshot.chunker.maxBytes)}, ids ${snapshot.chunkIds.algorithm} under dedup key ${snapshot.chunkIds.keyId}`],
    ['index', `${index.name} sha256 ${index.sha256}`],
  ];
}

function describeEncryption(manifest: Manifest): string {
  if (manifest.encryption.format === 'none') return 'none';
  const recipients = manifest.encryption.recipients.map((r) =>
    r.type === 'x25519' ? r.recipient : r.type === 'scrypt' ? `passphrase (scrypt work factor ${r.workFactor})` : `${r.service} key ${r.keyId}`,
  );
  return `${manifest.encryption.format} to ${recipients.join(', ')}`;
}

/** One aligned line per entry: kind, name, and the counts the engine recorded. */
export function formatContents(contents: readonly ContentEntry[]): string {
  if (contents.length === 0) return '  (empty)';
  const names = contents.map((c) => printableName(c.schema ? `${c.schema}.${c.name}` : c.name));
  const kindWidth = Math.max(...contents.map((c) => c.kind.length));
  const nameWidth = Math.max(...names.map((n) => n.length));
  return contents
    .map((entry, i) => {
      const counts = [
        entry.rows !== undefined ? `${entry.rowsExact === false ? '~' : ''}${entry.rows} ${entry.kind === 'collection' ? 'document(s)' : 'row(s)'}` : '',
        entry.files !== undefined && entry.kind === 'directory' ? `${entry.files} file(s)` : '',
        entry.bytes !== undefined && entry.kind !== 'symlink' ? formatBytes(entry.bytes) : '',
      ].filter(Boolean);
      return `  ${entry.kind.padEnd(kindWidth)}  ${names[i]!.padEnd(nameWidth)}  ${counts.join(', ')}`.trimEnd();
    })
    .join('\n');
}
