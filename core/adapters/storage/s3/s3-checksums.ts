/**
 * The SHA-256 checksums S3 keeps with each object, written and checked by the adapter.
 *
 * - Every PutObject and UploadPart carries `x-amz-checksum-sha256` of its bytes; S3 recomputes
 *   it and refuses the request (`BadDigest`) if the bytes changed on the way.
 * - A multipart object's checksum is *composite*: SHA-256 over the concatenated binary SHA-256
 *   digests of its parts, shown as `<base64>-<parts>`. After CompleteMultipartUpload the adapter
 *   compares it with the one it computed from the parts it sent.
 * - On read, the adapter recomputes the object's checksum from the bytes as they stream out and
 *   fails the stream (before its end) on a mismatch. For a multipart object that needs the part
 *   boundaries: they follow from the object's size and the part schedule stored as metadata.
 */
import { createHash, type Hash } from 'node:crypto';
import { IntegrityError } from '../../../errors.js';
import { partSizesOf, type PartSchedule } from '../part-sizing.js';

export function sha256(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/** S3's composite checksum of parts with these binary digests (without the `-<parts>` suffix). */
export function compositeSha256(partDigests: readonly Buffer[]): string {
  const hash = createHash('sha256');
  for (const digest of partDigests) hash.update(digest);
  return hash.digest('base64');
}

/**
 * Whether S3's checksum header value equals `expectedBase64`. S3 writes composite checksums as
 * `<base64>-<parts>`; some emulators (moto) leave the suffix out.
 */
export function sameChecksum(s3Value: string, expectedBase64: string, parts?: number): boolean {
  const match = /^([A-Za-z0-9+/=]+)(?:-(\d+))?$/.exec(s3Value);
  if (!match) return false;
  if (match[2] !== undefined && parts !== undefined && Number(match[2]) !== parts) return false;
  return match[1] === expectedBase64;
}

/** What HEAD told about an object, as far as reading it back is concerned. */
export interface StoredChecksum {
  /** `x-amz-checksum-sha256`, when the object was written with one. */
  readonly sha256?: string;
  /** Parts of a multipart object (from the ETag's `-<n>` suffix); `undefined` for a single PUT. */
  readonly parts?: number;
  /** The part schedule the writer recorded, needed to find a multipart object's part boundaries. */
  readonly schedule?: PartSchedule;
}

/**
 * Recomputes an object's S3 checksum from its bytes, in order. `undefined` when the stored
 * checksum cannot be recomputed (no checksum, or a multipart object written by another tool,
 * whose part boundaries are unknown): the data path's own SHA-256 against the manifest remains.
 */
export function readVerifier(what: string, sizeBytes: number, stored: StoredChecksum): { inspect(chunk: Buffer): void; finish(): void } | undefined {
  const expected = stored.sha256;
  if (!expected) return undefined;
  if (stored.parts === undefined) {
    const hash = createHash('sha256');
    return {
      inspect: (chunk) => void hash.update(chunk),
      finish: () => {
        const actual = hash.digest('base64');
        if (!sameChecksum(expected, actual)) throw new IntegrityError(`${what}: the bytes read have SHA-256 ${actual}, S3 holds ${expected}: the object was damaged or replaced`);
      },
    };
  }
  if (!stored.schedule) return undefined;
  const sizes = partSizesOf(stored.schedule, sizeBytes);
  if (sizes.length !== stored.parts) {
    throw new IntegrityError(`${what}: ${sizeBytes} bytes in ${stored.parts} parts does not fit the part schedule recorded with it (${sizes.length} parts)`);
  }
  const digests: Buffer[] = [];
  let part = 0;
  let left = sizes[0]!;
  let hash: Hash = createHash('sha256');
  return {
    inspect: (chunk) => {
      let rest = chunk;
      while (rest.length > 0) {
        if (left === 0) throw new IntegrityError(`${what}: more bytes than its ${sizeBytes}-byte size`);
        const take = Math.min(left, rest.length);
        hash.update(rest.subarray(0, take));
        rest = rest.subarray(take);
        left -= take;
        if (left === 0 && part < sizes.length - 1) {
          digests.push(hash.digest());
          hash = createHash('sha256');
          part += 1;
          left = sizes[part]!;
        }
      }
    },
    finish: () => {
      digests.push(hash.digest());
      const actual = compositeSha256(digests);
      if (!sameChecksum(expected, actual, stored.parts)) {
        throw new IntegrityError(`${what}: the composite SHA-256 of the bytes read is ${actual}-${stored.parts}, S3 holds ${expected}: the object was damaged or replaced`);
      }
    },
  };
}
