import { pushLogs } from '../core/usecases/push-logs.js';
import { engineById, engineIdForUrl } from '../core/adapters/engines/engines.js';
import { openStorage } from '../core/adapters/storage/storage-registry.js';
import type { BackupSpec } from '../core/domain/backup-spec.js';
import { ConfigError } from '../core/errors.js';
import type { EngineId } from '../core/domain/engine-vocabulary.js';
import type { LogRead, LogReadOptions } from '../core/ports/log-archiver.js';
import { dumpProgress, Progress } from './progress.js';
import { formatBytes, formatDuration } from './format.js';
import { errorLine, exitCodeFor } from './exit-codes.js';
import { openStore, printFields, printJson, resolveConnection, thisHost } from './commands/shared.js';
import { openRunTools, traceOutcome, type SpecRunOutput } from './run-backup-spec.js';
import { runTracer, traceFields } from './telemetry.js';
import type { TraceSpan } from '../core/ports/run-tracer.js';
import { dbSystemOf } from '../core/domain/db-system.js';

/** What a server handed over for archiving (`archive_command`), instead of a source to read. */
export interface HandedOverLog {
  readonly engine: EngineId;
  read(options: LogReadOptions): Promise<LogRead>;
}

/**
 * Runs one log push (`vaultra logs push`, flags or `--spec`): the spec's references become the
 * engine, storages, keys and signer, then `pushLogs` reads the server's log since the archive's
 * end and stores it as a `log` run. The outcome is printed and set as `process.exitCode`.
 */
export function runLogPush(spec: BackupSpec, output: SpecRunOutput, signal: AbortSignal | undefined, handedOver?: HandedOverLog): Promise<void> {
  return runTracer().span('log push', { 'vaultra.job': spec.job, 'vaultra.run_id': spec.runId }, (span) => logPushRun(spec, output, signal, handedOver, span));
}

async function logPushRun(spec: BackupSpec, output: SpecRunOutput, signal: AbortSignal | undefined, handedOver: HandedOverLog | undefined, span: TraceSpan): Promise<void> {
  if (spec.type !== 'full' || spec.chunked || spec.chain || spec.method) throw new ConfigError('a log push stores the server\'s log as it is: its spec takes no type, chunked, chain or method');
  const source = handedOver ? undefined : await runTracer().span('resolve secrets', {}, () => resolveConnection(spec.source, signal));
  const engine = handedOver ? engineById(handedOver.engine) : engineById(engineIdForUrl(source!), spec.engine);
  const { storage, catalog } = await openStore(spec.destinations[0]!, output.catalog);
  const alsoTo = await Promise.all(spec.destinations.slice(1).map((url) => openStorage(url)));
  const { compressor, encryptor, signer } = await openRunTools(spec, { kind: 'log', catalog, engine: engine.id, location: storage.location }, () => Promise.resolve(undefined));
  const progress = new Progress('log push', output.progress && !output.json);
  const result = await pushLogs(
    { engine, storage, alsoTo, compressor, encryptor, signer, catalog, host: thisHost, tracer: runTracer() },
    {
      ...(handedOver ? { handedOver: handedOver.read } : { source: source! }),
      job: spec.job,
      ...(spec.runId ? { runId: spec.runId } : {}),
      ...(spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs }),
      ...(signal ? { signal } : {}),
      onProgress: (counts) => {
        const { bytes, detail } = dumpProgress(counts);
        progress.update(bytes, detail);
      },
    },
  );
  progress.stop();
  traceOutcome(span, result, { dbSystem: dbSystemOf(engine.id), destinations: [storage, ...alsoTo].map((destination) => destination.location) });
  const { run } = result;
  const log = run.log;
  if (output.json) {
    printJson({
      runId: run.runId,
      job: run.job,
      kind: run.kind,
      status: run.status,
      engine: run.engine,
      bytesRaw: run.bytesRaw ?? 0,
      bytesStored: run.bytesStored ?? 0,
      ...(log ? { log } : {}),
      location: run.location,
      durationMs: run.durationMs,
      ...(run.error ? { error: run.error } : {}),
      ...traceFields(),
    });
  }
  for (const problem of result.repairErrors ?? []) process.stderr.write(`vaultra: warning: ${problem}\n`);
  if (result.error !== undefined) {
    process.stderr.write(errorLine(result.error) + '\n');
    process.exitCode = exitCodeFor(result.error);
    return;
  }
  for (const warning of result.warnings ?? []) process.stderr.write(`vaultra: warning: ${warning}\n`);
  if (!output.json && log) {
    printFields(`log push ${run.runId} of job ${run.job} succeeded`, [
      ['range', `${log.kind} ${log.start} → ${log.end}${log.timeline ? ` (timeline ${log.timeline})` : ''}`],
      ['events', `${log.events ?? 'uncounted'} transaction(s)${log.firstEventAt ? `, ${log.firstEventAt} … ${log.lastEventAt}` : ''}`],
      ['covers until', log.coveredUntil],
      ['files', log.files?.length ? log.files.join(', ') : undefined],
      ['size', `${formatBytes(run.bytesRaw ?? 0)} read → ${formatBytes(run.bytesStored ?? 0)} stored`],
      ['location', run.location],
      ['took', formatDuration(run.durationMs ?? 0)],
    ]);
  }
}
