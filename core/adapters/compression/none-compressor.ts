import { PassThrough, type Duplex } from 'node:stream';
import type { Compression, Compressor } from '../../ports/compressor.js';
import { IntegrityError } from '../../errors.js';
import { LeadingBytesCheck } from '../../pipeline/byte-taps.js';
import { compressionThroughNode } from './through-node.js';

/** Magic numbers of the compressed formats Vaultra writes: zstd frames (RFC 8878) and gzip members (RFC 1952). */
const COMPRESSED_MAGIC: readonly { readonly id: string; readonly magic: Buffer }[] = [
  { id: 'zstd', magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]) },
  { id: 'gzip', magic: Buffer.from([0x1f, 0x8b]) },
];

/** No compression: for data that is already compressed, or to measure the rest of the pipeline. */
export class NoneCompressor implements Compressor {
  readonly id = 'none' as const;
  readonly level = 0;
  readonly implementation = 'none';

  async open(): Promise<Compression> {
    return compressionThroughNode(new PassThrough({ highWaterMark: 1024 * 1024 }));
  }

  /**
   * Passes the data through, but refuses data that starts like a compressed stream: the other
   * ids' decompressors fail on data they did not write, and this one should too, instead of
   * handing compressed bytes to a restore tool as if they were the dump (no dump format starts
   * with these magic numbers).
   */
  async decompress(): Promise<Duplex> {
    return new LeadingBytesCheck(4, (head) => {
      const found = COMPRESSED_MAGIC.find(({ magic }) => head.subarray(0, magic.length).equals(magic));
      return found ? new IntegrityError(`the data is ${found.id}-compressed, but its manifest says it is not compressed: the manifest was altered`) : undefined;
    });
  }
}
