import type { Readable } from 'node:stream';
import type { ArtifactObject } from '../domain/manifest.js';
import type { ArtifactReader } from '../ports/artifact.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import { objectKeyOf } from '../domain/object-layout.js';

/**
 * Reads a backup's objects from the storage it was located in: each from the folder the manifest
 * sits in (or its job's shared area), never from a place the manifest's own fields name.
 */
export class StorageArtifactReader implements ArtifactReader {
  constructor(
    private readonly storage: StorageBackend,
    private readonly manifestKey: string,
  ) {}

  open(object: ArtifactObject, signal?: AbortSignal): Promise<Readable> {
    return this.storage.get(objectKeyOf(this.manifestKey, object), { signal });
  }
}
