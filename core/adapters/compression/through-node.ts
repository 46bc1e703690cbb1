import { pipeline, type Duplex } from 'node:stream';
import type { Compression } from '../../ports/compressor.js';
import { ByteCounter } from '../../pipeline/byte-taps.js';

/**
 * A compression whose plaintext passes through this process: input → byte counter → stage.
 * An error on either side destroys both with that error, so a producer that fails its input
 * fails the output with its own error.
 */
export function compressionThroughNode(stage: Duplex): Compression {
  const counter = new ByteCounter();
  pipeline(counter, stage, () => undefined);
  return { input: counter, output: stage, plaintextBytes: () => counter.bytes };
}
