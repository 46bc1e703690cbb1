import type { Duplex } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import type { Compression, Compressor } from '../../ports/compressor.js';
import { compressionThroughNode } from './through-node.js';
import { PipelineStageError } from '../../errors.js';
import { spawnTool, toolStage } from '../process/child-process.js';
import { describeExit } from './zstd-cli-compressor.js';

/**
 * gzip through `pigz` (parallel, every core) when it is installed. Output is a standard gzip
 * stream either way, so restore always uses zlib, which is as fast as pigz at decompressing
 * (pigz decompresses on one thread) and needs no process.
 */
export class PigzCompressor implements Compressor {
  readonly id = 'gzip' as const;
  readonly implementation: string;

  constructor(
    readonly level: number,
    version: string,
  ) {
    this.implementation = `${version} (cli)`;
  }

  async open(): Promise<Compression> {
    const tool = await spawnTool('pigz', [`-${this.level}`, '-c', '-'], { stdin: 'pipe', installHint: 'install pigz (apt-get install pigz)' });
    return compressionThroughNode(toolStage(tool, (exit) => new PipelineStageError(`pigz failed while compressing (${describeExit(exit)})`)));
  }

  async decompress(): Promise<Duplex> {
    return gunzip();
  }
}

/** gzip on Node's zlib: one thread, no dependency. The fallback when pigz is missing. */
export class ZlibGzipCompressor implements Compressor {
  readonly id = 'gzip' as const;
  readonly implementation = `node zlib ${process.versions.zlib}`;

  constructor(readonly level: number) {}

  async open(): Promise<Compression> {
    return compressionThroughNode(createGzip({ level: this.level, chunkSize: 256 * 1024 }));
  }

  async decompress(): Promise<Duplex> {
    return gunzip();
  }
}

function gunzip(): Duplex {
  return createGunzip({ chunkSize: 256 * 1024 });
}
