import { PassThrough, type Duplex } from 'node:stream';
import type { Compression, Compressor } from '../../ports/compressor.js';
import { compressionThroughNode } from './through-node.js';

/** No compression: for data that is already compressed, or to measure the rest of the pipeline. */
export class NoneCompressor implements Compressor {
  readonly id = 'none' as const;
  readonly level = 0;
  readonly implementation = 'none';

  async open(): Promise<Compression> {
    return compressionThroughNode(new PassThrough({ highWaterMark: 1024 * 1024 }));
  }

  async decompress(): Promise<Duplex> {
    return new PassThrough({ highWaterMark: 1024 * 1024 });
  }
}
