/**
 * The manifest codec (core/domain/manifest-codec.ts): every version ever written reads into the
 * one model, this version writes v3, and a manifest from a newer Vaultra is refused in one line
 * that says what to do. The committed v1 fixtures are the v1 bytes read here.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { decodeManifest, encodeManifest, WRITTEN_VERSION } from '../../core/domain/manifest-codec.js';
import { manifestV1Schema, type Manifest } from '../../core/domain/manifest.js';
import { objectKeyOf } from '../../core/domain/object-layout.js';
import { StorageArtifactWriter } from '../../core/pipeline/artifact-writer.js';
import { StorageArtifactReader } from '../../core/pipeline/artifact-reader.js';
import { storedSizes } from '../../core/usecases/read-backup.js';
import { MemoryStorageBackend } from '../fakes/memory-storage.js';

const store = fileURLToPath(new URL('../fixtures/v1/store/', import.meta.url));
/** Every committed v1 manifest: [its key, its bytes]. */
const v1Manifests = (readdirSync(store, { recursive: true }) as string[])
  .filter((path) => path.endsWith('/manifest.json'))
  .map((key) => [key, readFileSync(join(store, key))] as const);

describe('manifest codec', () => {
  it('reads every committed v1 manifest into the model, unchanged', () => {
    expect(v1Manifests.length).toBeGreaterThanOrEqual(3);
    for (const [key, bytes] of v1Manifests) {
      const manifest = decodeManifest(bytes, key);
      expect(manifest).toEqual(JSON.parse(bytes.toString('utf8')));
      expect(manifest.schema).toBe('vaultra.manifest/v1');
    }
  });

  it('writes v3, which reads back as the same model, objects in the run folder saying nothing of where they live', () => {
    const [key, bytes] = v1Manifests[0]!;
    const { schema: _v1, ...facts } = decodeManifest(bytes, key);
    const { manifest, text } = encodeManifest({ ...facts, type: 'full' });
    expect(WRITTEN_VERSION).toBe('vaultra.manifest/v3');
    expect(manifest).toEqual({ ...facts, type: 'full', schema: 'vaultra.manifest/v3' });
    expect(decodeManifest(Buffer.from(text), key)).toEqual(manifest);
    expect(JSON.parse(text).objects[0]).not.toHaveProperty('scope');
  });

  it('reads a v3 manifest with an object in the shared area, and finds that object in <job>/shared/', () => {
    const [key, bytes] = v1Manifests[0]!;
    const { schema: _v1, ...facts } = decodeManifest(bytes, key);
    const shared = { name: 'pack-0001', role: 'data' as const, sizeBytes: 3, sha256: 'a'.repeat(64), scope: 'shared' as const };
    const { text } = encodeManifest({ ...facts, type: 'full', objects: [...facts.objects, shared] });
    const manifest = decodeManifest(Buffer.from(text), key);
    expect(manifest.objects[1]).toEqual(shared);
    expect(objectKeyOf(key, shared)).toBe(`${key.split('/')[0]}/shared/pack-0001`);
    expect(objectKeyOf(key, manifest.objects[0]!)).toBe(key.replace(/manifest\.json$/, manifest.objects[0]!.name));
  });

  it('refuses what v1 never allowed in a v1 manifest: a scope', () => {
    const [key, bytes] = v1Manifests[0]!;
    const edited = JSON.parse(bytes.toString('utf8')) as Manifest;
    edited.objects[0] = { ...edited.objects[0]!, scope: 'shared' };
    expect(() => decodeManifest(Buffer.from(JSON.stringify(edited)), key)).toThrow(/is not a valid manifest \(objects\.0/);
    expect(manifestV1Schema.safeParse(edited).success).toBe(false);
  });

  it('refuses a manifest of a newer Vaultra in one line that says to upgrade', () => {
    const [key, bytes] = v1Manifests[0]!;
    const newer = { ...(JSON.parse(bytes.toString('utf8')) as object), schema: 'vaultra.manifest/v4', somethingNew: true };
    expect(() => decodeManifest(Buffer.from(JSON.stringify(newer)), key)).toThrow(`${key} was written by a newer Vaultra (vaultra.manifest/v4; this one reads up to v3): upgrade Vaultra to read it`);
  });

  it('refuses damage and unknown versions as damage', () => {
    expect(() => decodeManifest(Buffer.from('{"schema"'), 'k')).toThrow('k is not valid JSON: the manifest was damaged');
    expect(() => decodeManifest(Buffer.from('{"schema":"something/v1"}'), 'k')).toThrow(/k is not a valid manifest \(schema:/);
  });
});

describe('artifact writer and reader on a memory storage (fake backend)', () => {
  it('writes an object to every destination, describes it, reads it back from where the manifest says, and discards run objects only', async () => {
    const a = new MemoryStorageBackend();
    const b = new MemoryStorageBackend();
    const folder = 'job/2026/12/06/20261206T134506.916Z-ac1235';
    const writer = new StorageArtifactWriter([a, b], folder);
    const written = [];
    for (const placement of [{ name: 'data.bin', role: 'data' as const }, { name: 'pack-1', role: 'data' as const, scope: 'shared' as const }]) {
      const write = writer.open(placement);
      const [tap, fan] = write.stages;
      const body = Readable.from([Buffer.from('hello '), Buffer.from('world')]);
      await Promise.all([fan ? pipeline(body, tap, fan) : pipeline(body, tap), ...write.stored]);
      written.push(write.described());
    }
    expect(written.map((o) => o.sizeBytes)).toEqual([11, 11]);
    expect(written[1]).toMatchObject({ scope: 'shared' });
    const backup = { manifestKey: `${folder}/manifest.json`, manifest: { objects: written } as Manifest };
    for (const storage of [a, b]) {
      expect([...(await storedSizes(storage, backup)).values()]).toEqual([11, 11]);
      const chunks: Buffer[] = [];
      for await (const chunk of await new StorageArtifactReader(storage, backup.manifestKey).open(written[1]!)) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('hello world');
    }
    await writer.discard();
    // The run's own object is gone; the shared one may be another run's too, so it stays.
    expect([...(await storedSizes(a, backup)).values()]).toEqual([undefined, 11]);
  });
});
