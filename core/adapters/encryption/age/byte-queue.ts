/**
 * A FIFO of byte chunks that hands out byte ranges as views into the chunks it was given: no
 * copying unless a caller asks for one contiguous buffer that spans chunks.
 */
export class ByteQueue {
  private readonly chunks: Buffer[] = [];
  /** Bytes of `chunks[0]` already taken. */
  private offset = 0;
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The next `count` bytes as views, in order. `count` must not exceed `length`. */
  take(count: number): Buffer[] {
    const pieces: Buffer[] = [];
    let remaining = count;
    while (remaining > 0) {
      const first = this.chunks[0] as Buffer;
      const available = first.length - this.offset;
      if (available <= remaining) {
        pieces.push(this.offset === 0 ? first : first.subarray(this.offset));
        this.chunks.shift();
        this.offset = 0;
        remaining -= available;
      } else {
        pieces.push(first.subarray(this.offset, this.offset + remaining));
        this.offset += remaining;
        remaining = 0;
      }
    }
    this.length -= count;
    return pieces;
  }

  /** The next `count` bytes as one buffer: a view when they lie in one chunk, else a copy. */
  takeContiguous(count: number): Buffer {
    const pieces = this.take(count);
    return pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces, count);
  }
}
