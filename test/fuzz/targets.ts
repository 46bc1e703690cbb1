/**
 * The fuzz targets: every parser Vaultra runs on bytes it did not write in this process — the
 * config file, a manifest from storage, and the formats it reads itself as they stream past
 * (age header and payload, mongodump archive, mariadb-dump SQL, GNU tar's listing). For each:
 * how to make inputs, and what must hold for every input — it is accepted, or refused with a
 * `VaultraError`; never another exception, a crash or a hang (the runner enforces the time).
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { parseConfig } from '../../core/config/load-config.js';
import { readManifest } from '../../core/usecases/locate-backup.js';
import type { StorageBackend } from '../../core/ports/storage-backend.js';
import type { KeyService } from '../../core/ports/key-service.js';
import { createAgeDecryptStream, createAgeEncryptStream, type AgeIdentity } from '../../core/adapters/encryption/age/age-stream.js';
import { generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import { MongodbEngine } from '../../core/adapters/engines/mongodb/mongodb-engine.js';
import { MysqlEngine } from '../../core/adapters/engines/mysql/mysql-engine.js';
import { MysqlDumpScanner } from '../../core/adapters/engines/mysql/mysql-dump-scanner.js';
import { dumpObjects, incompleteDumpError, missingSelectionError, selectionFilter } from '../../core/adapters/engines/mysql/mysql-dump-checks.js';
import { DirectoryEngine } from '../../core/adapters/engines/directory/directory-engine.js';
import { BlockLines } from '../../core/adapters/engines/directory/tar-tool.js';
import { componentsOf, displayName, escapeBytes, escapesRoot, unescapeTarName } from '../../core/adapters/engines/directory/tar-names.js';
import { brokenHardLink, createWarnings, notFoundMembers, rewrittenNames } from '../../core/adapters/engines/directory/tar-messages.js';
import { KeyError, VaultraError } from '../../core/errors.js';
import { runOk } from '../support/exec.js';
import { ustarArchive } from '../support/dir-fixtures.js';
import { chunkSizes, chunked, mutatedInputs } from './mutate.js';
import {
  CONFIG_SEEDS,
  CONFIG_TOKENS,
  JSON_TOKENS,
  MANIFEST_KEY,
  MANIFEST_SEED,
  MONGO_SEEDS,
  MONGO_TOKENS,
  SQL_DUMP_SEED,
  SQL_TOKENS,
  TAR_LISTING_SEED,
  TAR_LISTING_TOKENS,
} from './seeds.js';

/** One fuzz input: the bytes, and how a stream target cuts them into chunks. */
export interface FuzzCase {
  readonly bytes: Buffer;
  readonly chunks: readonly number[];
}

export interface FuzzTarget {
  /** Inputs per CI run: enough to find shallow bugs, few enough to stay within seconds. */
  readonly runs: number;
  /** Builds the seeds (some need a key or a tool) and returns the input generator and the check. */
  setup(): Promise<{ inputs: fc.Arbitrary<FuzzCase>; check(input: FuzzCase): Promise<void>; teardown?(): Promise<void> }>;
}

/** The failure every refusal must be: a `VaultraError` with a one-line message. */
export function expectVaultraError(error: unknown, what: string): void {
  if (!(error instanceof VaultraError)) {
    const name = error instanceof Error ? error.constructor.name : typeof error;
    throw new Error(`${what} threw ${name}, not a VaultraError: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (!error.message || /[\n\r]/.test(error.message)) throw new Error(`${what}: a ${error.name} whose message is not one line: ${JSON.stringify(error.message)}`);
}

function cases(inputs: fc.Arbitrary<Buffer>): fc.Arbitrary<FuzzCase> {
  return fc.record({ bytes: inputs, chunks: chunkSizes });
}

/** Feeds a validation sink the way verify does: the stream, then `result()`; aborts on a failed stream. */
async function validate(sink: { stream: Writable; result(): Promise<string>; abort(): Promise<void> }, input: FuzzCase): Promise<string> {
  try {
    await pipeline(Readable.from(chunked(input.bytes, input.chunks)), sink.stream);
  } catch (error) {
    await sink.abort();
    throw error;
  }
  return sink.result();
}

export const TARGETS: Record<string, FuzzTarget> = {
  config: {
    // Each valid config costs ~25 ms (cron and time-zone checks): fewer runs than the others.
    runs: 1000,
    async setup() {
      for (const seed of CONFIG_SEEDS) parseConfig(seed, 'seed.yaml');
      return {
        inputs: cases(mutatedInputs(CONFIG_SEEDS.map((seed) => Buffer.from(seed)), CONFIG_TOKENS)),
        async check({ bytes }) {
          try {
            parseConfig(bytes.toString('utf8'), 'fuzz.yaml');
          } catch (error) {
            expectVaultraError(error, 'parseConfig');
            // A config error names the file it is about, first.
            if (!(error as Error).message.startsWith('fuzz.yaml')) throw new Error(`a config error that does not start with the file name: ${(error as Error).message}`);
          }
        },
      };
    },
  },

  manifest: {
    runs: 2500,
    async setup() {
      const storageOf = (bytes: Buffer) => ({ location: 'memory://fuzz', get: async () => Readable.from([bytes]) }) as unknown as StorageBackend;
      await readManifest(storageOf(Buffer.from(MANIFEST_SEED)), MANIFEST_KEY);
      return {
        inputs: cases(mutatedInputs([Buffer.from(MANIFEST_SEED), Buffer.from(JSON.stringify(JSON.parse(MANIFEST_SEED)))], JSON_TOKENS)),
        async check({ bytes }) {
          try {
            await readManifest(storageOf(bytes), MANIFEST_KEY);
          } catch (error) {
            expectVaultraError(error, 'readManifest');
          }
        },
      };
    },
  },

  age: {
    // Each input derives an X25519 key (and some a scrypt key): ~5 ms.
    runs: 800,
    async setup() {
      const { identity, recipient } = generateX25519Identity();
      // A key service that "wraps" by reversing: the kms stanza path runs without a cloud.
      const fakeKms: KeyService = {
        id: 'aws-kms',
        wrapKey: async (_keyId, fileKey) => Buffer.from(fileKey).reverse(),
        unwrapKey: async (_keyId, wrapped) => {
          if (wrapped.length > 64) throw new KeyError('the key service refuses this ciphertext');
          return Buffer.from(wrapped).reverse();
        },
      };
      const encrypt = async (plaintext: Buffer, recipients: Parameters<typeof createAgeEncryptStream>[0]) => {
        const out: Buffer[] = [];
        await pipeline(Readable.from([plaintext]), createAgeEncryptStream(recipients), new Writable({ write: (chunk: Buffer, _e, done) => (out.push(chunk), done()) }));
        return Buffer.concat(out);
      };
      const small = Buffer.from('a small backup\n');
      // Past one 64 KiB STREAM chunk: the chunk boundary and the final-chunk flag are read.
      const large = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff));
      const seeds = [
        { plaintext: small, file: await encrypt(small, [{ kind: 'x25519', recipient }]) },
        { plaintext: large, file: await encrypt(large, [{ kind: 'x25519', recipient }, { kind: 'kms', keyService: fakeKms, keyId: 'arn:aws:kms:eu-west-1:123456789012:key/fuzz' }]) },
        { plaintext: small, file: await encrypt(small, [{ kind: 'scrypt', passphrase: 'fuzz passphrase', workFactor: 2 }]) },
        { plaintext: small, file: await encrypt(small, [{ kind: 'kms', keyService: fakeKms, keyId: 'arn:aws:kms:eu-west-1:123456789012:key/fuzz' }]) },
        { plaintext: Buffer.alloc(0), file: await encrypt(Buffer.alloc(0), [{ kind: 'x25519', recipient }]) },
      ];
      const identities: AgeIdentity[] = [
        { kind: 'x25519', identity },
        // A low ceiling: a mutated stanza must not make a fuzz run spend seconds in scrypt.
        { kind: 'scrypt', passphrase: 'fuzz passphrase', maxWorkFactor: 10 },
        { kind: 'kms', allowed: ['aws-kms'], keyServiceFor: async () => fakeKms },
      ];
      const plaintexts = new Set(seeds.map((seed) => seed.plaintext.toString('latin1')));
      return {
        inputs: cases(mutatedInputs(seeds.map((seed) => seed.file), ['\n-> X25519 ', '\n-> scrypt ', '\n-> vaultra-kms aws-kms k ', '\n--- ', 'age-encryption.org/v1\n', '\n', ' ', 'AAAA'])),
        async check(input) {
          const out: Buffer[] = [];
          try {
            await pipeline(Readable.from(chunked(input.bytes, input.chunks)), createAgeDecryptStream(identities), new Writable({ write: (chunk: Buffer, _e, done) => (out.push(chunk), done()) }));
          } catch (error) {
            expectVaultraError(error, 'age decryption');
            return;
          }
          // Authenticated encryption: whatever decrypts is exactly a plaintext that was encrypted.
          if (!plaintexts.has(Buffer.concat(out).toString('latin1'))) throw new Error('an altered age file decrypted to something that was never encrypted');
        },
      };
    },
  },

  'mongodb-archive': {
    runs: 2000,
    async setup() {
      const engine = new MongodbEngine();
      for (const seed of MONGO_SEEDS) await validate(await engine.openValidation(), { bytes: seed, chunks: [seed.length] });
      return {
        inputs: cases(mutatedInputs(MONGO_SEEDS, MONGO_TOKENS)),
        async check(input) {
          try {
            await validate(await engine.openValidation({ contents: [{ kind: 'collection', schema: 'shop', name: 'orders' }] }), input);
          } catch (error) {
            expectVaultraError(error, 'MongoDB archive validation');
          }
        },
      };
    },
  },

  'sql-scanner': {
    runs: 1500,
    async setup() {
      const engine = new MysqlEngine();
      const seed = Buffer.from(SQL_DUMP_SEED, 'latin1');
      await validate(await engine.openValidation(), { bytes: seed, chunks: [seed.length] });
      return {
        inputs: cases(mutatedInputs([seed, Buffer.from(SQL_DUMP_SEED.replace('-- MariaDB dump', '-- MySQL dump'))], SQL_TOKENS)),
        async check(input) {
          try {
            await validate(await engine.openValidation({ contents: [{ kind: 'table', name: 'customers' }], tables: ['customers'] }), input);
          } catch (error) {
            expectVaultraError(error, 'SQL dump validation');
          }
          // The restore's reading: everything kept is passed on byte for byte, whatever the chunking.
          const all = new MysqlDumpScanner();
          const passed: Buffer[] = [];
          for (const chunk of chunked(input.bytes, input.chunks)) passed.push(...all.push(chunk));
          passed.push(...all.end());
          if (!Buffer.concat(passed).equals(input.bytes)) throw new Error('the SQL scanner changed or lost bytes of a section it keeps');
          // A selective restore's reading: a filter and the database-name rewrite, then the checks.
          const selected = new MysqlDumpScanner({ keep: selectionFilter(new Set(['customers'])), retargetAlterDatabase: true });
          for (const chunk of chunked(input.bytes, input.chunks)) selected.push(chunk);
          selected.end();
          for (const problem of [incompleteDumpError(selected), missingSelectionError(selected, new Set(['customers']))]) if (problem) expectVaultraError(problem, 'SQL dump check');
          dumpObjects(selected);
        },
      };
    },
  },

  'tar-listing': {
    runs: 3000,
    async setup() {
      return {
        inputs: cases(mutatedInputs([Buffer.from(TAR_LISTING_SEED, 'latin1')], TAR_LISTING_TOKENS)),
        async check({ bytes }) {
          const text = bytes.toString('latin1');
          const lines = text.split('\n');
          const listing = new BlockLines((escaped) => {
            const name = unescapeTarName(escaped);
            escapesRoot(name);
            componentsOf(name).map(displayName);
          });
          for (const line of lines) listing.push(line);
          listing.finish();
          createWarnings(lines);
          notFoundMembers(text);
          brokenHardLink(text);
          rewrittenNames(text);
          // Names are shown escaped and read back unescaped: the pair must round-trip any bytes.
          if (!unescapeTarName(escapeBytes(bytes)).equals(bytes)) throw new Error('unescapeTarName(escapeBytes(x)) is not x');
        },
      };
    },
  },

  'tar-archive': {
    // Each input runs GNU tar (a process): fewer inputs, the same checks the restore relies on.
    runs: 120,
    async setup() {
      const dir = await mkdtemp(join(tmpdir(), 'vaultra-fuzz-tar-'));
      const tree = join(dir, 'tree');
      await mkdir(join(tree, 'sub'), { recursive: true });
      await writeFile(join(tree, 'a.txt'), 'alpha\n');
      await writeFile(join(tree, 'sub', 'b.bin'), Buffer.alloc(3000, 7));
      await symlink('../a.txt', join(tree, 'sub', 'link'));
      await runOk('tar', ['--create', '--format=posix', `--file=${join(dir, 'seed.tar')}`, `--directory=${tree}`, '--sort=name', '.']);
      const pax = await readFile(join(dir, 'seed.tar'));
      const ustar = ustarArchive([{ name: './', type: 'directory' }, { name: './x.txt', content: 'x' }, { name: './hl', type: 'hardlink', linkName: './x.txt' }]);
      const engine = new DirectoryEngine();
      return {
        inputs: cases(mutatedInputs([pax, ustar], ['../', '/etc/passwd', 'ustar\x0000', Buffer.alloc(512)])),
        async check(input) {
          try {
            await validate(await engine.openValidation({ contents: [{ kind: 'file', name: 'a.txt' }] }), input);
          } catch (error) {
            expectVaultraError(error, 'tar validation');
          }
        },
        teardown: () => rm(dir, { recursive: true, force: true }),
      };
    },
  },
};
