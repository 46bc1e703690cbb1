import { PassThrough, type Readable } from 'node:stream';

/** Frame header of Docker's attach stream without a TTY: stream type (1 byte), 3 zero bytes, payload length (uint32 BE). */
const HEADER_BYTES = 8;
const STDOUT = 1;
const STDERR = 2;

/**
 * Splits Docker's multiplexed attach stream into the container's stdout and stderr. Both end
 * when the attach stream ends; a stream error fails stdout. Back-pressure follows stdout (the
 * payload: a tar stream); stderr is small and read by the caller as it comes.
 */
export function demuxAttachStream(attach: Readable): { stdout: PassThrough; stderr: PassThrough } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let pending: Buffer = Buffer.alloc(0);
  attach.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= HEADER_BYTES) {
      const size = pending.readUInt32BE(4);
      if (pending.length < HEADER_BYTES + size) break;
      const payload = pending.subarray(HEADER_BYTES, HEADER_BYTES + size);
      const kind = pending[0];
      pending = pending.subarray(HEADER_BYTES + size);
      if (kind === STDERR) stderr.write(payload);
      else if (kind === STDOUT && !stdout.write(payload)) {
        attach.pause();
        stdout.once('drain', () => attach.resume());
      }
    }
  });
  attach.once('end', () => {
    stdout.end();
    stderr.end();
  });
  // `on`, not `once`: a hijacked socket has no other error listener, and a second error unheard would crash the process.
  // stdout carries the failure (a dump cut short must not pass for a complete one); stderr just ends.
  attach.on('error', (error) => {
    stdout.destroy(error);
    stderr.destroy();
  });
  return { stdout, stderr };
}
