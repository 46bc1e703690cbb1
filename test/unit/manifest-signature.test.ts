/**
 * Manifest signatures without any service: the signed payload's exact bytes, the signer key
 * texts, local Ed25519 and P-256 signers, the P1363 → DER conversion Key Vault needs, and
 * authenticate-backup.ts (the one place restore and verify ask "is this backup genuine?") over an
 * in-memory store: genuine, missing, untrusted, tampered, copied and edited manifests.
 */
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LocalKeySigner, formatSigningKeyFile, parseSigningKeyFile } from '../../core/adapters/signing/local-key-signer.js';
import { p1363ToDer } from '../../core/adapters/signing/ecdsa-der.js';
import type { Manifest } from '../../core/domain/manifest.js';
import { signatureKeyOf, signedPayload } from '../../core/domain/manifest-signature.js';
import { manifestKey, runFolder } from '../../core/domain/object-layout.js';
import { parseSignerKeyPem, parseSignerKeyText, signerPublicKeyOf, verifySignature } from '../../core/domain/signer-keys.js';
import { IntegrityError, KeyError, UntrustedBackupError } from '../../core/errors.js';
import { authenticateBackup, type TrustPolicy } from '../../core/usecases/authenticate-backup.js';
import { locateBackup } from '../../core/usecases/locate-backup.js';
import { sha256Hex, signManifest } from '../../core/usecases/sign-manifest.js';
import { MemoryStorageBackend } from '../fakes/memory-storage.js';

const RUN = '20261122T031502.123Z-3f9c2a';
const OTHER_RUN = '20261123T031502.123Z-aaaaaa';
const RECIPIENT = 'age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40';

function manifestOf(job: string, runId: string, overrides: Partial<Manifest> = {}): Manifest {
  return {
    schema: 'vaultra.manifest/v1',
    runId,
    job,
    startedAt: '2026-11-22T03:15:02.123Z',
    finishedAt: '2026-11-22T03:15:09.000Z',
    source: { engine: 'directory', database: '/srv/uploads', serverVersion: 'GNU tar 1.34' },
    dump: { tool: 'tar', toolVersion: '1.34', format: 'tar', consistency: 'files read one by one' },
    compression: { id: 'zstd', level: 3, implementation: 'zstd-cli' },
    encryption: { format: 'age-v1', recipients: [{ type: 'x25519', recipient: RECIPIENT }] },
    plaintextBytes: 10_240,
    objects: [{ name: 'data.tar.zst.age', role: 'data', sizeBytes: 2048, sha256: 'a'.repeat(64) }],
    contents: [],
    vaultraVersion: '0.0.0-test',
    ...overrides,
  };
}

const put = (storage: MemoryStorageBackend, key: string, text: string | Buffer) => storage.put(key, Readable.from([Buffer.from(text)]));

/** What backup.ts writes: the signature, then the manifest. */
async function writeSignedBackup(storage: MemoryStorageBackend, signer: LocalKeySigner, job: string, runId: string, manifest = manifestOf(job, runId)): Promise<string> {
  const text = JSON.stringify(manifest, null, 2) + '\n';
  const key = manifestKey(job, runId);
  await put(storage, signatureKeyOf(key), await signManifest(signer, { job, runId, manifestKey: key, manifestSha256: sha256Hex(text) }));
  await put(storage, key, text);
  return text;
}

const trusting = (...signers: LocalKeySigner[]): TrustPolicy => ({ signers: signers.map((s, i) => ({ publicKey: s.publicKey, label: `key ${i}` })) });

describe('the signed payload', () => {
  it('is one fixed byte form: purpose, version, job, run id, key and manifest hash, no whitespace', () => {
    const payload = signedPayload({ job: 'shop', runId: RUN, manifestKey: manifestKey('shop', RUN), manifestSha256: 'b'.repeat(64) });
    expect(payload.toString('utf8')).toBe(
      `{"purpose":"vaultra.manifest-signature","v":1,"job":"shop","runId":"${RUN}","manifestKey":"shop/2026/11/22/${RUN}/manifest.json","manifestSha256":"${'b'.repeat(64)}"}`,
    );
  });

  it('refuses fields that do not belong together or could escape the JSON text', () => {
    const ok = { job: 'shop', runId: RUN, manifestKey: manifestKey('shop', RUN), manifestSha256: 'b'.repeat(64) };
    expect(() => signedPayload({ ...ok, manifestKey: manifestKey('billing', RUN) })).toThrow();
    expect(() => signedPayload({ ...ok, job: 'sh"op' })).toThrow();
    expect(() => signedPayload({ ...ok, manifestSha256: 'B'.repeat(64) })).toThrow();
  });
});

describe('signer keys and local signers', () => {
  it('an Ed25519 key file round-trips, names its public key, and signs what verifySignature accepts', async () => {
    const signer = LocalKeySigner.generate();
    const text = formatSigningKeyFile(signer);
    expect(text).toContain(`# public key: ${signer.publicKey.text}`);
    expect(signer.keyId).toMatch(/^ed25519:MCowBQYDK2VwAyEA[A-Za-z0-9+/]{43}=$/);
    const again = parseSigningKeyFile(text, 'k.pem');
    expect(again.keyId).toBe(signer.keyId);
    const payload = Buffer.from('payload');
    const signature = await again.sign(payload);
    expect(signature).toHaveLength(64);
    expect(verifySignature(parseSignerKeyText(signer.keyId), 'ed25519', payload, signature)).toBe(true);
    expect(verifySignature(parseSignerKeyText(signer.keyId), 'ed25519', Buffer.from('payloaD'), signature)).toBe(false);
    expect(verifySignature(parseSignerKeyText(signer.keyId), 'ecdsa-p256-sha256', payload, signature)).toBe(false);
  });

  it('a P-256 key signs DER ECDSA over SHA-256, which openssl-style verification accepts', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signer = new LocalKeySigner(privateKey);
    expect(signer.algorithm).toBe('ecdsa-p256-sha256');
    expect(signer.keyId.startsWith('ecdsa-p256:MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE')).toBe(true);
    const signature = await signer.sign(Buffer.from('payload'));
    expect(signature[0]).toBe(0x30);
    expect(verify('sha256', Buffer.from('payload'), publicKey, signature)).toBe(true);
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(parseSignerKeyPem(pem).text).toBe(signer.keyId);
  });

  it('refuses other key types, mislabelled and damaged key texts, and a public key where a signing key is expected', () => {
    expect(() => signerPublicKeyOf(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey)).toThrow(KeyError);
    const ed = LocalKeySigner.generate().keyId;
    expect(() => parseSignerKeyText(ed.replace('ed25519:', 'ecdsa-p256:'))).toThrow(/holds a ed25519 key/);
    expect(() => parseSignerKeyText('ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).toThrow(KeyError);
    expect(() => parseSignerKeyText('age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40')).toThrow(KeyError);
    expect(() => parseSigningKeyFile(`# public key: ${ed}\n`, 'pub.txt')).toThrow(/holds no signing key/);
  });

  it('P1363 (Key Vault) signatures convert to the DER the other services return, whatever their leading bytes', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    let sawHighBit = false;
    for (let i = 0; i < 300; i++) {
      const data = Buffer.from(`message ${i}`);
      const raw = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      sawHighBit ||= (raw[0]! & 0x80) !== 0;
      expect(verify('sha256', data, { key: publicKey, dsaEncoding: 'der' }, p1363ToDer(raw))).toBe(true);
    }
    expect(sawHighBit).toBe(true);
    // Hand-made edge cases: a component with leading zero bytes, and the all-zero-but-one minimum.
    const edge = Buffer.concat([Buffer.alloc(31), Buffer.from([1]), Buffer.from([0x80]), Buffer.alloc(31, 0xff)]);
    expect(p1363ToDer(edge).toString('hex')).toBe(`3026020101022100${'80'}${'ff'.repeat(31)}`);
    expect(() => p1363ToDer(Buffer.alloc(63))).toThrow(KeyError);
  });
});

describe('authenticateBackup (in-memory store)', () => {
  const setup = async () => {
    const storage = new MemoryStorageBackend('auth');
    const mine = LocalKeySigner.generate();
    await writeSignedBackup(storage, mine, 'shop', RUN);
    const backup = await locateBackup(storage, { ref: RUN });
    return { storage, mine, backup };
  };

  it('a backup signed by a trusted key is verified, naming the key and how it is trusted', async () => {
    const { storage, mine, backup } = await setup();
    const result = await authenticateBackup(storage, backup, trusting(LocalKeySigner.generate(), mine), { action: 'restore' });
    expect(result).toEqual({ verified: true, keyId: mine.keyId, trustedAs: 'key 1', manifestSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('refuses, with UntrustedBackupError naming the run: no signature, another key, no trusted key at all', async () => {
    const { storage, mine, backup } = await setup();
    const stranger = LocalKeySigner.generate();
    await expect(authenticateBackup(storage, backup, trusting(stranger), { action: 'restore' })).rejects.toSatisfy(
      (error: unknown) => error instanceof UntrustedBackupError && error.message.includes(RUN) && error.message.includes(`signed by ${mine.keyId}, which is not a trusted signer`) && /refusing to restore it/.test(error.message),
    );
    await expect(authenticateBackup(storage, backup, { signers: [] }, { action: 'verify' })).rejects.toThrow(/no signer is trusted here/);
    await storage.delete(signatureKeyOf(backup.manifestKey));
    await expect(authenticateBackup(storage, backup, trusting(mine), { action: 'verify' })).rejects.toThrow(/has no signature \(manifest\.json\.sig is missing\); refusing to verify it/);
  });

  it('a forged backup (manifest rewritten, signature made with another key, keyId claiming mine) is refused as altered', async () => {
    const storage = new MemoryStorageBackend('forged');
    const mine = LocalKeySigner.generate();
    const forger = LocalKeySigner.generate();
    await writeSignedBackup(storage, forger, 'shop', RUN);
    const sigKey = signatureKeyOf(manifestKey('shop', RUN));
    const chunks: Buffer[] = [];
    for await (const chunk of await storage.get(sigKey)) chunks.push(chunk as Buffer);
    const forgedSig = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, string>;
    await put(storage, sigKey, JSON.stringify({ ...forgedSig, keyId: mine.keyId }));
    const backup = await locateBackup(storage, { ref: RUN });
    await expect(authenticateBackup(storage, backup, trusting(mine), { action: 'restore' })).rejects.toThrow(/does not verify with the trusted key key 0: the manifest or its signature was altered/);
  });

  it('a manifest edited after signing, or a flipped signature byte, is refused', async () => {
    const { storage, mine, backup } = await setup();
    const edited = manifestOf('shop', RUN, { plaintextBytes: 1 });
    await put(storage, backup.manifestKey, JSON.stringify(edited, null, 2) + '\n');
    const relocated = await locateBackup(storage, { ref: RUN });
    await expect(authenticateBackup(storage, relocated, trusting(mine), { action: 'restore' })).rejects.toThrow(/made for other manifest bytes: the manifest was changed after it was signed/);

    const fresh = await setup();
    const sigKey = signatureKeyOf(fresh.backup.manifestKey);
    const chunks: Buffer[] = [];
    for await (const chunk of await fresh.storage.get(sigKey)) chunks.push(chunk as Buffer);
    const file = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { signature: string };
    const bytes = Buffer.from(file.signature, 'base64');
    bytes[10]! ^= 1;
    await put(fresh.storage, sigKey, JSON.stringify({ ...file, signature: bytes.toString('base64') }));
    await expect(authenticateBackup(fresh.storage, fresh.backup, trusting(fresh.mine), { action: 'verify' })).rejects.toThrow(/does not verify with the trusted key/);
    await put(fresh.storage, sigKey, '{"schema":"vaultra.signature/v1"');
    await expect(authenticateBackup(fresh.storage, fresh.backup, trusting(fresh.mine), { action: 'verify' })).rejects.toThrow(/signature file is not valid JSON/);
  });

  it('a genuine manifest and signature copied into another run folder or job are refused: first by the location check, and by the signature on its own', async () => {
    const { storage, mine, backup } = await setup();
    const original = await writeSignedBackup(storage, mine, 'shop', RUN);
    const sig: Buffer[] = [];
    for await (const chunk of await storage.get(signatureKeyOf(manifestKey('shop', RUN)))) sig.push(chunk as Buffer);
    for (const [job, runId] of [
      ['shop', OTHER_RUN],
      ['billing', RUN],
    ] as const) {
      const key = manifestKey(job, runId);
      await put(storage, signatureKeyOf(key), Buffer.concat(sig));
      await put(storage, key, original);
      // What restore and verify do: readManifest refuses a manifest that is not its folder's.
      await expect(locateBackup(storage, { ref: runId, job })).rejects.toThrow(IntegrityError);
      await expect(locateBackup(storage, { ref: runId, job })).rejects.toThrow(/does not match its folder/);
      // Without that check, the signature still names the folder it was made for.
      const copied = { job, runId, manifestKey: key, manifest: backup.manifest, manifestSha256: backup.manifestSha256 };
      await expect(authenticateBackup(storage, copied, trusting(mine), { action: 'restore' })).rejects.toThrow(
        new RegExp(`made for "shop/2026/11/22/${RUN}/manifest.json", not ${runFolder(job, runId)}/manifest.json: the manifest was copied from another run folder`),
      );
    }
  });

  it('a genuine signature beside a manifest written for its new folder is refused: the signature names where it was made', async () => {
    const { storage, mine } = await setup();
    const sig: Buffer[] = [];
    for await (const chunk of await storage.get(signatureKeyOf(manifestKey('shop', RUN)))) sig.push(chunk as Buffer);
    for (const [job, runId] of [
      ['shop', OTHER_RUN],
      ['billing', RUN],
    ] as const) {
      const key = manifestKey(job, runId);
      await put(storage, signatureKeyOf(key), Buffer.concat(sig));
      await put(storage, key, JSON.stringify(manifestOf(job, runId), null, 2) + '\n');
      const located = await locateBackup(storage, { ref: runId, job });
      await expect(authenticateBackup(storage, located, trusting(mine), { action: 'verify' })).rejects.toSatisfy(
        (error: unknown) => error instanceof UntrustedBackupError && error.message.includes(`not ${runFolder(job, runId)}/manifest.json: the manifest was copied from another run folder`),
      );
    }
  });

  it('allowUnsigned accepts what it would refuse, says why, and calls onUnproven once with a loud line', async () => {
    const { storage, backup } = await setup();
    const lines: string[] = [];
    const result = await authenticateBackup(storage, backup, { signers: [], allowUnsigned: true, onUnproven: (line) => lines.push(line) }, { action: 'restore' });
    expect(result).toMatchObject({ verified: false, reason: expect.stringMatching(/no signer is trusted/) });
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^WARNING: backup ${RUN} of job shop is NOT AUTHENTICATED: .*restoring it anyway: anyone who can write to memory://auth could have made this backup$`))]);
  });

  it('checks the bytes it located: a manifest replaced after locating cannot borrow their signature', async () => {
    const { storage, mine, backup } = await setup();
    // Someone writes another manifest (and its own valid signature) after the backup was located.
    await writeSignedBackup(storage, LocalKeySigner.generate(), 'shop', RUN, manifestOf('shop', RUN, { plaintextBytes: 99 }));
    // The located manifest's digest is what is checked, so its signature no longer matches the file beside it.
    await expect(authenticateBackup(storage, backup, trusting(mine), { action: 'verify' })).rejects.toBeInstanceOf(UntrustedBackupError);
  });
});
