import { pipeline } from 'node:stream/promises';
import type { ArtifactObject } from '../domain/manifest.js';
import type { ArtifactWriter, ObjectPlacement } from '../ports/artifact.js';
import type { SourceDescription } from '../ports/database-engine.js';
import type { Encryptor } from '../ports/encryptor.js';
import { rootCause } from './run-errors.js';
import type { StartedDump } from './start-dump.js';

export interface PipedDump {
  readonly source: SourceDescription;
  readonly object: ArtifactObject;
  readonly plaintextBytes: number;
}

/**
 * The stages of a backup: compressed dump → encrypt → the artifact writer (hash, count, every
 * destination). Resolves once the dump tool exited 0, every stage ended cleanly and every
 * destination stored every byte; otherwise rejects with the root cause (the describe's failure
 * first: without it there is no manifest to write), every stage torn down.
 */
export async function pipeToArtifact(
  started: StartedDump,
  encryptor: Encryptor,
  writer: ArtifactWriter,
  placement: ObjectPlacement,
  options: { readonly signal?: AbortSignal; readonly onProgress?: (progress: { bytesRaw: number; bytesStored: number }) => void } = {},
): Promise<PipedDump> {
  const { compression } = started;
  const write = writer.open(placement, options.signal);
  const report = () => options.onProgress?.({ bytesRaw: compression.plaintextBytes(), bytesStored: write.bytes() });
  const timer = options.onProgress ? setInterval(report, 250) : undefined;
  try {
    const [tap, fan] = write.stages;
    const stages = fan
      ? pipeline(compression.output, encryptor.encrypt(), tap, fan, { signal: options.signal })
      : pipeline(compression.output, encryptor.encrypt(), tap, { signal: options.signal });
    const [described, piped, feeding, ...puts] = await Promise.allSettled([started.described, stages, started.fed, ...write.stored]);
    if (described.status === 'rejected') throw described.reason;
    if (piped.status === 'rejected' || feeding.status === 'rejected' || puts.some((put) => put.status === 'rejected')) {
      throw rootCause([feeding, piped, ...puts]);
    }
    report();
    return { source: described.value, object: write.described(), plaintextBytes: compression.plaintextBytes() };
  } finally {
    clearInterval(timer);
  }
}
