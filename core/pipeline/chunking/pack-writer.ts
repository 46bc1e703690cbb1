import { createHash, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArtifactObject } from '../../domain/manifest.js';
import { PACK_TARGET_BYTES, packName, type ChunkLocation } from '../../domain/snapshot-format.js';
import { AbortedError, ConfigError, PipelineStageError, VaultraError } from '../../errors.js';
import type { ArtifactWriter, ObjectWrite } from '../../ports/artifact.js';
import type { ChunkCodec } from '../../ports/compressor.js';
import type { Encryptor, HeaderLength } from '../../ports/encryptor.js';

export interface PackWriterOptions {
  readonly writer: ArtifactWriter;
  readonly encryptor: Encryptor;
  /** Where the encrypted file's header ends: required when `encryptor` encrypts, to pin each pack's header (`headerSha256`). */
  readonly headerLength?: HeaderLength;
  readonly codec: ChunkCodec;
  /** Plaintext bytes a pack grows to before the next one starts. @default PACK_TARGET_BYTES */
  readonly targetPackBytes?: number;
  /** 32 hex digits naming a new pack. @default 16 random bytes from node:crypto */
  readonly randomHex?: () => string;
  readonly signal?: AbortSignal;
}

/**
 * Finished packs still uploading while the next one fills: a slow destination holds the writer
 * back at this many (memory stays at a few stream buffers per pack), a fast one never notices.
 */
const MAX_FINISHING_PACKS = 2;
/** An age header longer than this is not one (the decrypting side refuses beyond 64 KiB too). */
const MAX_HEADER_BYTES = 1024 * 1024;

type PackOutcome = { readonly object: ArtifactObject } | { readonly error: unknown };

/**
 * Writes a chunked snapshot's new chunks into packs (docs/chunked-snapshots.md): each chunk
 * compressed on its own and appended to the current pack's plaintext, which streams through the
 * encryptor into every destination as it grows; a pack that reached its target size is ended and
 * the next one opened. Packs are shared objects, opened discardable: until this run's manifest
 * exists nobody references them, so `ArtifactWriter.discard` removes them when the run fails.
 *
 * `add` calls are taken one at a time in call order (a caller may fire several without waiting).
 */
export class PackWriter {
  private readonly writer: ArtifactWriter;
  private readonly encryptor: Encryptor;
  private readonly headerLength: HeaderLength | undefined;
  private readonly codec: ChunkCodec;
  private readonly targetPackBytes: number;
  private readonly randomHex: () => string;
  private readonly signal: AbortSignal | undefined;
  private readonly packs: OpenPack[] = [];
  private current: OpenPack | undefined;
  /** Packs ended but not yet stored everywhere. */
  private readonly finishing = new Set<OpenPack>();
  /** The first failure: every later call rejects with it. */
  private failure: { readonly error: unknown } | undefined;
  private closed = false;
  /** The last `add` queued: the next one starts once it settled. */
  private tail: Promise<unknown> = Promise.resolve();
  private stored = 0;

  constructor(options: PackWriterOptions) {
    const target = options.targetPackBytes ?? PACK_TARGET_BYTES;
    if (!Number.isInteger(target) || target < 1) throw new ConfigError(`targetPackBytes must be a positive integer, got ${target}`);
    if (options.encryptor.format !== 'none' && !options.headerLength) {
      throw new ConfigError(`packs encrypted as ${options.encryptor.format} need a headerLength to pin their headers in the manifest`);
    }
    this.writer = options.writer;
    this.encryptor = options.encryptor;
    this.headerLength = options.encryptor.format === 'none' ? undefined : options.headerLength;
    this.codec = options.codec;
    this.targetPackBytes = target;
    this.randomHex = options.randomHex ?? (() => randomBytes(16).toString('hex'));
    this.signal = options.signal;
  }

  /** Packs stored in every destination so far. */
  get packsWritten(): number {
    return this.stored;
  }

  /** Stored (encrypted) bytes passed to the destinations so far, for progress. */
  bytesStored(): number {
    return this.packs.reduce((sum, pack) => sum + pack.write.bytes(), 0);
  }

  /**
   * Compresses `raw`, appends it to the current pack, and resolves with where it lies once the
   * pack's stream took it. Rejects with the writer's first failure (a destination that failed, an
   * abort) from then on. The chunk is durable only once `close` resolved.
   */
  add(raw: Buffer): Promise<ChunkLocation> {
    const added = this.tail.then(() => this.append(raw));
    this.tail = added.catch(() => undefined);
    return added;
  }

  /**
   * Ends the last pack and waits until every pack is stored in every destination. Resolves with
   * the packs as the manifest lists them (`headerSha256` for encrypted ones); rejects with the
   * root cause when any pack failed, every pack's stream torn down.
   */
  async close(): Promise<ArtifactObject[]> {
    await this.tail;
    this.closed = true;
    if (this.current) this.finish(this.current);
    const outcomes = await Promise.all(this.packs.map((pack) => pack.settled));
    if (this.failure) throw this.failure.error;
    return outcomes.map((outcome) => ('object' in outcome ? outcome.object : unreachable()));
  }

  /**
   * Tears down every pack still being written (their uploads fail and leave nothing behind); `add`
   * and `close` reject with `error` from then on. Packs already stored stay until the caller's
   * `ArtifactWriter.discard`.
   */
  abort(error: unknown = new AbortedError('interrupted: the backup was cancelled while writing packs')): void {
    this.fail(error);
  }

  /**
   * Resolves once every pack's upload settled, stored or failed (after `abort`): an upload that
   * completes after the run's writer removed what it had stored would be left behind.
   */
  async settled(): Promise<void> {
    await this.tail;
    await Promise.allSettled(this.packs.map((pack) => pack.settled));
  }

  private async append(raw: Buffer): Promise<ChunkLocation> {
    this.throwIfFailed();
    if (this.closed) throw new Error('PackWriter: add() after close()');
    if (this.signal?.aborted) this.fail(new AbortedError('interrupted: the backup was cancelled while writing packs', { cause: this.signal.reason }));
    this.throwIfFailed();
    const stored = this.codec.compress(raw);
    const pack = this.current ?? (await this.openNext());
    const offset = pack.plaintextBytes;
    pack.plaintextBytes += stored.length;
    if (!pack.input.write(stored)) await pack.drained();
    this.throwIfFailed();
    if (pack.plaintextBytes >= this.targetPackBytes) this.finish(pack);
    return { pack: pack.name, offset, storedLength: stored.length, rawLength: raw.length };
  }

  /** Opens the next pack once at most MAX_FINISHING_PACKS others are still uploading. */
  private async openNext(): Promise<OpenPack> {
    while (this.finishing.size > MAX_FINISHING_PACKS) await Promise.race([...this.finishing].map((pack) => pack.settled));
    this.throwIfFailed();
    const name = packName(this.randomHex(), this.encryptor.format === 'age-v1');
    const write = this.writer.open({ name, role: 'pack', scope: 'shared', discardable: true }, this.signal);
    const pack = new OpenPack(name, write, this.encryptor.encrypt(), this.headerLength && new HeaderDigest(this.headerLength), this.signal);
    this.packs.push(pack);
    this.current = pack;
    void pack.settled.then((outcome) => {
      this.finishing.delete(pack);
      if ('error' in outcome) this.fail(outcome.error);
      else this.stored++;
    });
    return pack;
  }

  private finish(pack: OpenPack): void {
    this.current = undefined;
    this.finishing.add(pack);
    pack.input.end();
  }

  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = { error };
    for (const pack of this.packs) pack.destroy(error);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}

/** One pack being written: plaintext into `input` → encrypt → header digest → the artifact writer's stages. */
class OpenPack {
  plaintextBytes = 0;
  /** Resolves (never rejects) once the pack is stored everywhere, or failed. */
  readonly settled: Promise<PackOutcome>;

  constructor(
    readonly name: string,
    readonly write: ObjectWrite,
    readonly input: Transform,
    private readonly header: HeaderDigest | undefined,
    signal: AbortSignal | undefined,
  ) {
    const stages = [input, ...(header ? [header] : []), ...write.stages];
    const piped = pipeline(stages, { signal });
    this.settled = Promise.allSettled([piped, ...write.stored]).then((results): PackOutcome => {
      const errors = results.filter((result) => result.status === 'rejected').map((result) => (result as PromiseRejectedResult).reason as unknown);
      if (errors.length > 0) return { error: rootCause(errors) };
      const headerSha256 = this.header?.sha256;
      return { object: { ...write.described(), ...(headerSha256 ? { headerSha256 } : {}) } };
    });
  }

  /** Resolves once the input can take more, or is gone (the caller then checks for a failure). */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.input.off('drain', done);
        this.input.off('close', done);
        resolve();
      };
      this.input.on('drain', done);
      this.input.on('close', done);
    });
  }

  /**
   * Tears every stage down, not only the input: a pack that was ended may still be uploading from
   * the later stages, and its upload must stop too (its destinations then remove what they started).
   */
  destroy(error: unknown): void {
    const cause = error instanceof Error ? error : new Error(String(error));
    for (const stage of [this.input, ...(this.header ? [this.header] : []), ...this.write.stages]) {
      if (!stage.destroyed) stage.destroy(cause);
    }
  }
}

/**
 * Passes the encrypted bytes on untouched and takes the SHA-256 of the header at their start,
 * which the manifest pins (`headerSha256`), so a reader refuses a pack re-encrypted to the same
 * public recipients.
 */
class HeaderDigest extends Transform {
  private prefix: Buffer = Buffer.alloc(0);
  sha256: string | undefined;

  constructor(private readonly headerLength: HeaderLength) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.sha256 === undefined) {
      this.prefix = Buffer.concat([this.prefix, chunk]);
      const length = this.headerLength(this.prefix);
      if (length !== undefined) {
        this.sha256 = createHash('sha256').update(this.prefix.subarray(0, length)).digest('hex');
        this.prefix = Buffer.alloc(0);
      } else if (this.prefix.length > MAX_HEADER_BYTES) {
        return callback(new PipelineStageError(`the encryptor wrote ${this.prefix.length} bytes without a complete header: not a file its headerLength reads`));
      }
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    callback(this.sha256 === undefined ? new PipelineStageError('an encrypted pack ended before its header did: not a file its headerLength reads') : null);
  }
}

/**
 * Every stage of a failed pack reports something; the one that broke gives the cause: a Vaultra
 * error first (a destination's StorageError), an abort as `AbortedError`, else the first error
 * that is not a side effect of the teardown ("premature close").
 */
function rootCause(errors: readonly unknown[]): unknown {
  const ours = errors.find((e) => e instanceof VaultraError && !(e instanceof AbortedError));
  if (ours) return ours;
  const aborted = errors.find((e) => e instanceof AbortedError || (e as { name?: string })?.name === 'AbortError');
  if (aborted) return aborted instanceof AbortedError ? aborted : new AbortedError('interrupted: the backup was cancelled while writing packs', { cause: aborted });
  return errors.find((e) => (e as NodeJS.ErrnoException)?.code !== 'ERR_STREAM_PREMATURE_CLOSE') ?? errors[0];
}

function unreachable(): never {
  throw new Error('PackWriter: a pack without an outcome after close');
}
