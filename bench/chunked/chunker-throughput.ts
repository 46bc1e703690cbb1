/**
 * What one core does per second at the head of the chunked write path: FastCDC over a dump's
 * bytes, then the HMAC-SHA-256 chunk id of each chunk, in this process (single-threaded), from
 * memory so the disk does not count. CPU seconds are the figure on a shared machine; wall time
 * is given beside them.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { CHUNKER_PARAMS } from '../../core/domain/snapshot-format.js';
import { chunkIdOf } from '../../core/pipeline/chunking/chunk-id.js';
import { FastCdcChunker } from '../../core/pipeline/chunking/fastcdc.js';

export interface ChunkerThroughput {
  readonly inputBytes: number;
  readonly chunks: number;
  /** MB (10^6 bytes) of input per CPU second, and per wall second. */
  readonly fastcdcMBps: { readonly cpu: number; readonly wall: number };
  readonly fastcdcHmacMBps: { readonly cpu: number; readonly wall: number };
}

/** Reads at most `maxBytes` of `file` and measures the chunker alone, then chunker + HMAC (median of `rounds`). */
export function measureChunker(file: string, maxBytes: number, rounds = 3): ChunkerThroughput {
  const data = readHead(file, maxBytes);
  // 64 KiB pieces: what a stream hands the chunker.
  const pieces: Buffer[] = [];
  for (let at = 0; at < data.length; at += 64 * 1024) pieces.push(data.subarray(at, at + 64 * 1024));
  const key = randomBytes(32);
  let chunks = 0;
  const pass = (onChunk: (chunk: Buffer) => void) => {
    const chunker = new FastCdcChunker(CHUNKER_PARAMS);
    for (const piece of pieces) chunker.push(piece, onChunk);
    chunker.end(onChunk);
  };
  const rate = (run: () => void) => {
    const figures = Array.from({ length: rounds }, () => {
      const cpu = process.cpuUsage();
      const start = performance.now();
      run();
      const wallS = (performance.now() - start) / 1000;
      const used = process.cpuUsage(cpu);
      const cpuS = (used.user + used.system) / 1e6;
      return { cpu: data.length / 1e6 / cpuS, wall: data.length / 1e6 / wallS };
    });
    return { cpu: middle(figures.map((f) => f.cpu)), wall: middle(figures.map((f) => f.wall)) };
  };
  const fastcdcMBps = rate(() => {
    chunks = 0;
    pass(() => void chunks++);
  });
  const fastcdcHmacMBps = rate(() => pass((chunk) => void chunkIdOf(key, chunk)));
  return { inputBytes: data.length, chunks, fastcdcMBps, fastcdcHmacMBps };
}

function readHead(file: string, maxBytes: number): Buffer {
  const size = Math.min(statSync(file).size, maxBytes);
  const data = Buffer.allocUnsafe(size);
  const fd = openSync(file, 'r');
  try {
    let at = 0;
    while (at < size) {
      const n = readSync(fd, data, at, size - at, at);
      if (n === 0) break;
      at += n;
    }
    return data.subarray(0, at);
  } finally {
    closeSync(fd);
  }
}

function middle(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
