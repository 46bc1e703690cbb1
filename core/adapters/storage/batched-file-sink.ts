import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { StorageError } from '../../errors.js';

/** Bytes gathered before one write: sixteen 64 KiB age chunks. */
const BATCH_BYTES = 1024 * 1024;

/**
 * A Writable into an open file that gathers chunks and writes them with one `writev` per
 * ~1 MiB, fsyncs the file when the stream finishes (complete on disk before the caller renames
 * it) and closes it when the stream is done, cleanly or not.
 *
 * Why not `fs.createWriteStream`: it writes each chunk as it comes, one trip through libuv's
 * thread pool per 64 KiB age chunk (a worker woken, then the main thread), and on a busy 2-core
 * machine those wake-ups cost more CPU than copying the bytes. Batching sends the same bytes,
 * unchanged and uncopied, in a sixteenth of the trips.
 */
export function batchedFileSink(file: FileHandle): Writable {
  let batch: Buffer[] = [];
  let batchBytes = 0;
  const flush = async () => {
    const buffers = batch;
    batch = [];
    batchBytes = 0;
    await writeAll(file, buffers);
  };
  return new Writable({
    highWaterMark: BATCH_BYTES,
    write(chunk: Buffer, _encoding, callback) {
      batch.push(chunk);
      batchBytes += chunk.length;
      if (batchBytes < BATCH_BYTES) return callback();
      flush().then(() => callback(), callback);
    },
    final(callback) {
      flush()
        .then(() => file.sync())
        .then(() => callback(), callback);
    },
    destroy(error, callback) {
      file.close().then(
        () => callback(error),
        (closeError: Error) => callback(error ?? closeError),
      );
    },
  });
}

/** `writev` until every byte is written: a write may take fewer bytes than it was given. */
async function writeAll(file: FileHandle, buffers: Buffer[]): Promise<void> {
  let pending = buffers;
  while (pending.length > 0) {
    const { bytesWritten } = await file.writev(pending);
    // A regular file takes at least one byte or fails: nothing at all would loop forever.
    if (bytesWritten === 0) throw new StorageError('writing a file failed: it took no bytes; check the disk is not full', false);
    pending = dropBytes(pending, bytesWritten);
  }
}

/** What is left of `buffers` after their first `count` bytes. */
function dropBytes(buffers: Buffer[], count: number): Buffer[] {
  let left = count;
  let index = 0;
  while (index < buffers.length && left >= buffers[index]!.length) left -= buffers[index++]!.length;
  if (index === buffers.length) return [];
  return [buffers[index]!.subarray(left), ...buffers.slice(index + 1)];
}
