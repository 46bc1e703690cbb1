/**
 * The `vaultra-kms` stanza against the reference `age` CLI, with the file key wrapped by AWS KMS
 * on moto: `age -d -i` opens a file that also has an X25519 recipient (it skips the stanza it
 * does not know, as the age spec requires), and refuses cleanly — never crashes on the stanza —
 * when the KMS stanza is the only way in. Vaultra opens the same files through KMS alone.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgeDecryptor, AgeEncryptor } from '../../core/adapters/encryption/age-encryptor.js';
import { formatIdentityFile, generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import { AwsKmsKeyService } from '../../core/adapters/keys/aws-kms-key-service.js';
import { run, runOk } from '../support/exec.js';
import { motoClientConfig } from '../support/moto-clients.js';
import { requireMoto, requireTools } from '../support/requirements.js';

async function through(stage: Transform, input: Buffer): Promise<Buffer> {
  const received: Buffer[] = [];
  await pipeline(
    Readable.from([input]),
    stage,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        received.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(received);
}

describe('vaultra-kms files and the age CLI (AWS KMS on moto)', () => {
  const moto = requireMoto();
  const tools = requireTools('age');
  if (!moto || !tools) return;

  const keys = new AwsKmsKeyService({ clientFor: (region) => new KMSClient(motoClientConfig(moto, region ?? moto.region)) });
  const kmsIdentity = { kind: 'kms', allowed: ['aws-kms'], keyServiceFor: async () => keys } as const;
  let dir = '';
  let keyId = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-kms-age-'));
    keyId = (await new KMSClient(motoClientConfig(moto)).send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each([0, 1, 64 * 1024, 300_001])('age -d -i opens a KMS + X25519 file with the identity; Vaultra opens it through KMS (%i bytes)', async (size) => {
    const { identity, recipient } = generateX25519Identity();
    const identityFile = join(dir, `id-${size}.key`);
    await writeFile(identityFile, formatIdentityFile(identity), { mode: 0o600 });
    const plaintext = randomBytes(size);
    const file = await through(
      new AgeEncryptor([
        { kind: 'kms', keyService: keys, keyId },
        { kind: 'x25519', recipient },
      ]).encrypt(),
      plaintext,
    );
    const path = join(dir, `both-${size}.age`);
    await writeFile(path, file);
    expect((await runOk(tools.age, ['-d', '-i', identityFile, path])).stdoutBytes.equals(plaintext)).toBe(true);
    expect((await through(new AgeDecryptor([kmsIdentity]).decrypt('age-v1'), await readFile(path))).equals(plaintext)).toBe(true);
  });

  it('age refuses a KMS-only file with a "no identity matched" error, not a parse error', async () => {
    const { identity } = generateX25519Identity();
    const identityFile = join(dir, 'stranger.key');
    await writeFile(identityFile, formatIdentityFile(identity), { mode: 0o600 });
    const path = join(dir, 'kms-only.age');
    await writeFile(path, await through(new AgeEncryptor([{ kind: 'kms', keyService: keys, keyId }]).encrypt(), randomBytes(1000)));
    const refused = await run(tools.age, ['-d', '-i', identityFile, path]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/no identity matched/i);
  });
});
