import type { ArtifactObject, BackupType, Manifest, SnapshotSummary } from '../domain/manifest.js';
import type { LogRange } from '../domain/log-archive.js';
import { encodeManifest } from '../domain/manifest-codec.js';
import type { Compressor } from '../ports/compressor.js';
import type { SourceDescription, ToolVersion } from '../ports/database-engine.js';
import type { Encryptor } from '../ports/encryptor.js';
import { VAULTRA_VERSION } from '../version.js';

/** What a finished run knows, for its manifest. */
export interface ManifestFacts {
  readonly job: string;
  readonly runId: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly source: SourceDescription;
  readonly dump: { readonly tool: ToolVersion; readonly format: string; readonly consistency: string; readonly details?: Readonly<Record<string, string>> };
  /** The compression (of the whole dump, or of each chunk). */
  readonly compressor: Pick<Compressor, 'id' | 'level' | 'implementation'>;
  readonly encryptor: Encryptor;
  readonly plaintextBytes: number;
  readonly objects: readonly ArtifactObject[];
  /** @default 'full' */
  readonly type?: BackupType;
  readonly baseRunId?: string;
  /** A chunked snapshot's summary. */
  readonly snapshot?: SnapshotSummary;
  /** A log run's range (point-in-time recovery). */
  readonly log?: LogRange;
}

/** The run's manifest, and the exact bytes to sign and store (the newest manifest version). */
export function buildManifest(facts: ManifestFacts): { readonly manifest: Manifest; readonly text: string } {
  const { source, dump, compressor, encryptor } = facts;
  return encodeManifest({
    type: facts.type ?? 'full',
    ...(facts.baseRunId ? { baseRunId: facts.baseRunId } : {}),
    ...(facts.snapshot ? { snapshot: facts.snapshot } : {}),
    ...(facts.log ? { log: facts.log } : {}),
    runId: facts.runId,
    job: facts.job,
    startedAt: facts.startedAt.toISOString(),
    finishedAt: facts.finishedAt.toISOString(),
    source: { engine: source.engine, database: source.database, serverVersion: source.serverVersion },
    dump: { tool: dump.tool.name, toolVersion: dump.tool.version, format: dump.format, consistency: dump.consistency, ...(dump.details ? { details: { ...dump.details } } : {}) },
    compression: { id: compressor.id, level: compressor.level, implementation: compressor.implementation },
    encryption: { format: encryptor.format, recipients: [...encryptor.recipients] },
    plaintextBytes: facts.plaintextBytes,
    objects: [...facts.objects],
    contents: [...source.contents],
    vaultraVersion: VAULTRA_VERSION,
  });
}
