import type { Duplex, Readable, Writable } from 'node:stream';
import type { ArtifactObject, ObjectRole, ObjectScope } from '../domain/manifest.js';
import type { LeftBehind } from '../domain/run.js';

/**
 * A run's *artifact*: the named objects (sizes, digests) the pipeline produces between encryption
 * and storage, and reads back for a restore. Today one `data` object per run; the types allow
 * many per run and objects shared between runs (`scope: 'shared'`), which a chunked snapshot
 * (issue 14) needs.
 */

/** Where a new object goes and what it is for. */
export interface ObjectPlacement {
  readonly name: string;
  readonly role: ObjectRole;
  /** @default 'run' */
  readonly scope?: ObjectScope;
  /**
   * Whether `ArtifactWriter.discard` removes the object when the run fails. A new pack is shared
   * but referenced by no manifest until this run's exists, so its writer opens it discardable.
   * @default true for scope 'run', false for 'shared' (an existing shared object may be other runs')
   */
  readonly discardable?: boolean;
}

/** One object being written: the caller pipes encrypted bytes into `stages`. */
export interface ObjectWrite {
  /** Stages to end the caller's pipeline with: they count and hash the bytes and feed every destination. */
  readonly stages: readonly [Duplex] | readonly [Duplex, Writable];
  /** One per destination, resolving once it stored every byte. A rejection has already torn `stages` down. */
  readonly stored: readonly Promise<void>[];
  /** Bytes passed so far (for progress). */
  bytes(): number;
  /** The object as the manifest lists it; only once `stages` ended and every `stored` resolved. */
  described(): ArtifactObject;
}

/**
 * Writes an artifact's objects to every destination at once (the slowest sets the pace), and
 * removes them again for a run that fails.
 */
export interface ArtifactWriter {
  /** Starts writing one object; `signal` aborts every destination's upload. */
  open(placement: ObjectPlacement, signal?: AbortSignal): ObjectWrite;
  /**
   * Removes every discardable object this writer stored (run-folder objects, and shared ones
   * opened with `discardable: true`), in every destination that has it. Other shared objects
   * stay: other runs may reference them. Never rejects: a failed run is already failing with
   * its own cause. Resolves to what it could not remove (a write-only backup identity may not
   * delete), each with who removes it later, for the failed run's record.
   */
  discard(): Promise<LeftBehind[]>;
}

/** Reads the objects of a located backup back, each from where its manifest says it lives. */
export interface ArtifactReader {
  /** The stored (encrypted) bytes of `object`, unverified: see openBackupStages for the checks. */
  open(object: ArtifactObject, signal?: AbortSignal): Promise<Readable>;
}
