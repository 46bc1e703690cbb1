/**
 * Signing for tests.
 *
 * - `testSigning()`: for tests that drive the use cases directly, a fresh Ed25519 key per suite,
 *   the signer a backup needs and the trust policy under which restore and verify accept its
 *   backups. (CLI tests need nothing for that: each workspace's default signing key signs and is
 *   trusted.)
 * - `writeResignedManifest()`: for CLI tests that edit a manifest to prove the data checks behind
 *   the signature (a genuine signer's wrong manifest, or `--allow-unsigned`): the edited manifest
 *   is signed again with the workspace's own signing key, so the signature check passes and the
 *   data checks are what refuse it.
 */
import { LocalKeySigner } from '../../core/adapters/signing/local-key-signer.js';
import { signatureKeyOf } from '../../core/domain/manifest-signature.js';
import { parseManifestKey } from '../../core/domain/object-layout.js';
import type { TrustPolicy } from '../../core/usecases/authenticate-backup.js';
import { sha256Hex, signManifest } from '../../core/usecases/sign-manifest.js';
import { defaultSigningKeyPath, readSigningKeyFile } from '../../runner/signing-keys.js';

export interface TestSigning {
  readonly signer: LocalKeySigner;
  readonly trust: TrustPolicy;
}

export function testSigning(signer = LocalKeySigner.generate()): TestSigning {
  return { signer, trust: { signers: [{ publicKey: signer.publicKey, label: 'the test suite key' }] } };
}

/**
 * Writes `manifest` at `key` as a buggy writer holding the workspace's signing key would: its
 * signature first (made by the project's own signing code, bound to the folder `key` names), then
 * the manifest. The key is the one the CLI signs with and trusts in that workspace: the default
 * signing key beside its identity (`VAULTRA_IDENTITY`), created by the workspace's first backup.
 */
export async function writeResignedManifest(
  store: { write(key: string, bytes: Buffer | string): Promise<void> },
  workspace: { readonly env: NodeJS.ProcessEnv },
  key: string,
  manifest: Buffer | string,
): Promise<void> {
  const folder = parseManifestKey(key);
  if (!folder) throw new Error(`${key} is not a manifest key`);
  const signer = await readSigningKeyFile(defaultSigningKeyPath(workspace.env));
  const bytes = Buffer.from(manifest);
  await store.write(signatureKeyOf(key), await signManifest(signer, { ...folder, manifestKey: key, manifestSha256: sha256Hex(bytes) }));
  await store.write(key, bytes);
}
