/**
 * Cuts a stream into blocks and stages them, a bounded number at a time, in the order they
 * come: the transport half of a block blob upload, independent of the SDK (the caller passes
 * `stage`). Nothing becomes visible here: the caller commits the returned block list.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { blockSizeBytes, blocksInFlight, MAX_BLOCKS, type BlockSchedule } from './block-schedule.js';

export interface StagedBlocks {
  /** Block ids in stream order: the list to commit. */
  readonly blockIds: readonly string[];
  readonly sizeBytes: number;
  /** MD5 of the whole stream: the blob's `Content-MD5`, compared on every read. */
  readonly contentMd5: Buffer;
}

/**
 * One block: the stream's own chunks (pieces of them at the block's edges), never copied into
 * one big buffer, so staging a block allocates nothing the stream had not already allocated.
 */
export interface Block {
  readonly chunks: readonly Buffer[];
  readonly sizeBytes: number;
  /** The block's transactional MD5, which the service checks against the bytes it received. */
  readonly md5: Buffer;
}

/** Stages one block. Must be safe to call again with the same arguments (a retry). */
export type StageBlock = (blockId: string, block: Block, signal: AbortSignal) => Promise<void>;

/**
 * Block ids must all have the same length within a blob. A random upload id in each keeps this
 * upload's blocks apart from those of an earlier failed upload to the same name (the service
 * keeps uncommitted blocks until a commit or for 7 days).
 */
function blockIdFactory(): (index: number) => string {
  const upload = randomBytes(6).toString('hex');
  return (index) => Buffer.from(`${upload}-${String(index).padStart(6, '0')}`).toString('base64');
}

/**
 * Reads `body` to its end, cutting it into blocks sized by `schedule` and staging each through
 * `stage`, with at most `blocksInFlight()` blocks outstanding. `body` is not read while that
 * many are in flight, so a slow service slows the producer instead of filling memory.
 *
 * On any failure (a block that failed for good, `body` erroring, `signal` aborting) the
 * outstanding stages are aborted and awaited before the promise rejects, so nothing keeps
 * running after it; `body` is destroyed.
 */
export async function stageBlocks(body: Readable, stage: StageBlock, schedule: BlockSchedule, signal?: AbortSignal): Promise<StagedBlocks> {
  const stop = new AbortController();
  const blockId = blockIdFactory();
  const whole = createHash('md5');
  const blockIds: string[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let sizeBytes = 0;

  const fail = (error: unknown) => {
    failure ??= { error };
    stop.abort(error);
    // Wake the reader if it is waiting for the next chunk of a slow body.
    body.destroy();
  };
  const onAbort = () => fail(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });

  const dispatch = async (chunks: Buffer[], blockBytes: number) => {
    if (blockIds.length >= MAX_BLOCKS) throw new RangeError(`the stream needs more than ${MAX_BLOCKS} blocks, the service's limit`);
    const id = blockId(blockIds.length);
    blockIds.push(id);
    const md5 = createHash('md5');
    for (const chunk of chunks) {
      md5.update(chunk);
      whole.update(chunk);
    }
    const block: Block = { chunks, sizeBytes: blockBytes, md5: md5.digest() };
    const limit = blocksInFlight(blockBytes, schedule);
    while (inFlight.size >= limit && !failure) await Promise.race(inFlight);
    if (failure) throw failure.error;
    const staging: Promise<void> = stage(id, block, stop.signal).then(
      () => void inFlight.delete(staging),
      (error: unknown) => {
        inFlight.delete(staging);
        fail(error);
      },
    );
    inFlight.add(staging);
  };

  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let target = blockSizeBytes(0, schedule);
    if (signal?.aborted) fail(signal.reason);
    for await (const data of body) {
      if (failure) break;
      let chunk = Buffer.isBuffer(data) ? data : Buffer.from(data as Uint8Array);
      sizeBytes += chunk.length;
      while (chunk.length > 0) {
        const take = Math.min(chunk.length, target - pendingBytes);
        pending.push(chunk.subarray(0, take));
        pendingBytes += take;
        chunk = chunk.subarray(take);
        if (pendingBytes === target) {
          await dispatch(pending, pendingBytes);
          pending = [];
          pendingBytes = 0;
          target = blockSizeBytes(blockIds.length, schedule);
        }
      }
    }
    if (!failure && pendingBytes > 0) await dispatch(pending, pendingBytes);
    while (inFlight.size > 0) await Promise.race(inFlight);
    if (failure) throw failure.error;
    return { blockIds, sizeBytes, contentMd5: whole.digest() };
  } catch (error) {
    const cause = failure ? failure.error : error;
    stop.abort(cause);
    body.destroy();
    await Promise.allSettled(inFlight);
    throw cause;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
