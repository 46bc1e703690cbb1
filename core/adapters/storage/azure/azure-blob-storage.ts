import { Readable } from 'node:stream';
import {
  AnonymousCredential,
  BlobServiceClient,
  StorageSharedKeyCredential,
  type BlobImmutabilityPolicyMode,
  type BlobItem,
  type BlockBlobCommitBlockListOptions,
  type ContainerClient,
  type StoragePipelineOptions,
} from '@azure/storage-blob';
import { RETENTION_SLACK_MS, type IoOptions, type Leftover, type LeftoverSweeper, type ObjectInfo, type RetentionExtender, type StorageBackend } from '../../../ports/storage-backend.js';
import { ConfigError, LeftBehindError, NotFoundError, oneLine, StorageError } from '../../../errors.js';
import { formatAzureBlobUrl, parseAzureBlobUrl, type AzureBlobLocation, type BlobImmutability } from './azure-blob-url.js';
import { azureStorageAccess, type AzureStorageAccess } from '../../azure/azure-storage-access.js';
import { codeOf, describeAzureError, isRetryableAzureError, statusOf } from '../../azure/azure-errors.js';
import { DEFAULT_RETRY_POLICY, RetriesExhaustedError, withRetries, type RetryPolicy } from '../../retry.js';
import { requestTimeoutError, requestTimeoutMs } from '../request-timeout.js';
import { toStorageError } from './azure-blob-errors.js';
import { checkBlockSchedule, DEFAULT_BLOCK_SCHEDULE, type BlockSchedule } from './block-schedule.js';
import { stageBlocks } from './block-upload.js';
import { rangedDownload } from './ranged-download.js';
import { checkByteRange, objectTooShortError } from '../byte-range.js';
import { storageUrlOf } from '../../../domain/storage-location.js';

/** The shared retry policy, plus a time limit per attempt. */
export interface AzureBlobRetryOptions extends Partial<RetryPolicy> {
  /** An attempt that has not finished after this long is abandoned (its request aborted) and counts as a retryable failure. @default `requestTimeoutMs` of the bytes moved */
  readonly tryTimeoutMs?: number;
}

/** One attempt of a request: its own signal (the caller's, or its time limit) and its number, 1 for the first. */
interface AttemptContext {
  readonly signal: AbortSignal;
  readonly attempt: number;
}

export interface AzureBlobStorageOptions {
  /** How blocks are sized and how many are staged at once. @default DEFAULT_BLOCK_SCHEDULE */
  readonly blocks?: Partial<BlockSchedule>;
  /** Retries of each block, commit, range read and listing page. @default 6 attempts, 250 ms base, 20 s cap */
  readonly retry?: AzureBlobRetryOptions;
  /** @default 8 MiB */
  readonly rangeSizeBytes?: number;
  /** @default 4 */
  readonly rangesInFlight?: number;
  /** Where the credentials come from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Backups in Azure Blob Storage: `azblob://<account>/<container>/<prefix>`, with
 * `?endpoint=<blob service URL>` for emulators (Azurite: `http://127.0.0.1:10000/devstoreaccount1`)
 * and sovereign clouds. Credentials come from the environment, never the URL (see
 * `azure-storage-access.ts`). The container must exist.
 *
 * - **Writes** are block blob uploads: the stream is cut into blocks (8 MiB, doubling every
 *   2,000 blocks, so the 50,000-block limit never caps a backup below ~130 TiB), at most 4
 *   staged at once within a 64 MiB budget, each sent with its MD5, which the service checks.
 *   The object appears only when the block list is committed, atomically, with the whole
 *   object's MD5 as its `Content-MD5`. A failed or aborted upload commits nothing; its staged
 *   blocks are invisible (not listed, not readable) but kept (and billed) for 7 days, so the
 *   upload discards them at once (there is no call for that: an empty commit replaces them,
 *   then the empty blob is deleted). If that fails too, the error says what was left, and
 *   `listLeftovers` finds it later (a listing that includes uncommitted blobs).
 * - **Retries**: every block, commit, range read, listing page and delete is retried on
 *   throttling, 5xx, timeouts, resets and damaged blocks, with exponential backoff and full
 *   jitter (`retry.ts`); the SDK's own retry policy is off, so there is one policy, ours. Each
 *   try is bounded by `requestTimeoutMs` of the bytes it moves (`../request-timeout.ts`).
 * - **Reads** fetch 8 MiB ranges, 4 at a time, emitted in order; every range is pinned to the
 *   ETag seen first (an overwrite mid-read fails the read instead of mixing two objects), and
 *   the whole object's MD5 is compared with its `Content-MD5` before the end is signalled.
 * - **Immutability** (`?immutabilityDays=30&immutabilityMode=locked`, `?legalHold=true`): a
 *   version-level immutability policy and/or legal hold set in the commit itself, so no object
 *   is ever mutable. The container needs version-level immutability support.
 *   `extendRetention` moves an existing blob's policy to `immutabilityDays` from now
 *   (Set Blob Immutability Policy), never earlier; a `Locked` policy stays `Locked`.
 */
export class AzureBlobStorageBackend implements StorageBackend, LeftoverSweeper, RetentionExtender {
  readonly location: string;
  private readonly container: ContainerClient;
  private readonly schedule: BlockSchedule;
  private readonly retryPolicy: RetryPolicy;

  constructor(
    private readonly where: AzureBlobLocation,
    private readonly options: AzureBlobStorageOptions = {},
  ) {
    this.location = formatAzureBlobUrl(where);
    this.schedule = checkBlockSchedule({ ...DEFAULT_BLOCK_SCHEDULE, ...options.blocks });
    const { tryTimeoutMs: _tryTimeoutMs, ...policy } = options.retry ?? {};
    this.retryPolicy = { ...DEFAULT_RETRY_POLICY, ...policy };
    const access = azureStorageAccess('blob', where.account, where.endpoint, options.env);
    this.container = serviceClient(access).getContainerClient(where.container);
  }

  /** `azblob://<account>/<container>/<prefix>[?endpoint=…&immutabilityDays=…&immutabilityMode=…&legalHold=true]` */
  static fromUrl(url: string, options?: AzureBlobStorageOptions): AzureBlobStorageBackend {
    return new AzureBlobStorageBackend(parseAzureBlobUrl(url), options);
  }

  async put(key: string, body: Readable, options: IoOptions = {}): Promise<{ sizeBytes: number }> {
    const blob = this.container.getBlockBlobClient(this.blobName(key));
    const signal = options.signal;
    /** Whether the service may hold a block of this upload: one was accepted, or a try ended without a clear refusal. */
    let mayHaveStaged = false;
    const staging = <T>(attempt: Promise<T>) =>
      attempt.then(
        (value) => {
          mayHaveStaged = true;
          return value;
        },
        (error: unknown) => {
          if (statusOf(error) === undefined || isRetryableAzureError(error)) mayHaveStaged = true;
          throw error;
        },
      );
    try {
      const staged = await stageBlocks(
        body,
        async (blockId, block, stageSignal) => {
          await this.retried(
            // A body factory: each try streams the block's chunks afresh.
            ({ signal: trySignal }) =>
              staging(blob.stageBlock(blockId, () => Readable.from(block.chunks), block.sizeBytes, { transactionalContentMD5: block.md5, abortSignal: trySignal })),
            { signal: stageSignal, tryTimeoutMs: requestTimeoutMs(block.sizeBytes), doing: `writing ${key} to ${this.location}` },
          );
        },
        this.schedule,
        signal,
      );
      // Committing the same list again is harmless, so a commit whose answer was lost is retried.
      await this.retried(({ signal: trySignal }) => blob.commitBlockList([...staged.blockIds], this.commitOptions(staged.contentMd5, trySignal)), {
        signal,
        // The service assembles the blob from the list: its time grows with the list (~64 bytes a block id in the request).
        tryTimeoutMs: requestTimeoutMs(staged.blockIds.length * 64),
        doing: `committing ${key} to ${this.location}`,
      });
      return { sizeBytes: staged.sizeBytes };
    } catch (error) {
      const failure = toStorageError(error, `writing ${key} to ${this.location}`, this.hintFor(error));
      const left = mayHaveStaged ? await this.discardUncommitted(key, AbortSignal.timeout(CLEANUP_TIMEOUT_MS)).then(() => undefined, oneLine) : undefined;
      if (left) {
        throw new LeftBehindError(failure, [
          {
            kind: 'uncommitted-blocks',
            location: storageUrlOf(this.location, key),
            reason: `discarding them failed: ${left}`,
            cleanup: "the next backup of this job or 'vaultra catalog repair' discards them, else Azure does 7 days after they were staged",
          },
        ]);
      }
      throw failure;
    }
  }

  /** Blobs under `prefix` that have only uncommitted blocks: what failed or killed uploads left. */
  async *listLeftovers(prefix: string, options: IoOptions = {}): AsyncIterable<Leftover> {
    const committed = new Set<string>();
    for await (const object of this.list(prefix, options)) committed.add(object.key);
    for await (const item of this.pages(prefix, true, options.signal)) {
      const key = item.name.slice(this.where.prefix.length);
      if (!committed.has(key)) yield { kind: 'uncommitted-blocks', key, ...(item.properties.createdOn ? { startedAt: item.properties.createdOn } : {}) };
    }
  }

  async removeLeftover(leftover: Leftover, options: IoOptions = {}): Promise<void> {
    if (leftover.kind !== 'uncommitted-blocks') throw new ConfigError(`not a leftover of ${this.location}: ${leftover.kind} ${leftover.key}`);
    await this.discardUncommitted(leftover.key, options.signal);
  }

  /**
   * Drops the uncommitted blocks of `key`. The service has no call for it: committing an empty
   * block list replaces them, and the empty blob it makes is then deleted. Only where no
   * committed object holds the name (never clobber an object): there the blocks go at its next
   * commit, or after 7 days.
   */
  private async discardUncommitted(key: string, signal?: AbortSignal): Promise<void> {
    const blob = this.container.getBlockBlobClient(this.blobName(key));
    const call = <T>(attempt: (context: AttemptContext) => Promise<T>) => this.retried(attempt, { signal, tryTimeoutMs: requestTimeoutMs(0), doing: `discarding the uncommitted blocks of ${key} in ${this.location}` });
    try {
      const blocks = await call(({ signal: trySignal }) => blob.getBlockList('uncommitted', { abortSignal: trySignal })).catch((error: unknown) => {
        // No blob of that name (or no container): no blocks either.
        if (statusOf(error) === 404) return undefined;
        throw error;
      });
      if (!blocks?.uncommittedBlocks?.length) return;
      let emptied;
      try {
        emptied = await call(({ signal: trySignal }) => blob.commitBlockList([], { conditions: { ifNoneMatch: '*' }, abortSignal: trySignal }));
      } catch (error) {
        if (statusOf(error) === 409 || statusOf(error) === 412) return; // a committed object holds the name
        throw error;
      }
      const etag = emptied.etag;
      await call(({ signal: trySignal }) => blob.deleteIfExists({ abortSignal: trySignal, ...(etag ? { conditions: { ifMatch: etag } } : {}) }));
    } catch (error) {
      throw toStorageError(error, `discarding the uncommitted blocks of ${key} in ${this.location}`, this.hintFor(error));
    }
  }

  async get(key: string, options: IoOptions = {}): Promise<Readable> {
    const blob = this.container.getBlobClient(this.blobName(key));
    let properties;
    try {
      properties = await this.retried(({ signal }) => blob.getProperties({ abortSignal: signal }), { signal: options.signal, tryTimeoutMs: requestTimeoutMs(0), doing: `reading ${key} from ${this.location}` });
    } catch (error) {
      if (statusOf(error) === 404) throw new NotFoundError(`no object ${key} in ${this.location}`);
      throw toStorageError(error, `reading ${key} from ${this.location}`, this.hintFor(error));
    }
    const etag = properties.etag;
    const sizeBytes = properties.contentLength ?? 0;
    return rangedDownload(
      async (offset, count, signal) => {
        try {
          return await this.retried(({ signal: trySignal }) => readRange(blob, offset, count, etag, trySignal), { signal, tryTimeoutMs: requestTimeoutMs(count), doing: `reading ${key} from ${this.location} (bytes ${offset}-${offset + count - 1})` });
        } catch (error) {
          if (statusOf(error) === 412) throw new StorageError(`${key} in ${this.location} was replaced while it was being read`, false, { cause: error });
          throw toStorageError(error, `reading ${key} from ${this.location} (bytes ${offset}-${offset + count - 1})`);
        }
      },
      {
        sizeBytes,
        name: `${key} in ${this.location}`,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(properties.contentMD5 ? { expectedMd5: properties.contentMD5 } : {}),
        ...(this.options.rangeSizeBytes ? { rangeSizeBytes: this.options.rangeSizeBytes } : {}),
        ...(this.options.rangesInFlight ? { rangesInFlight: this.options.rangesInFlight } : {}),
      },
    );
  }

  /**
   * One `download(offset, count)`, retried like every other request. The service answers a range
   * that runs past the end with the bytes it has, and one that starts past it with 416: both mean
   * the object is shorter.
   */
  async readRange(key: string, start: number, end: number, options: IoOptions = {}): Promise<Buffer> {
    checkByteRange(key, start, end);
    const blob = this.container.getBlobClient(this.blobName(key));
    const where = `${key} in ${this.location}`;
    const doing = `reading bytes ${start}-${end - 1} of ${where}`;
    try {
      if (start === end) {
        // A count of 0 means "to the end" to the service: only ask whether the object is long enough.
        const properties = await this.retried(({ signal }) => blob.getProperties({ abortSignal: signal }), { signal: options.signal, tryTimeoutMs: requestTimeoutMs(0), doing });
        if ((properties.contentLength ?? 0) < end) throw objectTooShortError(where, start, end, properties.contentLength);
        return Buffer.alloc(0);
      }
      const chunks = await this.retried(({ signal }) => readUpTo(blob, start, end - start, signal), { signal: options.signal, tryTimeoutMs: requestTimeoutMs(end - start), doing });
      const received = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
      if (received < end - start) throw objectTooShortError(where, start, end);
      return Buffer.concat(chunks, end - start);
    } catch (error) {
      if (statusOf(error) === 404) throw new NotFoundError(`no object ${key} in ${this.location}`, { cause: error });
      if (statusOf(error) === 416) throw objectTooShortError(where, start, end);
      throw toStorageError(error, doing, this.hintFor(error));
    }
  }

  async *list(prefix: string, options: IoOptions = {}): AsyncIterable<ObjectInfo> {
    for await (const item of this.pages(prefix, false, options.signal)) {
      yield { key: item.name.slice(this.where.prefix.length), sizeBytes: item.properties.contentLength ?? 0 };
    }
  }

  /** Every blob under `prefix`, page by page, each page retried; with `uncommitted`, also blobs that have only uncommitted blocks. */
  private async *pages(prefix: string, uncommitted: boolean, signal: AbortSignal | undefined): AsyncIterable<BlobItem> {
    let continuationToken: string | undefined;
    do {
      let page;
      try {
        page = await this.retried(
          async ({ signal: trySignal }) =>
            (
              await this.container
                .listBlobsFlat({ prefix: this.where.prefix + prefix, abortSignal: trySignal, ...(uncommitted ? { includeUncommitedBlobs: true } : {}) })
                .byPage({ maxPageSize: 5000, ...(continuationToken ? { continuationToken } : {}) })
                .next()
            ).value,
          { signal, tryTimeoutMs: requestTimeoutMs(0), doing: `listing ${this.location}` },
        );
      } catch (error) {
        throw toStorageError(error, `listing ${this.location}`, this.hintFor(error));
      }
      if (!page) return;
      yield* page.segment.blobItems;
      continuationToken = page.continuationToken || undefined;
    } while (continuationToken);
  }

  async delete(key: string, options: IoOptions = {}): Promise<void> {
    const blob = this.container.getBlobClient(this.blobName(key));
    try {
      await this.retried(({ signal }) => blob.deleteIfExists({ deleteSnapshots: 'include', abortSignal: signal }), { signal: options.signal, tryTimeoutMs: requestTimeoutMs(0), doing: `deleting ${key} from ${this.location}` });
    } catch (error) {
      throw toStorageError(error, `deleting ${key} from ${this.location}`, this.hintFor(error));
    }
  }

  /**
   * Moves the blob's immutability policy to `immutabilityDays` from now when it expires earlier
   * (a locked policy may be extended, never shortened); never shortens it. Without
   * `immutabilityDays` (none, or a legal hold alone, which has no date), does nothing.
   */
  async extendRetention(key: string, options: IoOptions = {}): Promise<void> {
    const days = this.where.immutability?.retentionDays;
    if (days === undefined) return;
    const blob = this.container.getBlobClient(this.blobName(key));
    const doing = `extending the immutability policy of ${key} in ${this.location}`;
    const until = new Date(Date.now() + days * 86_400_000);
    const longEnough = (expiresOn: Date | undefined) => (expiresOn?.getTime() ?? 0) >= until.getTime() - RETENTION_SLACK_MS;
    try {
      const properties = await this.retried(({ signal }) => blob.getProperties({ abortSignal: signal }), { signal: options.signal, tryTimeoutMs: requestTimeoutMs(0), doing });
      if (longEnough(properties.immutabilityPolicyExpiresOn)) return;
      const policyMode = properties.immutabilityPolicyMode?.toLowerCase() === 'locked' ? 'Locked' : POLICY_MODE[this.where.immutability!.mode];
      const set = await this.retried(({ signal }) => blob.setImmutabilityPolicy({ expiriesOn: until, policyMode }, { abortSignal: signal }), { signal: options.signal, tryTimeoutMs: requestTimeoutMs(0), doing });
      if (set.immutabilityPolicyExpiry && !longEnough(set.immutabilityPolicyExpiry)) {
        throw new StorageError(`${doing} to ${until.toISOString()} failed: the service kept ${set.immutabilityPolicyExpiry.toISOString()}`, false);
      }
    } catch (error) {
      if (statusOf(error) === 404) throw new NotFoundError(`no object ${key} in ${this.location}`);
      throw toStorageError(error, doing, this.hintFor(error));
    }
  }

  private blobName(key: string): string {
    return this.where.prefix + key;
  }

  /**
   * One request with the shared retries (`../../retry.ts`); `tryTimeoutMs` bounds each attempt
   * (`request-timeout.ts`), and each retry is reported with `doing`. Rejects with the SDK's own
   * error, or `RetriesExhaustedError` carrying the last one: callers read its status and code.
   */
  private retried<T>(attempt: (context: AttemptContext) => Promise<T>, options: { signal?: AbortSignal | undefined; tryTimeoutMs: number; doing: string }): Promise<T> {
    const tryTimeoutMs = this.options.retry?.tryTimeoutMs ?? options.tryTimeoutMs;
    return withRetries(
      async (attemptNumber) => {
        const timeout = AbortSignal.timeout(tryTimeoutMs);
        const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
        try {
          return await attempt({ signal, attempt: attemptNumber });
        } catch (error) {
          // A stalled attempt: its answer may yet come, so it is retried like a lost one.
          if (timeout.aborted && !options.signal?.aborted) throw requestTimeoutError(tryTimeoutMs, error);
          throw error;
        }
      },
      {
        policy: this.retryPolicy,
        ...(options.signal ? { signal: options.signal } : {}),
        // A transient SDK error travels in a retryable StorageError that names it (the retry line); any other goes back as thrown.
        translate: (error) => (isRetryableAzureError(error) ? new StorageError(`${options.doing} failed: ${describeAzureError(error)}`, true, { cause: error }) : error),
        giveUp: (error, attempts) => new RetriesExhaustedError(attempts, { cause: error.cause }),
      },
    );
  }

  private commitOptions(contentMd5: Buffer, abortSignal: AbortSignal): BlockBlobCommitBlockListOptions {
    return {
      abortSignal,
      blobHTTPHeaders: { blobContentMD5: contentMd5, blobContentType: 'application/octet-stream' },
      ...immutabilityOptions(this.where.immutability),
    };
  }

  private hintFor(error: unknown): string {
    const code = codeOf(error);
    if (code === 'ContainerNotFound') return `: container ${this.where.container} does not exist in account ${this.where.account}; create it first`;
    if (code === 'BlobImmutableDueToPolicy' || code === 'BlobImmutableDueToLegalHold') return ': the object is under an immutability policy or legal hold';
    if (code === 'ImmutableStorageWithVersioningIsNotEnabled' || (code === 'InvalidHeaderValue' && this.where.immutability)) {
      return `: immutability options need version-level immutability support on container ${this.where.container}`;
    }
    return '';
  }
}

/** The Blob SDK client for an account, with the SDK's retry policy off: ours (with jitter) is the only one. */
function serviceClient(access: AzureStorageAccess): BlobServiceClient {
  // `maxTries` is the SDK's name for its attempts: one, so `withRetries` is the only retry.
  const pipeline: StoragePipelineOptions = { retryOptions: { maxTries: 1 } };
  const { serviceUrl, credential } = access;
  switch (credential.kind) {
    case 'shared-key':
      return new BlobServiceClient(serviceUrl, new StorageSharedKeyCredential(credential.accountName, credential.accountKey), pipeline);
    case 'sas':
      return new BlobServiceClient(`${serviceUrl}?${credential.sas}`, new AnonymousCredential(), pipeline);
    case 'token':
      return new BlobServiceClient(serviceUrl, credential.credential, pipeline);
  }
}

/** Reads exactly `count` bytes at `offset` of the blob version `etag`, as the chunks that arrived. */
async function readRange(
  blob: ReturnType<ContainerClient['getBlobClient']>,
  offset: number,
  count: number,
  etag: string | undefined,
  signal: AbortSignal,
): Promise<Buffer[]> {
  const response = await blob.download(offset, count, { abortSignal: signal, maxRetryRequests: 0, ...(etag ? { conditions: { ifMatch: etag } } : {}) });
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of response.readableStreamBody ?? []) {
    chunks.push(chunk as Buffer);
    received += (chunk as Buffer).length;
  }
  // A body cut short (or overlong) is a network fault: retryable, like a reset.
  if (received !== count) throw Object.assign(new Error(`range at ${offset} returned ${received} of ${count} bytes`), { code: 'ECONNRESET' });
  return chunks;
}

/**
 * Reads `count` bytes at `offset`, or fewer when the blob ends first (that is the answer, not a
 * fault); a body cut short of what the service announced is a network fault: retryable.
 */
async function readUpTo(blob: ReturnType<ContainerClient['getBlobClient']>, offset: number, count: number, signal: AbortSignal): Promise<Buffer[]> {
  const response = await blob.download(offset, count, { abortSignal: signal, maxRetryRequests: 0 });
  const announced = response.contentLength ?? count;
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of response.readableStreamBody ?? []) {
    chunks.push(chunk as Buffer);
    received += (chunk as Buffer).length;
  }
  if (received !== announced || received > count) throw Object.assign(new Error(`range at ${offset} returned ${received} of ${announced} bytes`), { code: 'ECONNRESET' });
  return chunks;
}

/**
 * Cleanup after a failed upload must run even once the caller's signal aborted: its own deadline.
 * One small request's time limit (`requestTimeoutMs(0)`), because a store that stopped answering
 * the upload rarely answers its cleanup at once, and the user is waiting for the error line (a
 * hung store is reported within 90 s: test/integration/hung-endpoint.test.ts); what it could not
 * discard is reported, and the next backup of the job or `vaultra catalog repair` discards it.
 */
const CLEANUP_TIMEOUT_MS = requestTimeoutMs(0);

/** Azure's spelling of the policy modes. */
const POLICY_MODE: Record<BlobImmutability['mode'], BlobImmutabilityPolicyMode> = { unlocked: 'Unlocked', locked: 'Locked' };

/** Immutability applied in the commit itself: the object is never mutable, not even for a moment. */
export function immutabilityOptions(immutability: BlobImmutability | undefined, now = Date.now()): Pick<BlockBlobCommitBlockListOptions, 'immutabilityPolicy' | 'legalHold'> {
  if (!immutability) return {};
  return {
    ...(immutability.retentionDays !== undefined
      ? { immutabilityPolicy: { expiriesOn: new Date(now + immutability.retentionDays * 86_400_000), policyMode: POLICY_MODE[immutability.mode] } }
      : {}),
    ...(immutability.legalHold ? { legalHold: true } : {}),
  };
}

