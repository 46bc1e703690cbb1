/**
 * Signing for tests that drive the use cases directly: a fresh Ed25519 key per suite, the signer
 * a backup needs and the trust policy under which restore and verify accept its backups.
 * (CLI tests need nothing: each workspace's default signing key signs and is trusted.)
 */
import { LocalKeySigner } from '../../core/adapters/signing/local-key-signer.js';
import type { TrustPolicy } from '../../core/usecases/authenticate-backup.js';

export interface TestSigning {
  readonly signer: LocalKeySigner;
  readonly trust: TrustPolicy;
}

export function testSigning(signer = LocalKeySigner.generate()): TestSigning {
  return { signer, trust: { signers: [{ publicKey: signer.publicKey, label: 'the test suite key' }] } };
}
