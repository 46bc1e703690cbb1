import { createHmac } from 'node:crypto';

/**
 * Chunk ids: HMAC-SHA-256 of the raw chunk under the job's dedup key (docs/chunked-snapshots.md).
 * Keyed, so that an id tells nothing of its content to anyone without the key.
 */
export function chunkIdOf(dedupKey: Buffer, chunk: Buffer): Buffer {
  return createHmac('sha256', dedupKey).update(chunk).digest();
}

/** Names a dedup key without revealing it (the manifest's `snapshot.chunkIds.keyId`): 16 hex digits. */
export function dedupKeyId(dedupKey: Buffer): string {
  return createHmac('sha256', dedupKey).update('vaultra dedup key id').digest('hex').slice(0, 16);
}

/** Dedup keys are 32 random bytes. */
export const DEDUP_KEY_BYTES = 32;
