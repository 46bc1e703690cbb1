/**
 * How big each part of a streamed upload is, when the total size is unknown until the stream
 * ends. Object stores cap the number of parts (S3: 10,000) and bound their size (S3: 5 MiB to
 * 5 GiB, last part smaller), so a fixed part size would cap the object (8 MiB × 10,000 = 78 GiB).
 * Instead the part size doubles every `partsPerDoubling` parts:
 *
 * | parts         | part size (defaults) | object size reached |
 * | ------------- | -------------------- | ------------------- |
 * | 1–1000        | 8 MiB                | 7.8 GiB             |
 * | 1001–2000     | 16 MiB               | 23.4 GiB            |
 * | 2001–3000     | 32 MiB               | 54.7 GiB            |
 * | 3001–4000     | 64 MiB               | 117 GiB             |
 * | 4001–5000     | 128 MiB              | 242 GiB             |
 * | 5001–6000     | 256 MiB              | 492 GiB             |
 * | 6001–7000     | 512 MiB              | 992 GiB             |
 * | 7001–8000     | 1 GiB                | 1.94 TiB            |
 * | 8001–9000     | 2 GiB                | 3.9 TiB             |
 * | 9001–10000    | 4 GiB                | 7.8 TiB             |
 *
 * Backups up to 7.8 GiB (most of them) keep 8 MiB parts, so memory stays flat; only the rare
 * multi-hundred-gigabyte stream pays with larger buffers, and nothing is ever refused for size
 * below the store's own object limit (S3: 5 TiB). The schedule is deterministic, so a reader
 * that knows `firstPartBytes` and `partsPerDoubling` can recompute every part boundary from the
 * object size alone (the S3 adapter uses that to check a composite checksum on read).
 *
 * Store-neutral: the GCS and Azure adapters can use it with their own limits (Azure block
 * blobs: 50,000 blocks of up to 4000 MiB).
 */
export interface PartSchedule {
  /** Size of parts 1..partsPerDoubling. */
  readonly firstPartBytes: number;
  /** The part size doubles after this many parts. */
  readonly partsPerDoubling: number;
  /** The store's cap on parts per object. */
  readonly maxParts: number;
  /** The store's cap on one part; the schedule never exceeds it. */
  readonly maxPartBytes: number;
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;

/** S3's limits: 10,000 parts, 5 MiB minimum (except the last), 5 GiB maximum. */
export const S3_PART_LIMITS = { minPartBytes: 5 * MiB, maxPartBytes: 5 * GiB, maxParts: 10_000 } as const;

/** The default S3 schedule: 8 MiB, doubling every 1,000 parts (7.8 TiB over 10,000 parts). */
export const DEFAULT_S3_SCHEDULE: PartSchedule = {
  firstPartBytes: 8 * MiB,
  partsPerDoubling: 1_000,
  maxParts: S3_PART_LIMITS.maxParts,
  maxPartBytes: S3_PART_LIMITS.maxPartBytes,
};

/** Size of part `partNumber` (1-based). */
export function partSizeBytes(schedule: PartSchedule, partNumber: number): number {
  if (!Number.isInteger(partNumber) || partNumber < 1) throw new RangeError(`part number ${partNumber} is not a positive integer`);
  const doublings = Math.floor((partNumber - 1) / schedule.partsPerDoubling);
  // Cap the exponent before multiplying: 2^doublings must not overflow to Infinity.
  const size = schedule.firstPartBytes * 2 ** Math.min(doublings, 40);
  return Math.min(size, schedule.maxPartBytes);
}

/** The largest object the schedule can store within `maxParts`. */
export function maxObjectBytes(schedule: PartSchedule): number {
  let total = 0;
  for (let first = 1; first <= schedule.maxParts; first += schedule.partsPerDoubling) {
    const parts = Math.min(schedule.partsPerDoubling, schedule.maxParts - first + 1);
    total += parts * partSizeBytes(schedule, first);
  }
  return total;
}

/**
 * The parts an object of `totalBytes` was cut into: `[size of part 1, size of part 2, …]`, the
 * last one possibly shorter. An object that fits in part 1 is one part.
 */
export function partSizesOf(schedule: PartSchedule, totalBytes: number): number[] {
  const sizes: number[] = [];
  let left = totalBytes;
  for (let part = 1; left > 0 || sizes.length === 0; part++) {
    const size = Math.min(left, partSizeBytes(schedule, part));
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

/** A compact, self-describing form to store beside an object (e.g. as metadata): `8388608/1000`. */
export function describeSchedule(schedule: Pick<PartSchedule, 'firstPartBytes' | 'partsPerDoubling'>): string {
  return `${schedule.firstPartBytes}/${schedule.partsPerDoubling}`;
}

/** Inverse of {@link describeSchedule}; `undefined` for anything else. */
export function parseSchedule(text: string | undefined, limits: Pick<PartSchedule, 'maxParts' | 'maxPartBytes'>): PartSchedule | undefined {
  const match = /^(\d{1,13})\/(\d{1,6})$/.exec(text ?? '');
  if (!match) return undefined;
  const firstPartBytes = Number(match[1]);
  const partsPerDoubling = Number(match[2]);
  if (firstPartBytes < 1 || partsPerDoubling < 1) return undefined;
  return { firstPartBytes, partsPerDoubling, ...limits };
}
