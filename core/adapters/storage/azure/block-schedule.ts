/**
 * How big each block of a streamed upload is. A block blob holds at most 50,000 blocks of at
 * most 4000 MiB, and a stream's length is unknown until it ends, so a fixed block size either
 * caps the backup (8 MiB × 50,000 = 390 GiB) or wastes memory on small ones. Instead the size
 * doubles every `blocksPerTier` blocks, from `firstBlockSizeBytes` up to the service maximum:
 * with the defaults (8 MiB, 2,000 blocks per tier) blocks stay 8 MiB up to 15.6 GiB, 64 MiB up
 * to 234 GiB, and 50,000 blocks hold about 130 TiB (the service's own limit is 190.7 TiB).
 *
 * Each block is held in memory until the service has it (its MD5 must be sent before its
 * bytes), so memory is about `blocksInFlight × blockSize`; {@link blocksInFlight} lowers the
 * parallelism as blocks grow, keeping that under a budget.
 */

/** Azure's limits for block blobs (service version 2019-12-12 and later). */
export const MAX_BLOCKS = 50_000;
export const MAX_BLOCK_SIZE_BYTES = 4000 * 1024 * 1024;

export interface BlockSchedule {
  /** @default 8 MiB */
  readonly firstBlockSizeBytes: number;
  /** @default 2000 */
  readonly blocksPerTier: number;
  /** Blocks staged at once, at most. @default 4 */
  readonly maxBlocksInFlight: number;
  /** Bytes of blocks held for staging at once, at most (at least one block is always allowed). @default 64 MiB */
  readonly maxBufferedBytes: number;
}

export const DEFAULT_BLOCK_SCHEDULE: BlockSchedule = {
  firstBlockSizeBytes: 8 * 1024 * 1024,
  blocksPerTier: 2000,
  maxBlocksInFlight: 4,
  maxBufferedBytes: 64 * 1024 * 1024,
};

/** Size of block number `index` (0-based). */
export function blockSizeBytes(index: number, schedule: BlockSchedule = DEFAULT_BLOCK_SCHEDULE): number {
  const tier = Math.floor(index / schedule.blocksPerTier);
  return Math.min(MAX_BLOCK_SIZE_BYTES, schedule.firstBlockSizeBytes * 2 ** tier);
}

/** How many blocks of `sizeBytes` may be staged at once under the schedule's memory budget. */
export function blocksInFlight(sizeBytes: number, schedule: BlockSchedule = DEFAULT_BLOCK_SCHEDULE): number {
  return Math.max(1, Math.min(schedule.maxBlocksInFlight, Math.floor(schedule.maxBufferedBytes / Math.max(1, sizeBytes))));
}

/** The largest object `MAX_BLOCKS` blocks of this schedule can hold. */
export function capacityBytes(schedule: BlockSchedule = DEFAULT_BLOCK_SCHEDULE): number {
  let total = 0;
  for (let tier = 0; tier * schedule.blocksPerTier < MAX_BLOCKS; tier++) {
    const blocks = Math.min(schedule.blocksPerTier, MAX_BLOCKS - tier * schedule.blocksPerTier);
    total += blocks * blockSizeBytes(tier * schedule.blocksPerTier, schedule);
  }
  return total;
}

/** Rejects schedules that cannot work, naming the value received. */
export function checkBlockSchedule(schedule: BlockSchedule): BlockSchedule {
  const { firstBlockSizeBytes, blocksPerTier, maxBlocksInFlight, maxBufferedBytes } = schedule;
  if (!Number.isInteger(firstBlockSizeBytes) || firstBlockSizeBytes < 1 || firstBlockSizeBytes > MAX_BLOCK_SIZE_BYTES) {
    throw new RangeError(`firstBlockSizeBytes must be an integer in 1..${MAX_BLOCK_SIZE_BYTES}, got ${firstBlockSizeBytes}`);
  }
  if (!Number.isInteger(blocksPerTier) || blocksPerTier < 1) throw new RangeError(`blocksPerTier must be a positive integer, got ${blocksPerTier}`);
  if (!Number.isInteger(maxBlocksInFlight) || maxBlocksInFlight < 1) throw new RangeError(`maxBlocksInFlight must be a positive integer, got ${maxBlocksInFlight}`);
  if (!(maxBufferedBytes > 0)) throw new RangeError(`maxBufferedBytes must be positive, got ${maxBufferedBytes}`);
  return schedule;
}
