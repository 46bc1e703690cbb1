/**
 * The age v1 format on node:crypto: round trips through the streams, the exact byte layout,
 * and every way a file can be malformed, altered or truncated. Malformed files are built by a
 * small independent writer below (modelled on the C2SP CCTV age testkit scenarios), which uses
 * node:crypto directly rather than the implementation under test. Two known-answer files made
 * by the real `age` 1.1.1 CLI pin interoperability without needing the tool at test time.
 */
import {
  createCipheriv,
  createHash,
  createHmac,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  scryptSync,
  type KeyObject,
} from 'node:crypto';
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { bech32 } from '@scure/base';
import { describe, expect, it } from 'vitest';
import { AgeDecryptor, AgeEncryptor, NoEncryptor } from '../../core/adapters/encryption/age-encryptor.js';
import { createAgeDecryptStream, createAgeEncryptStream, MAX_HEADER_BYTES, type AgeIdentity, type AgeRecipient } from '../../core/adapters/encryption/age/age-stream.js';
import { decodeBase64, encodeBase64 } from '../../core/adapters/encryption/age/base64.js';
import {
  decodeIdentity,
  decodeRecipient,
  formatIdentityFile,
  generateX25519Identity,
  parseIdentityFile,
  recipientOf,
} from '../../core/adapters/encryption/age/bech32-keys.js';
import { encodeHeader, parseHeader } from '../../core/adapters/encryption/age/header.js';
import { ConfigError, IntegrityError, KeyError } from '../../core/errors.js';

const KiB = 1024;
const CHUNK = 64 * KiB;
const SEALED_CHUNK = CHUNK + 16;

// ---------------------------------------------------------------------------------------------
// Stream helpers

/** Deterministic sizes for splitting input into writes, so a failure reproduces. */
function sizes(seed: number, max: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % max) + 1;
  };
}

type Split = number | (() => number);

function split(data: Buffer, by: Split = 64 * KiB): Buffer[] {
  const next = typeof by === 'number' ? () => by : by;
  const pieces: Buffer[] = [];
  for (let at = 0; at < data.length; ) {
    const size = next();
    pieces.push(data.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

interface Outcome {
  readonly output: Buffer;
  readonly error: unknown;
}

/** Everything `stage` passed on, and how it ended. */
async function through(stage: Transform, pieces: readonly Buffer[]): Promise<Outcome> {
  const received: Buffer[] = [];
  let error: unknown;
  try {
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
  } catch (caught) {
    error = caught;
  }
  return { output: Buffer.concat(received), error };
}

async function encrypt(plaintext: Buffer, recipients: AgeRecipient[], by?: Split): Promise<Buffer> {
  const { output, error } = await through(createAgeEncryptStream(recipients), split(plaintext, by));
  if (error) throw error;
  return output;
}

async function decrypt(file: Buffer, identities: AgeIdentity[], by?: Split): Promise<Buffer> {
  const { output, error } = await through(createAgeDecryptStream(identities), split(file, by));
  if (error) throw error;
  return output;
}

function decryptOutcome(file: Buffer, identities: AgeIdentity[], by?: Split): Promise<Outcome> {
  return through(createAgeDecryptStream(identities), split(file, by));
}

const x25519Recipient = (recipient: string): AgeRecipient => ({ kind: 'x25519', recipient });
const x25519Identity = (identity: string): AgeIdentity => ({ kind: 'x25519', identity });

/** Where the payload starts (after the header and the 16-byte nonce). */
function payloadOffset(file: Buffer): number {
  const macLine = file.indexOf('\n---');
  return file.indexOf('\n', macLine + 1) + 1 + 16;
}

/** Byte equality without vitest's element-by-element diff (slow and unreadable for large buffers). */
function expectBytes(actual: Buffer, expected: Buffer | undefined, label = 'bytes'): void {
  expect(expected).toBeDefined();
  if (actual.equals(expected as Buffer)) return;
  let at = 0;
  while (at < actual.length && actual[at] === (expected as Buffer)[at]) at++;
  expect.fail(`${label}: got ${actual.length} bytes, expected ${(expected as Buffer).length}; first difference at byte ${at}`);
}

const HEADER_FAILURE = /invalid age header|not an age v1|unsupported age format/;
const MAC_FAILURE = /bad MAC/;
const PAYLOAD_FAILURE = /^age payload/;
const NO_MATCH = /no identity matched/;

function expectError(error: unknown, type: typeof IntegrityError | typeof KeyError | typeof ConfigError, message: RegExp): void {
  expect(error).toBeInstanceOf(type);
  expect((error as Error).message).toMatch(message);
  expect((error as Error).message).not.toContain('\n');
}

// ---------------------------------------------------------------------------------------------
// An independent age writer, for building exact (and exactly wrong) files

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64').replace(/=+$/, '');

function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, 32));
}

function seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

interface TestKey {
  readonly identity: string;
  readonly recipient: string;
  readonly publicKey: KeyObject;
  readonly publicBytes: Buffer;
}

function testKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const secret = Buffer.from(jwk.d as string, 'base64url');
  const publicBytes = Buffer.from(jwk.x as string, 'base64url');
  return {
    identity: bech32.encode('age-secret-key-', bech32.toWords(secret)).toUpperCase(),
    recipient: bech32.encode('age', bech32.toWords(publicBytes)),
    publicKey,
    publicBytes,
  };
}

class TestFile {
  private header = 'age-encryption.org/v1\n';
  private readonly tail: Buffer[] = [];
  private payloadKey: Buffer = Buffer.alloc(32);
  private counter = 0;

  constructor(readonly fileKey: Buffer = Buffer.from('YELLOW SUBMARINE')) {}

  line(text: string): this {
    this.header += `${text}\n`;
    return this;
  }

  intro(text: string): this {
    this.header = `${text}\n`;
    return this;
  }

  args(...args: string[]): this {
    return this.line(['->', ...args].join(' '));
  }

  body(bytes: Uint8Array): this {
    let rest = Buffer.from(bytes);
    for (;;) {
      const line = rest.subarray(0, 48);
      this.line(b64(line));
      rest = rest.subarray(line.length);
      if (line.length < 48) return this;
    }
  }

  /** An X25519 stanza for `key`; `tweak` may change the share, type or wrapped key before writing. */
  x25519(key: TestKey, tweak: { type?: string; extraArg?: string; fileKey?: Buffer } = {}): this {
    const ephemeral = generateKeyPairSync('x25519');
    const share = Buffer.from(ephemeral.publicKey.export({ format: 'jwk' }).x as string, 'base64url');
    const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: key.publicKey });
    const wrapKey = hkdf(shared, Buffer.concat([share, key.publicBytes]), 'age-encryption.org/v1/X25519');
    const args = [tweak.type ?? 'X25519', b64(share), ...(tweak.extraArg ? [tweak.extraArg] : [])];
    return this.args(...args).body(seal(wrapKey, Buffer.alloc(12), tweak.fileKey ?? this.fileKey));
  }

  scrypt(passphrase: string, workFactor: number, tweak: { salt?: Buffer; workFactorText?: string; fileKey?: Buffer } = {}): this {
    const salt = tweak.salt ?? randomBytes(16);
    const key = scryptSync(passphrase, Buffer.concat([Buffer.from('age-encryption.org/v1/scrypt'), salt]), 32, {
      N: 2 ** workFactor,
      r: 8,
      p: 1,
    });
    return this.args('scrypt', b64(salt), tweak.workFactorText ?? String(workFactor)).body(seal(key, Buffer.alloc(12), tweak.fileKey ?? this.fileKey));
  }

  /** The correct MAC (base64) for the header so far. */
  macValue(): string {
    const key = hkdf(this.fileKey, Buffer.alloc(0), 'header');
    return b64(createHmac('sha256', key).update(`${this.header}---`, 'latin1').digest());
  }

  mac(): this {
    return this.line(`--- ${this.macValue()}`);
  }

  nonce(nonce: Buffer = randomBytes(16)): this {
    this.tail.push(nonce);
    this.payloadKey = hkdf(this.fileKey, nonce, 'payload');
    return this;
  }

  chunk(plaintext: Buffer, last = false): this {
    const nonce = Buffer.alloc(12);
    nonce.writeUIntBE(this.counter++, 5, 6);
    nonce[11] = last ? 1 : 0;
    this.tail.push(seal(this.payloadKey, nonce, plaintext));
    return this;
  }

  /** Leaves a gap in the chunk counter. */
  skipChunk(): this {
    this.counter++;
    return this;
  }

  raw(bytes: Buffer): this {
    this.tail.push(bytes);
    return this;
  }

  bytes(): Buffer {
    return Buffer.concat([Buffer.from(this.header, 'latin1'), ...this.tail]);
  }
}

/** A non-canonical encoding of the same bytes: the last character's spare low bit set. */
function notCanonical(encoded: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  return encoded.slice(0, -1) + alphabet[alphabet.indexOf(encoded.slice(-1)) + 1];
}

// ---------------------------------------------------------------------------------------------
// Known answers from the real age 1.1.1 CLI

/** The identity of the C2SP CCTV age testkit; `age-keygen -y` prints the recipient below. */
const CCTV_IDENTITY = 'AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0';
const CCTV_RECIPIENT = 'age1xmwwc06ly3ee5rytxm9mflaz2u56jjj36s0mypdrwsvlul66mv4q47ryef';
const KAT_PLAINTEXT = Buffer.concat(
  Array.from({ length: 25 }, (_, i) => Buffer.from(`vaultra age known-answer test, line ${String(i).padStart(4, '0')}\n`)),
);
const KAT_PASSPHRASE = 'correct horse battery staple';
// `age -r <CCTV_RECIPIENT> -r <another recipient> -o kat-x25519.age kat.txt`
const KAT_X25519_FILE = [
  'YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBCM3NHZjJBVCtwU2xnK25JYnFZL01BTnU5',
  'a0VtVWhFUGZPdGlnUHM5eGhrCmU5LzZpS1hJRWMrMkhJbEZtL2dzRjRHd2RMRHFxenBVYWoyb2hp',
  'ZHFOZUEKLT4gWDI1NTE5IFhvQzUxZzhMSkVaS3crK3VsbVQ3SHVwSDdBdDM5Y0NlMngzcWk0TWtH',
  'azQKNWo2TGVLekQ0Q21yRzVsLzBCRnRkTG05Zy9uNTFWb3krZStKRHQ3REpvbwotLS0gVlhyZlR4',
  'ZlBwbWtFbWxOOUNYTTJNbnZCQlM1dTNMN0dCUlpRTFdhczZPMAo6VJZUFmqb+QyxjozV+/vVteUL',
  '7YmyvpXMDG4zPvnSUV/u8ehbTRAOpnrwiHxCyJn+CnyH9WElbq2fyY5SytMY4WIAWVh96alpFJXp',
  'lmewPy/LOgRfs1t7+2xzH5KyJSF24gXgFER68GrtPFDaIlP8XRtXeyuW8Emy7kbXe3LIAzMvp+Y3',
  'Nh3JpvTAijwaz4IwNrz+ZvIaxQheLcNW/LK2ujqoEJqwbK0wwY7u3O7yHAhLC9+UpEj9M/9KkEgo',
  'fkYMznNpa9tZ6d65fdHcJRN44EuavmdloYPXyA+s/xVrAXQoaS5An7EuyDwUZo6wLEeIuRhMiPlG',
  'B09QMYK0YGfR/msqP38TFRe83hBbNAUQauVuoFa+BKG4w1Tl8m7uyn+J+eFtBRaSOvN3PXVoF+gF',
  'si3ziaOcru3b0yIcfjUjfqlEPTnuj02U8ruu9t+AfkIkNlZkj63Nj7mZSevRkqu5hWPVTjxZzCfc',
  'uObUBnH6eC3+NBY0g5g5+1kRw0EJltTaeTnOiLCUIlKBafyLbcrSkM2mg6wVWhfBaLYvRoxnt2ff',
  'W2rn84emD9QXu50JyyLyB0tfh8tFnSIDL24tqdCIglO7hybtUqk0fG/uyGGimhMqXjCFFLurD+F+',
  'WKxw/yEp2LOmu2USRcH5SrR3B3MiOhfFnkjz97Mg4Sgrr3aqAT6Q2XDZ+HyY35dGHNUsgGo13BDo',
  'YOeo1wmmVk9PNsle8TTlfri5p9qUd7JGbP6B7xm3u1V6R1GxVuHjFKOGT92qrYayND7qOk2uYyo5',
  'LcIs3RSv8E7RhuRf1MDid8h59iD+ashPWkFOz6qpIM2hnwQnourWMuhGPbnwcPLSOChSz5OZTwzh',
  'Y1AClIJ92AOOcKUQJttvruVd2nKbCbcLCQq+DXTxTOnXnjn+m82jegu7rbvzF4xFzVRU2zJZ6D+G',
  'rcd+lT+7eBI/tQa2wU3skDb8F4OGIC/Y+aSf2eu+xmldRRvaFwnetmIfH6993euF05mNfqGts3bG',
  'eNvHXRT/bpb2IIGfJ4gLEbT4pjJeFG9BkXJFN2sdsdN0h587W2P4cspnQykrxBeHkfJIvoMW831v',
  'h/vxzK6kuISWJW/NSzXXYm1bItXZ1ogp13vZGxhw+7tPeL10Gz/b0iqcBctDskVBT/mwgFfps7LQ',
  'WB3Y/WsSX01Swlck1rYfR3pzfwDlkSQO9LIpb2mug54ahgqIUvhSLmDXEVNJY5XCMW9NZVGn+lZb',
  'SIwUELP9GgN8LLNsascdpd6hfW0TXlQZCHhCUsSvmSIwIXofsf23SOXqkDnTYi+vvRyBMgCtyamL',
  'BzBzxFQfqs4P4kjm/9z5J4H3z6ksCvYVBauQ4HobJuyI37SGGYT2wGPyyj/UDeqqBDe0bLvkIhQq',
  '/4cMqPg8UgA033nJ',
].join('');

// `age -p -o kat-scrypt.age kat.txt` (passphrase KAT_PASSPHRASE, age's default work factor 18)
const KAT_SCRYPT_FILE = [
  'YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IHNjcnlwdCBVZllSZmYvSzNlZHJqUk16TnZHN0N3IDE4',
  'CnhDVWdpUUhjMW90bnkyMFVjNDAxQWRYWExpU1d5cyswUU5XeWk3Y0lZa2MKLS0tIGhjK2lNVWNa',
  'cVhPVVZKc3NzSGlhcWw0a3FJRWRBVW9RVmdTbHNGNVB5dHcKtV7OgS1Tef+NmNhT/wtxXNx47PQA',
  '3rvKdkQ5EHSEyhKS4/apuRiMl4XvpJZKhq+2vH2x3jLSy4W/omwJyFNRDceJQ3ygMlKdq6NRfFKr',
  'XXS6HlA3dBMY7nhQCKDu1eiB5vg++yC7IQG8z1Yq5YTjaUPAAH01uSb56N+/Gvzm4hF3fi0QSQFU',
  'Mjyp+8BSJCUR7i48Za9oDIJJ+mWpWCt2jEYiZqFF+VWfvqf89XZ/289ZbrxwpV0IQJ5dmv5C4XZp',
  'wijHZuzj58wTuTYOh5500OiKnWKNre0OkLI4AGwR59o2h/KSaTDLe0CORQ3ARFVfh9aVnS14yk4F',
  'METHwK3a5/FOozK4Jo7L8PDqknywKx0TmMCPLalSaYANMB8sKH9yo7uITGynCWMSAul/MmqYyH/Y',
  'ZlsvqYRa6UszgcQtt5fERrdixhC0p3gNRXPMUR7F+010gl3lFMeWdeO3lMgloOaFNOjhmDJquVby',
  '9CiPKFde7ujWY/obQIgxBkGXuA2LVvy9F0o70cB9QSv1y2FGrh4XLHlhWTexfc3u2ByHByO+ukny',
  'v5yCoD0VDhanrX45rvkdCc5IevbUPizyj+hGng2M0NFJvzzIJQCYsHubyOZ88jBjSkmnPHEN6aYj',
  'cTzb78bEs5HmxTgFamXdkyDNX7Q2O4vOAjwNtA54LqXO91a72XaKWRlbp6Uranlv2VOk6lS739g/',
  'bfXh86mGD0c1BjdlJ9Wt7UfbmuJzeetaWFAnKd3J0bURnlhd+/5uxv1jSwqMGl18BIKtUFDsVvWI',
  'GzG3VBCiP5KxAB1eOoxw6NYjHHWwPuexHawWJ0YdRtAmS6tJUDdx75SfHZ/m0hPY8HTCii6EqJku',
  'HcVhgLDEW8FApbiQX8ta+PLKZ6ZI4wf7OpB8WRcBbFSh+v5ea5HMSk3Z5FOkouSx8no3ZkNoubma',
  'oCGJBHtI78AYF3D6tmyqUUrq2AZdr9Yin4+Ixy5UDyfQBAcj/hWm5XUV7GcgfSsbpc+OqhQe+IAk',
  't7A3hE9uS+9XtWCvVCEAgvypCDZrFZP4Q/rD4NWmWIGHGSK0WFc80bzAjExGRsRGPeUFL8Hd2ida',
  'OXOs1MekCrJjUkrGhyx0artL5JAiSB9Ou58LQZ1u73DalH/DBQkFdZBNfrgZfLO3wDkUlzKiyFOR',
  'aMMdNvpAOjuUjMJMA04b7uwDebQkCF0Gysx9yvS4n7p11qUiRSLirF0+vpr1T8KmVonUvBV+6NCP',
  'F4zoT4mn5mtiu0YY251BbTl1rS4WMpu3es0R9EEEYrpHagufQjjKrhSwFk4XSdUbBfNbKDw1g3yt',
  '2ztBRIh+1WfkmrUxripFhMQtpq52UnhTLbwnaqrQNWXOy8L+r5xQHlte75w2LJnGjoPBQ+kV7AmS',
  'vNsChx6yJusHmQ==',
].join('');
// ---------------------------------------------------------------------------------------------

describe('age keys (bech32)', () => {
  it('generates identities whose recipient round-trips through the encodings', () => {
    const { identity, recipient } = generateX25519Identity();
    expect(identity).toMatch(/^AGE-SECRET-KEY-1[023456789ACDEFGHJKLMNPQRSTUVWXYZ]{58}$/);
    expect(recipient).toMatch(/^age1[023456789acdefghjklmnpqrstuvwxyz]{58}$/);
    expect(recipientOf(identity)).toBe(recipient);
    expect(recipientOf(identity.toLowerCase())).toBe(recipient);
    expect(decodeIdentity(identity)).toHaveLength(32);
    expect(decodeRecipient(recipient)).toHaveLength(32);
    expect(generateX25519Identity().identity).not.toBe(identity);
  });

  it('derives the recipient age-keygen derives for a known identity', () => {
    expect(recipientOf(CCTV_IDENTITY)).toBe(CCTV_RECIPIENT);
  });

  it('matches keys encoded independently with @scure/base', () => {
    const key = testKey();
    expect(recipientOf(key.identity)).toBe(key.recipient);
  });

  it.each([
    ['empty', ''],
    ['not bech32', 'hello'],
    ['bad checksum', CCTV_RECIPIENT.slice(0, -1) + (CCTV_RECIPIENT.endsWith('q') ? 'p' : 'q')],
    ['mixed case', CCTV_RECIPIENT.slice(0, 10).toUpperCase() + CCTV_RECIPIENT.slice(10)],
    ['truncated', CCTV_RECIPIENT.slice(0, 40)],
    ['wrong length', bech32.encode('age', bech32.toWords(new Uint8Array(31)))],
    ['an identity', CCTV_IDENTITY],
    ['another HRP', bech32.encode('age1pq', bech32.toWords(new Uint8Array(32)))],
    ['bech32m checksum', 'age1' + CCTV_RECIPIENT.slice(4, -6) + 'aaaaaa'],
  ])('rejects a malformed recipient (%s) with KeyError', (_label, recipient) => {
    expect(() => decodeRecipient(recipient)).toThrow(KeyError);
  });

  it.each([
    ['empty', ''],
    ['bad checksum', CCTV_IDENTITY.slice(0, -1) + (CCTV_IDENTITY.endsWith('Q') ? 'P' : 'Q')],
    ['mixed case', CCTV_IDENTITY.slice(0, 20) + CCTV_IDENTITY.slice(20).toLowerCase()],
    ['a recipient', CCTV_RECIPIENT],
    ['wrong length', bech32.encode('age-secret-key-', bech32.toWords(new Uint8Array(16))).toUpperCase()],
  ])('rejects a malformed identity (%s) with KeyError that does not echo it', (_label, identity) => {
    let error: unknown;
    try {
      decodeIdentity(identity);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(KeyError);
    if (identity.length > 20) expect((error as Error).message).not.toContain(identity.slice(16, 40));
    expect((error as Error).message).toMatch(/identity|recipient/);
  });

  it('reads identity files the way age does: comments and blank lines skipped, CRLF tolerated', () => {
    const a = generateX25519Identity();
    const b = generateX25519Identity();
    const text = `# created: 2024-01-01T00:00:00Z\r\n# public key: ${a.recipient}\r\n${a.identity}\r\n\n   \n# another\n${b.identity.toLowerCase()}\n`;
    expect(parseIdentityFile(text)).toEqual([a.identity, b.identity]);
  });

  it('writes identity files in the age-keygen layout, which it reads back', () => {
    const { identity, recipient } = generateX25519Identity();
    const text = formatIdentityFile(identity, new Date('2024-05-06T07:08:09.123Z'));
    expect(text).toBe(`# created: 2024-05-06T07:08:09Z\n# public key: ${recipient}\n${identity}\n`);
    expect(parseIdentityFile(text)).toEqual([identity]);
  });

  it('rejects identity files without identities or with a bad line, naming the line, never the key', () => {
    expect(() => parseIdentityFile('# only a comment\n\n')).toThrow(KeyError);
    const secret = generateX25519Identity().identity;
    const broken = secret.slice(0, -2) + 'QQ';
    let error: unknown;
    try {
      parseIdentityFile(`# created: x\n${secret}\n${broken}\n`);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(KeyError);
    expect((error as Error).message).toMatch(/line 3/);
    expect((error as Error).message).not.toContain(broken.slice(16));
    expect((error as Error).message).not.toContain(secret.slice(16));
  });
});

describe('age strict base64', () => {
  it('encodes without padding and decodes only the canonical form', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = randomBytes(n);
      const text = encodeBase64(bytes);
      expect(text).not.toContain('=');
      expect(decodeBase64(text)).toEqual(bytes);
    }
    expect(decodeBase64('AAE=')).toBeUndefined(); // padded
    expect(decodeBase64('AAF')).toBeUndefined(); // non-zero trailing bits
    expect(decodeBase64('AA E')).toBeUndefined();
    expect(decodeBase64('AA\nE')).toBeUndefined();
    expect(decodeBase64('A')).toBeUndefined();
    expect(decodeBase64('AA-_')).toBeUndefined(); // URL alphabet
    expect(decodeBase64('')).toEqual(Buffer.alloc(0));
  });
});

describe('age header', () => {
  it('wraps stanza bodies at 64 columns and always ends them with a short (possibly empty) line', () => {
    const fileKey = randomBytes(16);
    const stanzas = [
      { type: 'empty', args: [], body: Buffer.alloc(0) },
      { type: 'full-line', args: ['a', 'b'], body: randomBytes(48) },
      { type: 'two-lines', args: ['x'], body: randomBytes(96) },
      { type: 'short', args: ['y'], body: randomBytes(50) },
    ];
    const header = encodeHeader(stanzas, fileKey);
    const lines = header.toString('latin1').split('\n');
    expect(lines[0]).toBe('age-encryption.org/v1');
    expect(lines[1]).toBe('-> empty');
    expect(lines[2]).toBe('');
    expect(lines[3]).toBe('-> full-line a b');
    expect(lines[4]).toHaveLength(64);
    expect(lines[5]).toBe('');
    expect(lines[7]).toHaveLength(64);
    expect(lines[8]).toHaveLength(64);
    expect(lines[9]).toBe('');
    expect(lines[11]).toHaveLength(64);
    expect(lines[12]).toHaveLength(3);
    expect(lines[13]).toMatch(/^--- [A-Za-z0-9+/]{43}$/);
    expect(lines[14]).toBe('');
    const parsed = parseHeader(header);
    expect(parsed.stanzas).toEqual(stanzas);
    expect(parsed.macInput.toString('latin1')).toBe(header.toString('latin1').replace(/ [^ ]+\n$/, ''));
  });

  it('computes the MAC an independent implementation computes', () => {
    const key = testKey();
    const file = new TestFile().x25519(key);
    const expectedMac = file.macValue();
    const built = file.mac().bytes();
    const parsed = parseHeader(built);
    // Re-encoding the parsed stanzas under the same file key gives the same header, MAC included.
    expect(encodeHeader(parsed.stanzas, file.fileKey).toString('latin1')).toBe(built.toString('latin1'));
    expect(encodeBase64(parsed.mac)).toBe(expectedMac);
  });
});

describe('age file format: round trips', () => {
  const key = generateX25519Identity();
  const recipients = [x25519Recipient(key.recipient)];
  const identities = [x25519Identity(key.identity)];

  it.each([
    ['empty', 0],
    ['1 byte', 1],
    ['64 KiB - 1', CHUNK - 1],
    ['exactly 64 KiB', CHUNK],
    ['64 KiB + 1', CHUNK + 1],
    ['2 x 64 KiB', 2 * CHUNK],
    ['3 x 64 KiB', 3 * CHUNK],
    ['3 x 64 KiB + 17', 3 * CHUNK + 17],
  ])('round-trips a payload of %s with the exact STREAM layout', async (_label, size) => {
    const plaintext = randomBytes(size);
    const file = await encrypt(plaintext, recipients);
    const chunks = Math.max(1, Math.ceil(size / CHUNK));
    expect(file.length - payloadOffset(file)).toBe(size + 16 * chunks);
    expectBytes(await decrypt(file, identities), plaintext);
  });

  it('round-trips random sizes written and read in random-sized pieces (chunk and header boundaries anywhere)', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const size = sizes(seed * 7919, 5 * CHUNK)() - 1;
      const plaintext = randomBytes(size);
      const file = await encrypt(plaintext, recipients, sizes(seed, seed % 2 === 0 ? 300 : 100_000));
      expectBytes(await decrypt(file, identities, sizes(seed + 100, seed % 3 === 0 ? 7 : 90_000)), plaintext);
    }
  });

  it('parses a header split at every possible byte position', async () => {
    const plaintext = randomBytes(100);
    const file = await encrypt(plaintext, recipients);
    for (let at = 0; at <= file.length; at++) {
      const { output, error } = await through(createAgeDecryptStream(identities), [file.subarray(0, at), file.subarray(at)]);
      expect(error).toBeUndefined();
      expectBytes(output, plaintext);
    }
  });

  it('decrypts when the input arrives one byte at a time', async () => {
    const plaintext = randomBytes(3000);
    const file = await encrypt(plaintext, recipients);
    expectBytes(await decrypt(file, identities, 1), plaintext);
  });

  it('encrypts to several recipients, each of which can decrypt alone', async () => {
    const keys = [generateX25519Identity(), generateX25519Identity(), generateX25519Identity()];
    const plaintext = randomBytes(CHUNK + 5);
    const file = await encrypt(
      plaintext,
      keys.map((k) => x25519Recipient(k.recipient)),
    );
    expect(file.toString('latin1').match(/^-> X25519 /gm)).toHaveLength(3);
    for (const k of keys) expectBytes(await decrypt(file, [x25519Identity(k.identity)]), plaintext);
    // Identities that match nothing are tried and passed over.
    const stranger = generateX25519Identity();
    expectBytes(await decrypt(file, [x25519Identity(stranger.identity), x25519Identity(keys[2]!.identity)]), plaintext);
  });

  it('uses a fresh file key, ephemeral share and nonce for every file', async () => {
    const plaintext = Buffer.from('same plaintext');
    const a = await encrypt(plaintext, recipients);
    const b = await encrypt(plaintext, recipients);
    expect(a.equals(b)).toBe(false);
    expect(a.length).toBe(b.length);
  });

  it('round-trips a passphrase (scrypt) file, with the work factor in the stanza', async () => {
    const plaintext = randomBytes(2 * CHUNK + 3);
    const file = await encrypt(plaintext, [{ kind: 'scrypt', passphrase: 'tr0ub4dor & 3', workFactor: 10 }]);
    expect(file.toString('latin1')).toMatch(/^age-encryption\.org\/v1\n-> scrypt [A-Za-z0-9+/]{22} 10\n[A-Za-z0-9+/]{43}\n--- /);
    expectBytes(await decrypt(file, [{ kind: 'scrypt', passphrase: 'tr0ub4dor & 3' }]), plaintext);
    // Several passphrases: the right one is found.
    expectBytes(await decrypt(file, [{ kind: 'scrypt', passphrase: 'nope' }, { kind: 'scrypt', passphrase: 'tr0ub4dor & 3' }]), plaintext);
  });

  it('decrypts files made by the real age CLI (known answers: X25519 with two recipients, scrypt at work factor 18)', async () => {
    expect(createHash('sha256').update(KAT_PLAINTEXT).digest('hex')).toBe('a817818e7e532f1a54d7509217d5cd12985e0fb1fa938a8e12f0fbde45d7a3ef');
    expectBytes(await decrypt(Buffer.from(KAT_X25519_FILE, 'base64'), [x25519Identity(CCTV_IDENTITY)]), KAT_PLAINTEXT);
    expectBytes(await decrypt(Buffer.from(KAT_SCRYPT_FILE, 'base64'), [{ kind: 'scrypt', passphrase: KAT_PASSPHRASE }]), KAT_PLAINTEXT);
  });

  it('decrypts what the independent test writer builds, including unknown (grease) stanzas', async () => {
    const k = testKey();
    const payload = randomBytes(CHUNK + 10);
    const file = new TestFile(randomBytes(16))
      .args('grease-1', 'a', '~!@#$%^&*()_+-={}[]|\\:;"\'<>,.?/`')
      .body(randomBytes(48))
      .x25519(k)
      .args('grease-2')
      .body(Buffer.alloc(0))
      .mac()
      .nonce()
      .chunk(payload.subarray(0, CHUNK))
      .chunk(payload.subarray(CHUNK), true)
      .bytes();
    expectBytes(await decrypt(file, [x25519Identity(k.identity)]), payload);
  });
});

describe('age file format: errors', () => {
  const key = generateX25519Identity();
  const recipients = [x25519Recipient(key.recipient)];
  const identities = [x25519Identity(key.identity)];

  it('refuses a file for another identity with KeyError', async () => {
    const file = await encrypt(randomBytes(10), recipients);
    const { output, error } = await decryptOutcome(file, [x25519Identity(generateX25519Identity().identity)]);
    expectError(error, KeyError, NO_MATCH);
    expect(output).toHaveLength(0);
    expectError((await decryptOutcome(file, [])).error, KeyError, NO_MATCH);
    expectError((await decryptOutcome(file, [{ kind: 'scrypt', passphrase: 'x' }])).error, KeyError, NO_MATCH);
  });

  it('refuses a wrong passphrase with KeyError, and an X25519 identity for a passphrase file', async () => {
    const file = await encrypt(randomBytes(10), [{ kind: 'scrypt', passphrase: 'right', workFactor: 10 }]);
    expectError((await decryptOutcome(file, [{ kind: 'scrypt', passphrase: 'wrong' }])).error, KeyError, NO_MATCH);
    expectError((await decryptOutcome(file, identities)).error, KeyError, NO_MATCH);
  });

  it('refuses a scrypt work factor above the maximum with KeyError, before deriving anything', async () => {
    const file = await encrypt(randomBytes(10), [{ kind: 'scrypt', passphrase: 'right', workFactor: 12 }]);
    expectError((await decryptOutcome(file, [{ kind: 'scrypt', passphrase: 'right', maxWorkFactor: 11 }])).error, KeyError, /work factor 12.*maximum 11/);
    expect(await decrypt(file, [{ kind: 'scrypt', passphrase: 'right', maxWorkFactor: 12 }])).toHaveLength(10);
    // The default ceiling is 22, as in age: a file claiming 23 is refused without 8 GiB of work.
    const k23 = new TestFile().args('scrypt', b64(randomBytes(16)), '23').body(randomBytes(32)).mac().nonce().chunk(Buffer.alloc(0), true);
    const started = Date.now();
    expectError((await decryptOutcome(k23.bytes(), [{ kind: 'scrypt', passphrase: 'x' }])).error, KeyError, /work factor 23.*maximum 22/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('reports a flipped byte in the header MAC as IntegrityError (bad MAC)', async () => {
    const file = await encrypt(randomBytes(100), recipients);
    const macAt = file.indexOf('\n--- ') + 10;
    const altered = Buffer.from(file);
    altered[macAt] = altered[macAt] === 0x41 ? 0x42 : 0x41;
    const { output, error } = await decryptOutcome(altered, identities);
    expectError(error, IntegrityError, MAC_FAILURE);
    expect(output).toHaveLength(0);
  });

  it('reports an altered stanza as no match (its own stanza) or a bad MAC (another recipient\'s stanza)', async () => {
    const other = generateX25519Identity();
    const file = await encrypt(randomBytes(100), [x25519Recipient(key.recipient), x25519Recipient(other.recipient)]);
    const text = file.toString('latin1');
    const firstBody = text.indexOf('\n', text.indexOf('-> X25519')) + 5;
    const altered = Buffer.from(file);
    altered[firstBody] = altered[firstBody] === 0x41 ? 0x42 : 0x41;
    expectError((await decryptOutcome(altered, identities)).error, KeyError, NO_MATCH);
    expectError((await decryptOutcome(altered, [x25519Identity(other.identity)])).error, IntegrityError, MAC_FAILURE);
  });

  it('reports a flipped byte in any payload chunk as IntegrityError and releases only authenticated chunks', async () => {
    const plaintext = randomBytes(3 * CHUNK + 100);
    const file = await encrypt(plaintext, recipients);
    const start = payloadOffset(file);
    for (const [chunkIndex, offsetInChunk] of [
      [0, 0],
      [1, 5000],
      [2, SEALED_CHUNK - 1], // the tag of a full chunk
      [3, 3], // the final chunk
      [3, 115], // the final chunk's tag
    ] as const) {
      const altered = Buffer.from(file);
      const at = start - 16 + 16 + chunkIndex * SEALED_CHUNK + offsetInChunk;
      altered[at]! ^= 0x01;
      const { output, error } = await decryptOutcome(altered, identities, sizes(chunkIndex + 1, 50_000));
      expectError(error, IntegrityError, PAYLOAD_FAILURE);
      expectBytes(output, plaintext.subarray(0, chunkIndex * CHUNK));
    }
    // Header and damaged chunks arriving in one write fail the same way.
    const whole = Buffer.from(file);
    whole[start + 10]! ^= 0x01;
    const inOneWrite = await decryptOutcome(whole, identities, whole.length);
    expectError(inOneWrite.error, IntegrityError, PAYLOAD_FAILURE);
    expect(inOneWrite.output).toHaveLength(0);
    // The payload nonce: every chunk's key changes, so the first chunk fails.
    const altered = Buffer.from(file);
    altered[start - 1]! ^= 0x80;
    const { output, error } = await decryptOutcome(altered, identities);
    expectError(error, IntegrityError, PAYLOAD_FAILURE);
    expect(output).toHaveLength(0);
  });

  it('reports truncation anywhere as IntegrityError', async () => {
    const plaintext = randomBytes(2 * CHUNK + 500);
    const file = await encrypt(plaintext, recipients);
    const start = payloadOffset(file);
    const cuts = [
      ['the whole last chunk', file.length - (500 + 16)],
      ['the last two chunks', file.length - (500 + 16) - SEALED_CHUNK],
      ['one byte', file.length - 1],
      ['the final tag', file.length - 16],
      ['17 bytes', file.length - 17],
      ['all chunks (nonce only)', start],
      ['part of the nonce', start - 5],
      ['everything after the header', start - 16],
      ['inside the header', 30],
      ['inside the MAC line', start - 16 - 10],
      ['everything', 0],
    ] as const;
    for (const [label, length] of cuts) {
      const { output, error } = await decryptOutcome(file.subarray(0, length), identities);
      expect(error, label).toBeInstanceOf(IntegrityError);
      expect((error as Error).message).toMatch(/truncated|altered|ends|empty/);
      expect(plaintext.subarray(0, output.length).equals(output), label).toBe(true);
    }
  });

  it('reports trailing data after the final chunk as IntegrityError', async () => {
    for (const size of [10, CHUNK, 2 * CHUNK]) {
      const file = await encrypt(randomBytes(size), recipients);
      for (const garbage of [Buffer.from([0]), randomBytes(100), randomBytes(SEALED_CHUNK + 1)]) {
        expectError((await decryptOutcome(Buffer.concat([file, garbage]), identities)).error, IntegrityError, PAYLOAD_FAILURE);
      }
      // A second, validly sealed final chunk is trailing data too.
      const twice = Buffer.concat([file, file.subarray(file.length - Math.min(size % CHUNK || CHUNK, size) - 16)]);
      expectError((await decryptOutcome(twice, identities)).error, IntegrityError, PAYLOAD_FAILURE);
    }
  });

  it('rejects input that is not an age file at once, without buffering it', async () => {
    const zstdFrame = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), randomBytes(1 << 20)]);
    const { error } = await decryptOutcome(zstdFrame, identities);
    expectError(error, IntegrityError, /not an age v1/);
    expectError((await decryptOutcome(Buffer.from('-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n'), identities)).error, IntegrityError, /armored/);
    expectError((await decryptOutcome(Buffer.from('age-encryption.org/v2\n-> X 1\n\n--- x\n'), identities)).error, IntegrityError, /unsupported age format/);
  });

  it(`refuses a header larger than ${MAX_HEADER_BYTES / KiB} KiB`, async () => {
    const file = new TestFile();
    for (let i = 0; i < 800; i++) file.args('grease', String(i)).body(randomBytes(60));
    const { error } = await decryptOutcome(file.mac().nonce().chunk(Buffer.alloc(0), true).bytes(), identities);
    expectError(error, IntegrityError, /64 KiB/);
  });
});

describe('age file format: testkit scenarios (C2SP CCTV style)', () => {
  const key = testKey();
  const other = testKey();
  const id = [x25519Identity(key.identity)];
  const pass = (passphrase = 'password'): AgeIdentity[] => [{ kind: 'scrypt', passphrase }];
  const payload = Buffer.from('age testkit payload');
  const full = Buffer.alloc(CHUNK, 7);

  type Expected = 'success' | 'header failure' | 'HMAC failure' | 'no match' | 'payload failure';
  interface Scenario {
    readonly file: TestFile;
    readonly identities: AgeIdentity[];
    readonly expect: Expected;
    /** What must have been released: the whole payload on success, the authenticated prefix on payload failure. */
    readonly released?: Buffer;
  }

  const finish = (file: TestFile): TestFile => file.mac().nonce().chunk(payload, true);
  const bodyOf = (stanza: (file: TestFile) => TestFile): string[] => {
    // The lines a stanza writes, so a test can rewrite one of them.
    const text = stanza(new TestFile()).bytes().toString('latin1');
    return text.split('\n').slice(1, -1);
  };

  const scenarios: Record<string, () => Scenario> = {
    'x25519': () => ({ file: finish(new TestFile().x25519(key)), identities: id, expect: 'success', released: payload }),
    'x25519 multiple recipients': () => ({ file: finish(new TestFile().x25519(other).x25519(key)), identities: id, expect: 'success', released: payload }),
    'x25519 wrong identity': () => ({ file: finish(new TestFile().x25519(other)), identities: id, expect: 'no match' }),
    'x25519 lowercase type is an unknown stanza': () => ({ file: finish(new TestFile().x25519(key, { type: 'x25519' })), identities: id, expect: 'no match' }),
    'x25519 extra argument': () => ({ file: finish(new TestFile().x25519(key, { extraArg: 'AAAA' })), identities: id, expect: 'header failure' }),
    'x25519 long file key': () => ({ file: finish(new TestFile().x25519(key, { fileKey: Buffer.alloc(17, 1) })), identities: id, expect: 'header failure' }),
    'x25519 short share': () => ({ file: finish(new TestFile().args('X25519', b64(randomBytes(31))).body(randomBytes(32))), identities: id, expect: 'header failure' }),
    'x25519 long share': () => ({ file: finish(new TestFile().args('X25519', b64(randomBytes(33))).body(randomBytes(32))), identities: id, expect: 'header failure' }),
    'x25519 low-order share': () => ({ file: finish(new TestFile().args('X25519', b64(Buffer.alloc(32))).body(randomBytes(32))), identities: id, expect: 'header failure' }),
    'x25519 not canonical share': () => {
      const [args, body] = bodyOf((f) => f.x25519(key));
      return { file: finish(new TestFile().line(notCanonical(args!)).line(body!)), identities: id, expect: 'header failure' };
    },
    'x25519 not canonical body': () => {
      const [args, body] = bodyOf((f) => f.x25519(key));
      return { file: finish(new TestFile().line(args!).line(notCanonical(body!))), identities: id, expect: 'header failure' };
    },
    'x25519 body with padding': () => {
      const [args, body] = bodyOf((f) => f.x25519(key));
      return { file: finish(new TestFile().line(args!).line(`${body!}=`)), identities: id, expect: 'header failure' };
    },
    'grease stanzas are ignored': () => ({
      file: finish(new TestFile().args('grease', 'x').body(randomBytes(20)).x25519(key).args('~~').body(randomBytes(96))),
      identities: id,
      expect: 'success',
      released: payload,
    }),
    'stanza with all VCHAR arguments': () => {
      const vchar = Array.from({ length: 94 }, (_, i) => String.fromCharCode(0x21 + i)).join('');
      return { file: finish(new TestFile().args(vchar.slice(0, 40), vchar.slice(40)).body(Buffer.alloc(0)).x25519(key)), identities: id, expect: 'success', released: payload };
    },
    'stanza body of exactly one full line': () => ({ file: finish(new TestFile().args('grease').body(randomBytes(48)).x25519(key)), identities: id, expect: 'success', released: payload }),
    'stanza body missing its final short line': () => ({ file: finish(new TestFile().args('grease').line(b64(randomBytes(48))).x25519(key)), identities: id, expect: 'header failure' }),
    'stanza body line longer than 64 columns': () => ({ file: finish(new TestFile().args('grease').line(b64(randomBytes(51))).line('').x25519(key)), identities: id, expect: 'header failure' }),
    'stanza body missing': () => ({ file: finish(new TestFile().x25519(key).args('grease')), identities: id, expect: 'header failure' }),
    'stanza empty argument': () => ({ file: finish(new TestFile().args('grease', '', 'x').body(Buffer.alloc(0)).x25519(key)), identities: id, expect: 'header failure' }),
    'stanza without a type': () => ({ file: finish(new TestFile().line('->').body(Buffer.alloc(0)).x25519(key)), identities: id, expect: 'header failure' }),
    'stanza with a bad start': () => ({ file: finish(new TestFile().line('->grease').body(Buffer.alloc(0)).x25519(key)), identities: id, expect: 'header failure' }),
    'stanza with a spurious CR': () => ({ file: finish(new TestFile().args('grease').line(`${b64(randomBytes(10))}\r`).x25519(key)), identities: id, expect: 'header failure' }),
    'stanza with a non-ASCII argument': () => ({ file: finish(new TestFile().args('grease', 'caf\u00e9').body(Buffer.alloc(0)).x25519(key)), identities: id, expect: 'header failure' }),
    'header with CRLF line endings': () => ({ file: finish(new TestFile().intro('age-encryption.org/v1\r').x25519(key)), identities: id, expect: 'header failure' }),
    'header without stanzas': () => ({ file: finish(new TestFile()), identities: id, expect: 'header failure' }),
    'unsupported version': () => ({ file: finish(new TestFile().intro('age-encryption.org/v2').x25519(key)), identities: id, expect: 'header failure' }),
    'hmac bad': () => ({ file: new TestFile().x25519(key).line(`--- ${b64(randomBytes(32))}`).nonce().chunk(payload, true), identities: id, expect: 'HMAC failure' }),
    'hmac missing': () => ({ file: new TestFile().x25519(key).line('---').nonce().chunk(payload, true), identities: id, expect: 'header failure' }),
    'hmac without space': () => {
      const file = new TestFile().x25519(key);
      return { file: file.line(`---${file.macValue()}`).nonce().chunk(payload, true), identities: id, expect: 'header failure' };
    },
    'hmac with extra space': () => {
      const file = new TestFile().x25519(key);
      return { file: file.line(`---  ${file.macValue()}`).nonce().chunk(payload, true), identities: id, expect: 'header failure' };
    },
    'hmac with trailing space': () => {
      const file = new TestFile().x25519(key);
      return { file: file.line(`--- ${file.macValue()} `).nonce().chunk(payload, true), identities: id, expect: 'header failure' };
    },
    'hmac with padding': () => {
      const file = new TestFile().x25519(key);
      return { file: file.line(`--- ${file.macValue()}=`).nonce().chunk(payload, true), identities: id, expect: 'header failure' };
    },
    'hmac truncated': () => {
      const file = new TestFile().x25519(key);
      return { file: file.line(`--- ${file.macValue().slice(0, -1)}`).nonce().chunk(payload, true), identities: id, expect: 'header failure' };
    },
    'hmac garbage after': () => {
      const file = new TestFile().x25519(key);
      return { file: file.line(`--- ${file.macValue()}AAAA`).nonce().chunk(payload, true), identities: id, expect: 'header failure' };
    },
    'hmac not canonical': () => {
      const file = new TestFile().x25519(key);
      return { file: file.line(`--- ${notCanonical(file.macValue())}`).nonce().chunk(payload, true), identities: id, expect: 'header failure' };
    },
    'scrypt': () => ({ file: finish(new TestFile().scrypt('password', 10)), identities: pass(), expect: 'success', released: payload }),
    'scrypt wrong passphrase': () => ({ file: finish(new TestFile().scrypt('password', 10)), identities: pass('wrong'), expect: 'no match' }),
    'scrypt uppercase type is an unknown stanza': () => {
      const [args, body] = bodyOf((f) => f.scrypt('password', 10));
      return { file: finish(new TestFile().line(args!.replace('scrypt', 'Scrypt')).line(body!)), identities: pass(), expect: 'no match' };
    },
    'scrypt and x25519': () => ({ file: finish(new TestFile().scrypt('password', 10).x25519(key)), identities: id, expect: 'header failure' }),
    'scrypt twice': () => ({ file: finish(new TestFile().scrypt('password', 10).scrypt('password', 10)), identities: pass(), expect: 'header failure' }),
    'scrypt extra argument': () => {
      const [args, body] = bodyOf((f) => f.scrypt('password', 10));
      return { file: finish(new TestFile().line(`${args!} x`).line(body!)), identities: pass(), expect: 'header failure' };
    },
    'scrypt long file key': () => ({ file: finish(new TestFile().scrypt('password', 10, { fileKey: Buffer.alloc(17) })), identities: pass(), expect: 'header failure' }),
    'scrypt salt short': () => ({ file: finish(new TestFile().scrypt('password', 10, { salt: randomBytes(15) })), identities: pass(), expect: 'header failure' }),
    'scrypt salt long': () => ({ file: finish(new TestFile().scrypt('password', 10, { salt: randomBytes(17) })), identities: pass(), expect: 'header failure' }),
    'scrypt salt not canonical': () => {
      const [args, body] = bodyOf((f) => f.scrypt('password', 10));
      const [arrow, type, salt, factor] = args!.split(' ');
      return { file: finish(new TestFile().line([arrow, type, notCanonical(salt!), factor].join(' ')).line(body!)), identities: pass(), expect: 'header failure' };
    },
    'scrypt work factor missing': () => ({ file: finish(new TestFile().args('scrypt', b64(randomBytes(16))).body(randomBytes(32))), identities: pass(), expect: 'header failure' }),
    ...Object.fromEntries(
      (['0', '010', '+10', '-10', '0xa', '10a', 'a10', ' 10', '1.0'] as const).map((text) => [
        `scrypt work factor "${text}"`,
        (): Scenario => ({ file: finish(new TestFile().scrypt('password', 10, { workFactorText: text })), identities: pass(), expect: 'header failure' }),
      ]),
    ),
    'payload: empty': () => ({ file: new TestFile().x25519(key).mac().nonce().chunk(Buffer.alloc(0), true), identities: id, expect: 'success', released: Buffer.alloc(0) }),
    'payload: last chunk full': () => ({ file: new TestFile().x25519(key).mac().nonce().chunk(full, true), identities: id, expect: 'success', released: full }),
    'payload: two chunks, last full': () => ({
      file: new TestFile().x25519(key).mac().nonce().chunk(full).chunk(full, true),
      identities: id,
      expect: 'success',
      released: Buffer.concat([full, full]),
    }),
    'payload: no nonce': () => ({ file: new TestFile().x25519(key).mac(), identities: id, expect: 'payload failure', released: Buffer.alloc(0) }),
    'payload: short nonce': () => ({ file: new TestFile().x25519(key).mac().raw(randomBytes(10)), identities: id, expect: 'payload failure', released: Buffer.alloc(0) }),
    'payload: nonce but no chunk': () => ({ file: new TestFile().x25519(key).mac().nonce(), identities: id, expect: 'payload failure', released: Buffer.alloc(0) }),
    'payload: only chunk not marked final': () => ({ file: new TestFile().x25519(key).mac().nonce().chunk(payload), identities: id, expect: 'payload failure', released: Buffer.alloc(0) }),
    'payload: no final chunk after full chunks': () => ({
      file: new TestFile().x25519(key).mac().nonce().chunk(full).chunk(full),
      identities: id,
      expect: 'payload failure',
      released: full,
    }),
    'payload: empty final chunk after a full chunk': () => ({
      file: new TestFile().x25519(key).mac().nonce().chunk(full).chunk(Buffer.alloc(0), true),
      identities: id,
      expect: 'payload failure',
      released: full,
    }),
    'payload: final chunk not last': () => ({
      file: new TestFile().x25519(key).mac().nonce().chunk(full, true).chunk(payload, true),
      identities: id,
      expect: 'payload failure',
      released: Buffer.alloc(0),
    }),
    'payload: chunk counter skipped': () => ({
      file: new TestFile().x25519(key).mac().nonce().chunk(full).skipChunk().chunk(payload, true),
      identities: id,
      expect: 'payload failure',
      released: full,
    }),
    'payload: bad tag in the second chunk': () => {
      const file = new TestFile().x25519(key).mac().nonce().chunk(full).chunk(payload, true);
      const bytes = file.bytes();
      bytes[bytes.length - 1]! ^= 1;
      return { file, bytes, identities: id, expect: 'payload failure', released: full } as Scenario;
    },
    'payload: trailing garbage': () => ({ file: new TestFile().x25519(key).mac().nonce().chunk(payload, true).raw(Buffer.from([0])), identities: id, expect: 'payload failure', released: Buffer.alloc(0) }),
    'payload: missing tag': () => ({ file: new TestFile().x25519(key).mac().nonce().raw(randomBytes(10)), identities: id, expect: 'payload failure', released: Buffer.alloc(0) }),
  };

  it.each(Object.keys(scenarios))('%s', async (name) => {
    const scenario = scenarios[name]!() as Scenario & { bytes?: Buffer };
    const bytes = scenario.bytes ?? scenario.file.bytes();
    const { output, error } = await decryptOutcome(bytes, scenario.identities, sizes(name.length, 40_000));
    switch (scenario.expect) {
      case 'success':
        expect(error).toBeUndefined();
        expectBytes(output, scenario.released);
        return;
      case 'header failure':
        expectError(error, IntegrityError, HEADER_FAILURE);
        break;
      case 'HMAC failure':
        expectError(error, IntegrityError, MAC_FAILURE);
        break;
      case 'no match':
        expectError(error, KeyError, NO_MATCH);
        break;
      case 'payload failure':
        expectError(error, IntegrityError, PAYLOAD_FAILURE);
        expectBytes(output, scenario.released);
        return;
    }
    expect(output).toHaveLength(0);
  });
});

describe('age encryptor adapters', () => {
  it('describes recipients without key material and encrypts to them', async () => {
    const a = generateX25519Identity();
    const b = generateX25519Identity();
    const encryptor = new AgeEncryptor([x25519Recipient(a.recipient), x25519Recipient(b.recipient)]);
    expect(encryptor.format).toBe('age-v1');
    expect(encryptor.recipients).toEqual([
      { type: 'x25519', recipient: a.recipient },
      { type: 'x25519', recipient: b.recipient },
    ]);
    const plaintext = randomBytes(CHUNK * 2 + 1);
    const { output: file } = await through(encryptor.encrypt(), split(plaintext));
    const decryptor = new AgeDecryptor([x25519Identity(b.identity)]);
    expectBytes((await through(decryptor.decrypt('age-v1'), split(file))).output, plaintext);
    // Each call is a fresh stage.
    expect(encryptor.encrypt()).not.toBe(encryptor.encrypt());
  });

  it('never exposes a passphrase or identity when logged or serialized', () => {
    const passphrase = 'very secret passphrase';
    const encryptor = new AgeEncryptor([{ kind: 'scrypt', passphrase, workFactor: 14 }]);
    expect(encryptor.recipients).toEqual([{ type: 'scrypt', workFactor: 14 }]);
    expect(new AgeEncryptor([{ kind: 'scrypt', passphrase }]).recipients).toEqual([{ type: 'scrypt', workFactor: 18 }]);
    expect(JSON.stringify(encryptor)).not.toContain(passphrase);
    const { identity } = generateX25519Identity();
    const decryptor = new AgeDecryptor([x25519Identity(identity), { kind: 'scrypt', passphrase }]);
    expect(JSON.stringify(decryptor)).not.toContain(identity);
    expect(JSON.stringify(decryptor)).not.toContain(passphrase);
    expect(JSON.stringify(createAgeEncryptStream([{ kind: 'scrypt', passphrase }]))).not.toContain(passphrase);
  });

  it('validates recipients and identities up front', () => {
    const { recipient, identity } = generateX25519Identity();
    expect(() => new AgeEncryptor([])).toThrow(ConfigError);
    expect(() => new AgeEncryptor([x25519Recipient('age1nope')])).toThrow(KeyError);
    expect(() => new AgeEncryptor([x25519Recipient(identity)])).toThrow(/identity \(secret key\) was given/);
    expect(() => new AgeEncryptor([{ kind: 'scrypt', passphrase: 'a' }, x25519Recipient(recipient)])).toThrow(ConfigError);
    expect(() => new AgeEncryptor([{ kind: 'scrypt', passphrase: 'a' }, { kind: 'scrypt', passphrase: 'b' }])).toThrow(ConfigError);
    expect(() => new AgeEncryptor([{ kind: 'scrypt', passphrase: '' }])).toThrow(ConfigError);
    for (const workFactor of [0, 31, 1.5, Number.NaN]) {
      expect(() => new AgeEncryptor([{ kind: 'scrypt', passphrase: 'a', workFactor }])).toThrow(ConfigError);
    }
    expect(() => new AgeDecryptor([x25519Identity('AGE-SECRET-KEY-1NOPE')])).toThrow(KeyError);
    expect(() => new AgeDecryptor([x25519Identity(recipient)])).toThrow(KeyError);
    expect(() => createAgeEncryptStream([x25519Recipient(`${recipient}x`)])).toThrow(KeyError);
    // An all-zero (low-order) public key cannot be encrypted to.
    const lowOrder = bech32.encode('age', bech32.toWords(new Uint8Array(32)));
    return expect(encrypt(Buffer.from('x'), [x25519Recipient(lowOrder)])).rejects.toThrow(KeyError);
  });

  it('passes plaintext through for format "none"', async () => {
    const data = randomBytes(100_000);
    const none = new NoEncryptor();
    expect(none.format).toBe('none');
    expect(none.recipients).toEqual([]);
    expectBytes((await through(none.encrypt(), split(data))).output, data);
    expectBytes((await through(new AgeDecryptor([]).decrypt('none'), split(data))).output, data);
  });
});

describe('age streams: resources', () => {
  const key = generateX25519Identity();

  it('streams with bounded buffering, whatever the input size', async () => {
    const total = 48 * 1024 * KiB;
    const block = randomBytes(KiB * KiB);
    let produced = 0;
    const source = new Readable({
      read() {
        if (produced >= total) return void this.push(null);
        produced += 16 * KiB;
        this.push(block.subarray(produced % block.length, (produced % block.length) + 16 * KiB));
      },
    });
    const encryptStage = createAgeEncryptStream([x25519Recipient(key.recipient)]);
    const decryptStage = createAgeDecryptStream([x25519Identity(key.identity)]);
    let maxBuffered = 0;
    let received = 0;
    await pipeline(
      source,
      encryptStage,
      decryptStage,
      new Writable({
        highWaterMark: 16 * KiB,
        write(chunk: Buffer, _encoding, callback) {
          received += chunk.length;
          const buffered = encryptStage.readableLength + encryptStage.writableLength + decryptStage.readableLength + decryptStage.writableLength;
          maxBuffered = Math.max(maxBuffered, buffered);
          // A slow consumer: the stages must wait rather than pile up data.
          setImmediate(callback);
        },
      }),
    );
    expect(received).toBe(total);
    expect(maxBuffered).toBeLessThan(2 * 1024 * KiB);
  });

  it('encrypts and decrypts at a sane speed (sanity bound, not a benchmark)', async () => {
    const plaintext = randomBytes(64 * 1024 * KiB);
    let started = performance.now();
    const file = await encrypt(plaintext, [x25519Recipient(key.recipient)], CHUNK);
    const encryptSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    const back = await decrypt(file, [x25519Identity(key.identity)], CHUNK);
    const decryptSeconds = (performance.now() - started) / 1000;
    expect(back.equals(plaintext)).toBe(true);
    // ~1 GB/s on an idle development machine, and under 50 MB/s on a CI machine running the
    // suite in parallel: this only catches an accidental per-byte path, which would be far slower.
    expect(plaintext.length / 1e6 / encryptSeconds).toBeGreaterThan(10);
    expect(plaintext.length / 1e6 / decryptSeconds).toBeGreaterThan(10);
  });
});
