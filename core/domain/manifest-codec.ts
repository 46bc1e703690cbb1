import { ConfigError, IntegrityError } from '../errors.js';
import { manifestV1Schema, manifestV2Schema, manifestV3Schema, type Manifest } from './manifest.js';

/**
 * The manifest's bytes, both ways. Readers for every version ever written turn stored bytes into
 * the one in-memory `Manifest`; the writer writes the newest version only. The signature covers
 * the exact stored bytes (sign-manifest.ts), so a manifest is never re-encoded once written.
 *
 * Adding a version: its schema in manifest.ts, a line in `readers`, `WRITTEN_VERSION` moved on.
 */
const readers = {
  'vaultra.manifest/v1': manifestV1Schema,
  'vaultra.manifest/v2': manifestV2Schema,
  'vaultra.manifest/v3': manifestV3Schema,
} as const;

type ManifestVersion = keyof typeof readers;

/** What this version writes. */
export const WRITTEN_VERSION: ManifestVersion = 'vaultra.manifest/v3';

const VERSION_PATTERN = /^vaultra\.manifest\/v(\d+)$/;
const newestKnown = Math.max(...Object.keys(readers).map((version) => Number(VERSION_PATTERN.exec(version)![1])));

/**
 * Parses a stored manifest (`where` names it in errors). Rejects with `IntegrityError` when the
 * bytes are not a valid manifest of a known version, and with `ConfigError` when they are one of a
 * version newer than this Vaultra reads: that backup is fine, this program is too old.
 */
export function decodeManifest(bytes: Buffer, where: string): Manifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new IntegrityError(`${where} is not valid JSON: the manifest was damaged`);
  }
  const version = typeof parsed === 'object' && parsed !== null && 'schema' in parsed ? parsed.schema : undefined;
  const newer = typeof version === 'string' ? VERSION_PATTERN.exec(version) : null;
  if (newer && Number(newer[1]) > newestKnown) {
    throw new ConfigError(`${where} was written by a newer Vaultra (${version}; this one reads up to v${newestKnown}): upgrade Vaultra to read it`);
  }
  // An unknown or missing version is checked against the newest schema, which names what is wrong.
  const schema = typeof version === 'string' && version in readers ? readers[version as ManifestVersion] : readers[WRITTEN_VERSION];
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new IntegrityError(`${where} is not a valid manifest (${issue?.path.join('.') || 'root'}: ${issue?.message})`);
  }
  return result.data;
}

/**
 * The bytes to store for `manifest`, in the newest version, and the manifest as a reader will see
 * them. Throws (a bug, never a user's input) if the manifest is not valid.
 */
export function encodeManifest(manifest: Omit<Manifest, 'schema'>): { readonly manifest: Manifest; readonly text: string } {
  const written = manifestV3Schema.parse({ ...manifest, schema: WRITTEN_VERSION });
  return { manifest: written, text: JSON.stringify(written, null, 2) + '\n' };
}
