/**
 * Interoperability of Vaultra's age v1 implementation with the reference `age` CLI, both
 * directions: X25519 recipients (one and several), identity files, passphrases (scrypt), and
 * agreement on which damaged files to refuse.
 *
 * `age -p` and passphrase decryption read the passphrase only from a terminal (age 1.1 has no
 * environment variable or flag for it), so those runs go through a pseudo-terminal driven by
 * python3's `pty` module, which answers each passphrase prompt.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgeDecryptor, AgeEncryptor } from '../../core/adapters/encryption/age-encryptor.js';
import type { AgeIdentity, AgeRecipient } from '../../core/adapters/encryption/age/age-stream.js';
import { formatIdentityFile, generateX25519Identity, parseIdentityFile, recipientOf } from '../../core/adapters/encryption/age/bech32-keys.js';
import { IntegrityError, KeyError } from '../../core/errors.js';
import { run, runOk } from '../support/exec.js';
import { requireTools } from '../support/requirements.js';

const KiB = 1024;
const CHUNK = 64 * KiB;

/** Runs a command on a pseudo-terminal and types AGE_TEST_PASSPHRASE at every passphrase prompt. */
const PTY_DRIVER = String.raw`
import os, pty, re, select, sys
passphrase = os.environ["AGE_TEST_PASSPHRASE"].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
seen, answered = b"", 0
prompt = re.compile(rb"[Pp]assphrase[^\n]*:")
while True:
    ready, _, _ = select.select([fd], [], [], 60)
    if not ready:
        os.kill(pid, 9)
        sys.stderr.write("pty driver: timed out waiting for the command\n")
        break
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    seen += data
    while len(prompt.findall(seen)) > answered:
        os.write(fd, passphrase + b"\r")
        answered += 1
_, status = os.waitpid(pid, 0)
sys.stderr.write(seen.decode("utf-8", "replace").replace(passphrase.decode(), "***"))
sys.exit(os.waitstatus_to_exitcode(status))
`;

async function through(stage: Transform, input: Buffer): Promise<Buffer> {
  const received: Buffer[] = [];
  const pieces: Buffer[] = [];
  for (let at = 0; at < input.length; at += 50_000) pieces.push(input.subarray(at, at + 50_000));
  await pipeline(
    Readable.from(pieces, { objectMode: false }),
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

const encrypt = (plaintext: Buffer, recipients: AgeRecipient[]): Promise<Buffer> => through(new AgeEncryptor(recipients).encrypt(), plaintext);
const decrypt = (file: Buffer, identities: AgeIdentity[]): Promise<Buffer> => through(new AgeDecryptor(identities).decrypt('age-v1'), file);

async function decryptError(file: Buffer, identities: AgeIdentity[]): Promise<unknown> {
  try {
    await decrypt(file, identities);
  } catch (error) {
    return error;
  }
  return undefined;
}

function expectSameBytes(actual: Buffer, expected: Buffer): void {
  expect(actual.length).toBe(expected.length);
  expect(actual.equals(expected)).toBe(true);
}

/** Sizes that exercise the STREAM edge cases: empty, one chunk, full chunks, many chunks. */
const SIZES = [0, 1, CHUNK, 2 * CHUNK, KiB * KiB + 12_345];

describe('age interop: the age CLI and Vaultra read each other\'s files', () => {
  const tools = requireTools('age', 'age-keygen');
  if (!tools) return;
  const { age, 'age-keygen': ageKeygen } = tools;

  let dir: string;
  let keygenKeyFile: string;
  let keygenRecipient: string;
  const path = (name: string): string => join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-age-interop-'));
    keygenKeyFile = path('keygen.key');
    await runOk(ageKeygen, ['-o', keygenKeyFile]);
    keygenRecipient = (await runOk(ageKeygen, ['-y', keygenKeyFile])).stdout.trim();
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each(SIZES)('age -d decrypts what Vaultra encrypts to an age-keygen recipient (%i bytes)', async (size) => {
    const plaintext = randomBytes(size);
    await writeFile(path('ours.age'), await encrypt(plaintext, [{ kind: 'x25519', recipient: keygenRecipient }]));
    // From stdout: age creates its -o file only once it has plaintext to write, so none for 0 bytes.
    expectSameBytes((await runOk(age, ['-d', '-i', keygenKeyFile, path('ours.age')])).stdoutBytes, plaintext);
  });

  it.each(SIZES)('Vaultra decrypts what age -r encrypts to a Vaultra-generated recipient (%i bytes)', async (size) => {
    const { identity, recipient } = generateX25519Identity();
    const plaintext = randomBytes(size);
    await writeFile(path('plain.bin'), plaintext);
    await runOk(age, ['-r', recipient, '-o', path('theirs.age'), path('plain.bin')]);
    expectSameBytes(await decrypt(await readFile(path('theirs.age')), [{ kind: 'x25519', identity }]), plaintext);
  });

  it('reads age-keygen key files, and age reads the identity files Vaultra writes', async () => {
    const plaintext = randomBytes(3 * CHUNK + 1);
    // age-keygen's file → Vaultra.
    const [keygenIdentity] = parseIdentityFile(await readFile(keygenKeyFile, 'utf8'));
    expect(recipientOf(keygenIdentity!)).toBe(keygenRecipient);
    await writeFile(path('plain.bin'), plaintext);
    await runOk(age, ['-r', keygenRecipient, '-o', path('theirs.age'), path('plain.bin')]);
    expectSameBytes(await decrypt(await readFile(path('theirs.age')), [{ kind: 'x25519', identity: keygenIdentity! }]), plaintext);
    // Vaultra's identity file → age, and age-keygen -y agrees on its recipient.
    const ours = generateX25519Identity();
    await writeFile(path('ours.key'), formatIdentityFile(ours.identity), { mode: 0o600 });
    expect((await runOk(ageKeygen, ['-y', path('ours.key')])).stdout.trim()).toBe(ours.recipient);
    await writeFile(path('ours.age'), await encrypt(plaintext, [{ kind: 'x25519', recipient: ours.recipient }]));
    expectSameBytes((await runOk(age, ['-d', '-i', path('ours.key'), path('ours.age')])).stdoutBytes, plaintext);
  });

  it('handles several recipients in both directions', async () => {
    const plaintext = randomBytes(KiB * KiB + 7);
    const ours = [generateX25519Identity(), generateX25519Identity()];
    const secondKeygenKey = path('keygen2.key');
    await runOk(ageKeygen, ['-o', secondKeygenKey]);
    const secondKeygenRecipient = (await runOk(ageKeygen, ['-y', secondKeygenKey])).stdout.trim();

    // Vaultra encrypts to four recipients; age decrypts with each age-keygen key alone.
    const file = await encrypt(plaintext, [
      { kind: 'x25519', recipient: ours[0]!.recipient },
      { kind: 'x25519', recipient: keygenRecipient },
      { kind: 'x25519', recipient: ours[1]!.recipient },
      { kind: 'x25519', recipient: secondKeygenRecipient },
    ]);
    await writeFile(path('multi.age'), file);
    for (const keyFile of [keygenKeyFile, secondKeygenKey]) {
      expectSameBytes((await runOk(age, ['-d', '-i', keyFile, path('multi.age')])).stdoutBytes, plaintext);
    }
    // An identity file holding a non-matching key first, as age allows.
    await writeFile(path('two.key'), formatIdentityFile(generateX25519Identity().identity) + formatIdentityFile(ours[1]!.identity));
    expectSameBytes((await runOk(age, ['-d', '-i', path('two.key'), path('multi.age')])).stdoutBytes, plaintext);

    // age encrypts to three recipients; Vaultra decrypts with either of its identities.
    await writeFile(path('plain.bin'), plaintext);
    await runOk(age, ['-r', keygenRecipient, '-r', ours[0]!.recipient, '-r', ours[1]!.recipient, '-o', path('multi-theirs.age'), path('plain.bin')]);
    const theirs = await readFile(path('multi-theirs.age'));
    for (const { identity } of ours) expectSameBytes(await decrypt(theirs, [{ kind: 'x25519', identity }]), plaintext);
    const stranger = generateX25519Identity();
    expect(await decryptError(theirs, [{ kind: 'x25519', identity: stranger.identity }])).toBeInstanceOf(KeyError);
  });

  it('agrees with age on which damaged files to refuse', async () => {
    const plaintext = randomBytes(3 * CHUNK + 500);
    const ours = generateX25519Identity();
    const file = await encrypt(plaintext, [{ kind: 'x25519', recipient: keygenRecipient }, { kind: 'x25519', recipient: ours.recipient }]);
    const headerEnd = file.indexOf('\n', file.indexOf('\n--- ') + 1) + 1;
    const payloadStart = headerEnd + 16;
    const flip = (at: number): Buffer => {
      const copy = Buffer.from(file);
      copy[at]! ^= 0x01;
      return copy;
    };
    const variants: Record<string, Buffer> = {
      'header MAC byte flipped': flip(headerEnd - 5),
      'stanza argument byte flipped': flip(file.indexOf('-> X25519 ') + 12),
      'payload nonce flipped': flip(headerEnd + 3),
      'first chunk flipped': flip(payloadStart + 100),
      'final chunk tag flipped': flip(file.length - 1),
      'last chunk dropped': file.subarray(0, file.length - 516),
      'one byte dropped': file.subarray(0, file.length - 1),
      'trailing byte': Buffer.concat([file, Buffer.from([0])]),
      'payload missing': file.subarray(0, headerEnd),
      'header cut short': file.subarray(0, headerEnd - 20),
    };
    await writeFile(path('ours.key'), formatIdentityFile(ours.identity));
    for (const [label, bytes] of Object.entries(variants)) {
      await writeFile(path('damaged.age'), bytes);
      const theirs = await run(age, ['-d', '-i', keygenKeyFile, '-o', path('damaged.out'), path('damaged.age')]);
      expect(theirs.code, `age on "${label}"`).not.toBe(0);
      const error = await decryptError(bytes, [{ kind: 'x25519', identity: ours.identity }]);
      expect(error, `Vaultra on "${label}"`).toBeInstanceOf(IntegrityError);
    }
    // And the undamaged file passes both.
    await writeFile(path('intact.age'), file);
    expectSameBytes((await runOk(age, ['-d', '-i', keygenKeyFile, path('intact.age')])).stdoutBytes, plaintext);
    expectSameBytes(await decrypt(file, [{ kind: 'x25519', identity: ours.identity }]), plaintext);
  });

  describe('passphrases (scrypt), driven through a pseudo-terminal', () => {
    const python = requireTools('python3');
    if (!python) return;
    const passphrase = 'vaultra interop passphrase \u00e9\u00e8';

    const withPassphrase = (args: string[], secret = passphrase) =>
      run(python.python3, [path('pty-age.py'), age, ...args], { env: { ...process.env, AGE_TEST_PASSPHRASE: secret }, timeoutMs: 90_000 });

    beforeAll(async () => {
      await writeFile(path('pty-age.py'), PTY_DRIVER);
    });

    it('age decrypts what Vaultra encrypts with a passphrase', async () => {
      const plaintext = randomBytes(KiB * KiB + 99);
      await writeFile(path('ours-scrypt.age'), await encrypt(plaintext, [{ kind: 'scrypt', passphrase, workFactor: 14 }]));
      const result = await withPassphrase(['-d', '-o', path('ours-scrypt.out'), path('ours-scrypt.age')]);
      expect(result.code, result.stderr).toBe(0);
      expectSameBytes(await readFile(path('ours-scrypt.out')), plaintext);
      // age refuses the wrong passphrase too, so the check above is not vacuous.
      const wrong = await withPassphrase(['-d', '-o', path('ours-scrypt.out'), path('ours-scrypt.age')], 'not it');
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toMatch(/incorrect passphrase/);
    });

    it('Vaultra decrypts what age -p encrypts (age\'s default work factor)', async () => {
      const plaintext = randomBytes(2 * CHUNK + 5);
      await writeFile(path('plain.bin'), plaintext);
      const result = await withPassphrase(['-p', '-o', path('theirs-scrypt.age'), path('plain.bin')]);
      expect(result.code, result.stderr).toBe(0);
      const file = await readFile(path('theirs-scrypt.age'));
      expect(file.toString('latin1')).toMatch(/^age-encryption\.org\/v1\n-> scrypt \S+ \d+\n/);
      expectSameBytes(await decrypt(file, [{ kind: 'scrypt', passphrase }]), plaintext);
      expect(await decryptError(file, [{ kind: 'scrypt', passphrase: 'not it' }])).toBeInstanceOf(KeyError);
    });
  });
});
