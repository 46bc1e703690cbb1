import type { Readable } from 'node:stream';
import { IntegrityError } from '../errors.js';

/**
 * Reads a small object (a manifest, a signature) whole, refusing it once it passes `maxBytes`:
 * these are read from storage anyone with write access could have filled, so their size is
 * bounded before they are parsed. `what` names the object in the error.
 */
export async function readBounded(stream: Readable, maxBytes: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      stream.destroy();
      throw new IntegrityError(`${what} is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
