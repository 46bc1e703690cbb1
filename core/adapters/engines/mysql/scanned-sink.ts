import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { MysqlDumpScanner } from './mysql-dump-scanner.js';

/**
 * A Writable that reads a dump through a {@link MysqlDumpScanner} and forwards what it keeps
 * to `target` (the SQL client's stdin), one chunk at a time, with the target's backpressure.
 *
 * At the end, `check` runs before the target sees the end of its input: if it returns an
 * error (the stream is truncated, a selected table was missing), the sink fails and the target
 * is destroyed instead of ended, so the client never takes a cut-off dump for a whole one.
 * Destroying the sink destroys the target (which kills the client).
 */
export class ScannedSink extends Writable {
  constructor(
    private readonly scanner: MysqlDumpScanner,
    private readonly target: Writable,
    private readonly check: () => Error | undefined,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    target.once('error', (error) => this.destroy(error));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.forward(this.scanner.push(chunk), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const rest = this.scanner.end();
    const problem = this.check();
    if (problem) return callback(problem);
    this.forward(rest, (error) => {
      if (error) return callback(error);
      this.target.end();
      finished(this.target, { readable: false }).then(
        () => callback(),
        (failure: Error) => callback(failure),
      );
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (error || !this.writableFinished) this.target.destroy(error ?? undefined);
    callback(error);
  }

  private forward(parts: Buffer[], callback: (error?: Error | null) => void): void {
    if (parts.length === 0) return callback();
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.target.write(bytes, (error) => callback(error));
  }
}
