/**
 * Manifest signing with an asymmetric AWS KMS key (ECC_NIST_P256, SIGN_VERIFY), on moto: the
 * adapter (`Sign` ECDSA_SHA_256 over the raw payload, `GetPublicKey`), its refusals as KeyErrors
 * naming the key, and the CLI: `--signing-key aws-kms:<arn>` at backup; a restore that trusts the
 * key by name (`--trust aws-kms:<arn>`, one GetPublicKey), or by its exported public key with no
 * KMS reachable at all.
 */
import { createPublicKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateKeyCommand, GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsKmsSigner } from '../../core/adapters/signing/aws-kms-signer.js';
import { kmsSignerFor } from '../../core/adapters/signing/signers.js';
import { signerPublicKeyOf, verifySignature } from '../../core/domain/signer-keys.js';
import { KeyError } from '../../core/errors.js';
import { runVaultra } from '../support/cli.js';
import type { BackupJson } from '../support/cli-json.js';
import { motoClientConfig, otherAccount } from '../support/moto-clients.js';
import { createSqliteFixture } from '../support/sqlite-fixtures.js';
import { requireMoto, requireTools } from '../support/requirements.js';
import { makeWorkspace } from '../support/workspace.js';

describe('AwsKmsSigner on moto', () => {
  const moto = requireMoto();
  if (!moto) return;

  const kms = new KMSClient(motoClientConfig(moto));
  const signer = (keyId: string, client = kms) => new AwsKmsSigner(keyId, { clientFor: () => client });
  const newSigningKey = async (): Promise<string> =>
    (await kms.send(new CreateKeyCommand({ Description: 'vaultra signing test', KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.Arn!;

  it('signs with ECDSA_SHA_256 (DER) what the fetched public key verifies locally; the key id names the key', async () => {
    const arn = await newSigningKey();
    const keys = signer(arn);
    expect(keys.keyId).toBe(`aws-kms:${arn}`);
    const payload = randomBytes(300);
    const signature = await keys.sign(payload);
    expect(signature[0]).toBe(0x30);
    const publicKey = await keys.publicKey();
    expect(publicKey.algorithm).toBe('ecdsa-p256-sha256');
    expect(verifySignature(publicKey, 'ecdsa-p256-sha256', payload, signature)).toBe(true);
    expect(verifySignature(publicKey, 'ecdsa-p256-sha256', randomBytes(300), signature)).toBe(false);
    // The public key is the one KMS holds.
    const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: arn }));
    expect(publicKey.text).toBe(signerPublicKeyOf(createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' })).text);
    expect((await kmsSignerFor(`aws-kms:${arn}`)).keyId).toBe(`aws-kms:${arn}`);
  });

  it('refuses, naming the key: a symmetric key, a missing key, a caller from another account, a malformed id', async () => {
    const symmetric = (await kms.send(new CreateKeyCommand({ Description: 'vaultra symmetric' }))).KeyMetadata!.Arn!;
    const refused = (promise: Promise<unknown>, key: string, pattern: RegExp) => expect(promise).rejects.toSatisfy((e: unknown) => e instanceof KeyError && e.message.includes(key) && pattern.test(e.message));
    await refused(signer(symmetric).publicKey(), symmetric, /is a SYMMETRIC_DEFAULT( ENCRYPT_DECRYPT)? key: Vaultra signs with an ECC_NIST_P256 SIGN_VERIFY key/);
    await refused(signer(symmetric).sign(randomBytes(10)), symmetric, /ECC_NIST_P256 SIGN_VERIFY/);
    const missing = `arn:aws:kms:${moto.region}:123456789012:key/00000000-0000-4000-8000-00000000dead`;
    await refused(signer(missing).sign(randomBytes(10)), missing, /not found/);
    const arn = await newSigningKey();
    const outsider = new KMSClient((await otherAccount(moto)).config);
    // KMS answers AccessDenied; moto looks the key up in the caller's own account and answers NotFound.
    await refused(signer(arn, outsider).sign(randomBytes(10)), arn, /access denied to kms:Sign|not found/);
    expect(() => new AwsKmsSigner('my key')).toThrow(KeyError);
  });
});

describe('signing with AWS KMS through the CLI (moto)', () => {
  const moto = requireMoto();
  const tools = requireTools('sqlite3', 'zstd');
  if (!moto || !tools) return;

  let root = '';
  let source = '';
  let arn = '';
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-kms-sign-'));
    source = join(root, 'app.db');
    await createSqliteFixture(source);
    arn = (await new KMSClient(motoClientConfig(moto)).send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.Arn!;
  });
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('--signing-key aws-kms:<arn> signs; restore trusts it by name, or by its public key with no KMS reachable; untrusted it is refused', async () => {
    const ws = makeWorkspace(root, 'kms', { ...moto.env });
    const taken = await runVaultra(['backup', `sqlite:${source}`, '--to', ws.storeUrl, '--signing-key', `aws-kms:${arn}`, '--json', '--no-progress'], { env: ws.env });
    expect(taken.code, taken.stderr).toBe(0);
    const run = JSON.parse(taken.stdout) as BackupJson & { signedBy: string };
    expect(run.signedBy).toBe(`aws-kms:${arn}`);
    const folder = fileURLToPath(run.location);
    const signature = JSON.parse(readFileSync(join(folder, 'manifest.json.sig'), 'utf8')) as { algorithm: string; keyId: string };
    expect(signature).toMatchObject({ algorithm: 'ecdsa-p256-sha256', keyId: `aws-kms:${arn}` });
    // No local signing key was made: KMS signed.
    expect(readdirSync(join(ws.dir, 'config', 'vaultra'))).toEqual(['identity.txt']);

    const restore = (name: string, extra: string[], env: NodeJS.ProcessEnv = {}) =>
      runVaultra(['restore', run.runId, '--from', ws.storeUrl, '--target', `sqlite:${join(ws.dir, `${name}.db`)}`, '--no-progress', ...extra], { env: { ...ws.env, ...env } });
    const refused = await restore('untrusted', []);
    expect(refused.code, refused.stderr).toBe(8);
    expect(refused.stderr).toContain(`it is signed by aws-kms:${arn}, and no signer is trusted here`);

    const byName = await restore('by-name', ['--trust', `aws-kms:${arn}`]);
    expect(byName.code, byName.stderr).toBe(0);

    // The exported public key (what `aws kms get-public-key` gives, as one line) needs no KMS at all.
    const publicKey = await new AwsKmsSigner(arn, { clientFor: () => new KMSClient(motoClientConfig(moto)) }).publicKey();
    const trustFile = join(ws.dir, 'trusted.txt');
    writeFileSync(trustFile, `# the prod stack's signing key\n${publicKey.text}\n`);
    const offline = await restore('offline', ['--trust', trustFile], { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined });
    expect(offline.code, offline.stderr).toBe(0);
  });
});
