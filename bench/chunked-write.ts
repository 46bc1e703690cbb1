/**
 * The write side of a chunked snapshot on one core: file → FastCDC → HMAC chunk id → chunk table →
 * zstd per chunk → packs → age → file storage, against `zstd -<level> -T0 < file | age -r … > out`
 * on the same bytes. Prints MB/s of input for both, and the stages alone (chunker, chunker + HMAC,
 * + zstd) to show where the time goes.
 *
 *   npx tsx bench/chunked-write.ts <dump file> [--out <dir>]
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { chunkCodecFor } from '../core/adapters/compression/chunk-codecs.js';
import { AgeEncryptor } from '../core/adapters/encryption/age-encryptor.js';
import { generateX25519Identity } from '../core/adapters/encryption/age/bech32-keys.js';
import { FileStorageBackend } from '../core/adapters/storage/file-storage.js';
import { CHUNKER_PARAMS } from '../core/domain/snapshot-format.js';
import { StorageArtifactWriter } from '../core/pipeline/artifact-writer.js';
import { chunkIdOf } from '../core/pipeline/chunking/chunk-id.js';
import { ChunkTable } from '../core/pipeline/chunking/chunk-table.js';
import { chunkingSink, FastCdcChunker } from '../core/pipeline/chunking/fastcdc.js';
import { PackWriter } from '../core/pipeline/chunking/pack-writer.js';

const file = process.argv[2];
if (!file) throw new Error('usage: chunked-write.ts <dump file> [--out <dir>]');
const outIndex = process.argv.indexOf('--out');
const out = outIndex > 0 ? process.argv[outIndex + 1]! : mkdtempSync(join(tmpdir(), 'vaultra-chunked-bench-'));
const MB = 1e6;
const bytes = statSync(file).size;
const key = randomBytes(32);
const { recipient } = generateX25519Identity();
const headerLength = (prefix: Buffer) => {
  const mac = prefix.indexOf('\n--- ');
  const end = mac < 0 ? -1 : prefix.indexOf(0x0a, mac + 5);
  return end < 0 ? undefined : end + 1;
};

const rate = (ms: number) => `${((bytes / MB) / (ms / 1000)).toFixed(0)} MB/s`;

/**
 * Wall time, and this process's CPU time: on a shared machine the wall time is noise, and the CPU
 * seconds per input MB are the figure (a core's throughput).
 */
async function timed(label: string, run: () => Promise<void> | void): Promise<number> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  await run();
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  console.log(`${label.padEnd(58)} ${(ms / 1000).toFixed(2)} s  ${rate(ms)}  cpu ${(cpuMs / 1000).toFixed(2)} s (${rate(cpuMs)} per cpu-second)`);
  return ms;
}

// Stages alone, from memory (the file read once), to see where a core's time goes.
const data = readFileSync(file);
const pieces: Buffer[] = [];
for (let at = 0; at < data.length; at += 64 * 1024) pieces.push(data.subarray(at, at + 64 * 1024));
const codec = chunkCodecFor('zstd', 3);
const stages = async (work: (chunk: Buffer) => void) => {
  const chunker = new FastCdcChunker(CHUNKER_PARAMS);
  for (const piece of pieces) chunker.push(piece, work);
  chunker.end(work);
};
await timed('in memory: FastCDC', () => stages(() => undefined));
await timed('in memory: FastCDC + HMAC-SHA-256', () => stages((chunk) => void chunkIdOf(key, chunk)));
let stored = 0;
await timed('in memory: FastCDC + HMAC + zstd -3 per chunk', () =>
  stages((chunk) => {
    chunkIdOf(key, chunk);
    stored += codec.compress(chunk).length;
  }),
);
console.log(`  zstd per chunk: ${(stored / MB).toFixed(1)} MB stored (${((100 * stored) / bytes).toFixed(1)}%)`);

// The whole write path, from the file.
const vaultraOut = join(out, 'vaultra');
const storage = new FileStorageBackend(vaultraOut);
const writer = new StorageArtifactWriter([storage], 'job/2026/12/06/20261206T120000Z-abcd');
const packs = new PackWriter({ writer, encryptor: new AgeEncryptor([{ kind: 'x25519', recipient }]), headerLength, codec });
const table = new ChunkTable();
let chunks = 0;
const vaultraMs = await timed('vaultra: file → chunk → HMAC → zstd → pack → age → file', async () => {
  await pipeline(
    createReadStream(file, { highWaterMark: 1024 * 1024 }),
    chunkingSink(CHUNKER_PARAMS, async (chunk) => {
      chunks++;
      const id = chunkIdOf(key, chunk);
      if (!table.has(id)) table.set(id, await packs.add(chunk));
    }),
  );
  await packs.close();
});
console.log(`  ${chunks} chunks, ${table.size} distinct, ${packs.packsWritten} packs, ${(packs.bytesStored() / MB).toFixed(1)} MB stored, table ${(table.memoryBytes() / MB).toFixed(1)} MB`);

let shellCpu = '';
const shellMs = await timed('shell: zstd -3 -T0 < file | age -r … > out', () => {
  // bash's `time` gives the pipeline's CPU (user+system, both processes), which cpuUsage cannot see.
  const script = `TIMEFORMAT='%U %S'; time (zstd -3 -T0 -q -c < "$1" | age -r "$2" > "$3")`;
  shellCpu = execFileSync('bash', ['-c', `${script} 2>&1`, 'bench', file, recipient, join(out, 'shell.zst.age')], { encoding: 'utf8' }).trim();
});
const [user, system] = shellCpu.split(' ').map(Number);
const shellCpuMs = ((user ?? 0) + (system ?? 0)) * 1000;
console.log(`  shell pipeline cpu ${(shellCpuMs / 1000).toFixed(2)} s (${rate(shellCpuMs)} per cpu-second)`);
console.log(`  shell output ${(statSync(join(out, 'shell.zst.age')).size / MB).toFixed(1)} MB; vaultra/shell time ratio ${(vaultraMs / shellMs).toFixed(2)}`);
if (outIndex < 0) rmSync(out, { recursive: true, force: true });
