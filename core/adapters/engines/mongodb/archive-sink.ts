import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { IntegrityError, oneLine } from '../../../errors.js';
import { ArchiveChecker, ArchiveFormatError, type ArchivePrelude, type ArchiveSummary } from './mongo-archive.js';

/** Where the archive goes once its prelude is known (a mongorestore's stdin), and how to explain its failure. */
export interface ArchiveConsumer {
  readonly stream: Writable;
  /** The consumer's own error (the tool's exit status) when a write to it failed, else `cause`. */
  explain(cause: Error): Promise<Error>;
}

/**
 * A Writable that checks a mongodump archive as it passes ({@link ArchiveChecker}) and, once
 * the prelude has been read, hands every byte on to a consumer chosen from that prelude
 * (which databases and collections the archive holds decides mongorestore's flags). Without
 * a consumer it only checks. Every chunk is checked before it is handed on, so a damaged
 * archive stops at the first bad byte; it finishes only when the archive was complete and
 * the consumer finished (the tool exited 0).
 */
export class ArchiveSink extends Writable {
  private readonly checker: ArchiveChecker;
  private consumer: ArchiveConsumer | undefined;
  private starting: Promise<void> | undefined;
  private readonly held: Buffer[] = [];
  private summaryValue: ArchiveSummary | undefined;

  constructor(private readonly startConsumer?: (prelude: ArchivePrelude) => Promise<ArchiveConsumer | undefined>) {
    super({ highWaterMark: 1024 * 1024 });
    this.checker = new ArchiveChecker();
  }

  /** What the archive held; set once the sink finished. */
  get summary(): ArchiveSummary | undefined {
    return this.summaryValue;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    void this.accept(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    void this.complete().then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Finished consumers stay as they are; anything else (a tool still reading) is killed.
    if (this.consumer && !this.consumer.stream.writableFinished) this.consumer.stream.destroy(error ?? undefined);
    callback(error);
  }

  private async accept(chunk: Buffer): Promise<void> {
    this.check(() => this.checker.push(chunk));
    if (this.consumer) return this.forward(chunk);
    if (!this.startConsumer) return;
    this.held.push(chunk);
    const prelude = this.checker.preludeRead;
    if (!prelude) return;
    this.starting ??= this.startConsumer(prelude).then((consumer) => {
      this.consumer = consumer;
      // A tool that dies between writes fails its stdin stream on its own: fail this sink with
      // that error at once (and never leave the 'error' unheard).
      consumer?.stream.on('error', (error) => {
        if (!this.destroyed) this.destroy(error);
      });
    });
    await this.starting;
    if (!this.consumer) {
      this.held.length = 0;
      return;
    }
    for (const held of this.held.splice(0)) await this.forward(held);
  }

  private async complete(): Promise<void> {
    this.summaryValue = this.check(() => this.checker.finish());
    if (!this.consumer) return;
    const stream = this.consumer.stream;
    stream.end();
    try {
      await finished(stream);
    } catch (error) {
      throw await this.consumer.explain(error as Error);
    }
  }

  private async forward(chunk: Buffer): Promise<void> {
    const consumer = this.consumer!;
    try {
      await new Promise<void>((resolve, reject) => consumer.stream.write(chunk, (error) => (error ? reject(error) : resolve())));
    } catch (error) {
      throw await consumer.explain(error as Error);
    }
  }

  private check<T>(step: () => T): T {
    try {
      return step();
    } catch (error) {
      // The message may quote names read from the archive: one line, control characters escaped.
      if (error instanceof ArchiveFormatError) throw new IntegrityError(`the MongoDB archive is damaged: ${oneLine(error)}`, { cause: error });
      throw error;
    }
  }
}

/** "archive complete: 5 collection(s), 10234 document(s)" (system collections such as `system.views` not counted). */
export function describeSummary(summary: ArchiveSummary): string {
  const counted = summary.prelude.namespaces.filter((ns) => ns.db !== '' && !ns.collection.startsWith('system.'));
  const views = counted.filter((ns) => ns.type === 'view').length;
  let documents = 0;
  for (const ns of counted) documents += summary.documents.get(`${ns.db}.${ns.collection}`) ?? 0;
  const oplog = summary.prelude.namespaces.some((ns) => ns.db === '' && ns.collection === 'oplog') ? `, oplog of ${summary.documents.get('.oplog') ?? 0} entries` : '';
  return `archive complete: ${counted.length - views} collection(s)${views ? `, ${views} view(s)` : ''}, ${documents} document(s)${oplog}`;
}
