/**
 * scripts/restore-chunked.sh restores a chunked snapshot without Vaultra: a snapshot built here by
 * hand with the standard tools (chunks compressed with the zstd CLI, packs encrypted with the age
 * CLI to a fresh identity), with two packs, two streams and a chunk referenced twice, comes back
 * byte for byte; a tampered pack makes the script fail naming it. A gzip snapshot without
 * encryption too.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRunId } from '../../core/domain/run.js';
import { chunkLine, indexHeaderLine, INDEX_OBJECT_NAME, streamLine, type SnapshotStream } from '../../core/domain/snapshot-format.js';
import { chunkedManifestText, newPackName, sha256 } from '../support/chunked-fixtures.js';
import { repoRoot } from '../support/cli.js';
import { run } from '../support/exec.js';
import { requireTools } from '../support/requirements.js';

const script = join(repoRoot, 'scripts', 'restore-chunked.sh');

/** A chunk as the index places it: which stream, which raw bytes, in which pack. */
interface Placement {
  readonly stream: number;
  readonly chunk: number;
  readonly pack: 0 | 1;
}

/** Text-like chunk contents of varied sizes (one over a 64 KiB age segment, so reads cross segments). */
const CHUNKS = [70_000, 20_000, 33_000, 1, 40_000].map((size, i) => Buffer.concat([Buffer.from(`chunk ${i}:`), randomBytes(size).map((b) => 97 + (b % 26))]));

/**
 * Stream 0 (`pre-data`): chunks 0, 1 (adjacent in pack 0: one read), 3 (pack 1).
 * Stream 1 (`table/public.users`): chunks 2 (pack 0), 1 again (pack 0, not adjacent: its own read), 4 (pack 1).
 * Stream 2 (`post-data`): empty.
 * Lines of the two streams interleave, as a parallel dump writes them.
 */
const STREAMS: SnapshotStream[] = [
  { name: 'pre-data', role: 'pre-data' },
  { name: 'table/public.users', role: 'table' },
  // No bytes: no chunk lines, an empty file.
  { name: 'post-data', role: 'post-data' },
];
const PLACEMENTS: Placement[] = [
  { stream: 0, chunk: 0, pack: 0 },
  { stream: 1, chunk: 2, pack: 0 },
  { stream: 0, chunk: 1, pack: 0 },
  { stream: 1, chunk: 1, pack: 0 },
  { stream: 0, chunk: 3, pack: 1 },
  { stream: 1, chunk: 4, pack: 1 },
];
/** Where each chunk is stored: pack 0 holds 0, 1, 2; pack 1 holds 3, 4. */
const PACK_OF = [0, 0, 0, 1, 1] as const;

describe('scripts/restore-chunked.sh', () => {
  const tools = requireTools('bash', 'age', 'age-keygen', 'zstd', 'python3', 'sha256sum', 'dd', 'awk', 'gzip');
  if (!tools) return;

  let root = '';
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-restore-chunked-'));
  });
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** Builds the snapshot in `<dir>/run` and `<dir>/shared` with the CLIs; returns the streams' expected bytes. */
  function buildSnapshot(dir: string, compression: 'zstd' | 'gzip', recipient: string | undefined): { expected: Buffer[]; packNames: string[] } {
    const compress = (raw: Buffer) => (compression === 'zstd' ? execFileSync('zstd', ['-q', '-c', '-3'], { input: raw }) : gzipSync(raw));
    const packNames = [newPackName(recipient !== undefined), newPackName(recipient !== undefined)];
    const plain: Buffer[][] = [[], []];
    const location: { offset: number; stored: number }[] = [];
    const sizes = [0, 0];
    CHUNKS.forEach((raw, i) => {
      const stored = compress(raw);
      const pack = PACK_OF[i]!;
      location[i] = { offset: sizes[pack]!, stored: stored.length };
      plain[pack]!.push(stored);
      sizes[pack]! += stored.length;
    });
    mkdirSync(join(dir, 'run'), { recursive: true });
    mkdirSync(join(dir, 'shared'));
    const packs: Record<string, Buffer> = {};
    packNames.forEach((name, i) => {
      const plainFile = join(dir, `plain-${i}`);
      writeFileSync(plainFile, Buffer.concat(plain[i]!));
      if (recipient) execFileSync('age', ['-r', recipient, '-o', join(dir, 'shared', name), plainFile]);
      else writeFileSync(join(dir, 'shared', name), readFileSync(plainFile));
      packs[name] = readFileSync(join(dir, 'shared', name));
    });
    const lines = [indexHeaderLine(), ...STREAMS.map((stream, n) => streamLine(n, stream))];
    for (const { stream, chunk } of PLACEMENTS) {
      lines.push(chunkLine({ stream, id: sha256(CHUNKS[chunk]!), pack: packNames[PACK_OF[chunk]!]!, offset: location[chunk]!.offset, storedLength: location[chunk]!.stored, rawLength: CHUNKS[chunk]!.length }));
    }
    const index = gzipSync(lines.join(''));
    writeFileSync(join(dir, 'run', INDEX_OBJECT_NAME), index);
    const manifest = chunkedManifestText({ job: 'shop', runId: newRunId(new Date('2026-11-20T03:00:00Z')), packs, index, compression, ...(recipient ? { recipient } : {}), layout: 'multi-stream', streams: STREAMS.length, chunks: PLACEMENTS.length });
    writeFileSync(join(dir, 'run', 'manifest.json'), manifest);
    const expected = STREAMS.map((_, n) => Buffer.concat(PLACEMENTS.filter((p) => p.stream === n).map((p) => CHUNKS[p.chunk]!)));
    return { expected, packNames };
  }

  function identityIn(dir: string): { identity: string; recipient: string } {
    const identity = join(dir, 'identity.txt');
    execFileSync('age-keygen', ['-o', identity], { stdio: 'ignore' });
    return { identity, recipient: execFileSync('age-keygen', ['-y', identity]).toString().trim() };
  }

  const restore = (dir: string, identity: string) => run('bash', [script, join(dir, 'run'), join(dir, 'shared'), identity, join(dir, 'out')], { timeoutMs: 60_000 });

  it('rebuilds every stream byte for byte from age packs of zstd chunks, and says how to load them', async () => {
    const dir = join(root, 'age-zstd');
    mkdirSync(dir);
    const { identity, recipient } = identityIn(dir);
    const { expected } = buildSnapshot(dir, 'zstd', recipient);

    const result = await restore(dir, identity);

    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(join(dir, 'out', '0-pre-data'))).toEqual(expected[0]);
    expect(readFileSync(join(dir, 'out', '1-table_public.users'))).toEqual(expected[1]);
    expect(readFileSync(join(dir, 'out', '2-post-data'))).toEqual(Buffer.alloc(0));
    expect(result.stdout).toContain("pg_restore -d <database> '");
    expect(result.stdout).toContain(`\\copy public.users FROM '${join(dir, 'out', '1-table_public.users')}'`);
    // Nothing but the streams is left in the output folder (the decrypted packs are removed).
    expect(execFileSync('ls', ['-A', join(dir, 'out')]).toString().trim().split('\n').sort()).toEqual(['0-pre-data', '1-table_public.users', '2-post-data']);
  });

  it('fails naming a pack that was tampered with, before writing any stream', async () => {
    const dir = join(root, 'tampered');
    mkdirSync(dir);
    const { identity, recipient } = identityIn(dir);
    const { packNames } = buildSnapshot(dir, 'zstd', recipient);
    const victim = join(dir, 'shared', packNames[1]!);
    const bytes = readFileSync(victim);
    bytes[bytes.length - 20]! ^= 0x01;
    writeFileSync(victim, bytes);

    const result = await restore(dir, identity);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`restore-chunked: error: ${victim} does not match its SHA-256 in manifest.json`);
  });

  it('restores gzip chunks from unencrypted packs', async () => {
    const dir = join(root, 'plain-gzip');
    mkdirSync(dir);
    const { expected } = buildSnapshot(dir, 'gzip', undefined);

    const result = await restore(dir, '/nonexistent-identity');

    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(join(dir, 'out', '0-pre-data'))).toEqual(expected[0]);
    expect(readFileSync(join(dir, 'out', '1-table_public.users'))).toEqual(expected[1]);
  });
});
