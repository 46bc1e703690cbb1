import { Command, Option } from 'commander';
import type { Manifest, SnapshotSummary } from '../../core/domain/manifest.js';
import type { ContentEntry } from '../../core/ports/database-engine.js';
import { locateBackup } from '../../core/usecases/locate-backup.js';
import { dataObjectOf } from '../../core/usecases/read-backup.js';
import { DEFAULT_STORAGE } from '../context.js';
import { formatBytes, formatDuration } from '../format.js';
import { openStore, printFields, printJson, signalOf } from './shared.js';

interface ShowOptions {
  from: string;
  job?: string;
  json?: boolean;
}

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
    .option('--json', 'print the manifest itself (JSON) on stdout')
    .action(async (ref: string, options: ShowOptions, command: Command) => {
      const { storage } = await openStore(options.from);
      const backup = await locateBackup(storage, { ref, job: options.job }, signalOf(command));
      const { manifest } = backup;
      if (options.json) return printJson(manifest);
      printFields(`${manifest.log ? 'log run' : 'backup'} ${backup.runId} of job ${backup.job}`, describeManifest(manifest));
      process.stdout.write(`\ncontents (${manifest.contents.length}):\n${formatContents(manifest.contents)}\n`);
    });
}

/** The manifest as `label  value` fields: what `vaultra show` prints, and the console's run screen too. */
export function describeManifest(manifest: Manifest): [string, string | undefined][] {
  const durationMs = Date.parse(manifest.finishedAt) - Date.parse(manifest.startedAt);
  const details = Object.entries(manifest.dump.details ?? {}).map(([key, value]) => `${key}=${value}`);
  return [
    ['taken', `${manifest.startedAt} (${formatDuration(durationMs)})`],
    ['source', `${manifest.source.engine} ${manifest.source.database} (server ${manifest.source.serverVersion})`],
    ['dump', `${manifest.dump.tool} ${manifest.dump.toolVersion}, ${manifest.dump.format}`],
    ['consistency', manifest.dump.consistency],
    ['log range', manifest.log ? `${manifest.log.kind} ${manifest.log.start} → ${manifest.log.end}, ${manifest.log.events ?? 'uncounted'} transaction(s)${manifest.log.firstEventAt ? ` committed ${manifest.log.firstEventAt} … ${manifest.log.lastEventAt}` : ''}; covers until ${manifest.log.coveredUntil}${manifest.log.gapFrom ? `; GAP before it: the server had purged its log from ${manifest.log.gapFrom}` : ''}` : undefined],
    ['details', details.length ? details.join(', ') : undefined],
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
  const names = contents.map((c) => (c.schema ? `${c.schema}.${c.name}` : c.name));
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
