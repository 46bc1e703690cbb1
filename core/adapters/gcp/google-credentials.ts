/**
 * Google client libraries find Application Default Credentials on the first call. When there are
 * none, that call fails and the library also leaves an unhandled rejection behind, which ends
 * the process. So every GCP adapter looks credentials up first, on their own, through here, and
 * gets one error its translation already knows (gRPC code UNAUTHENTICATED).
 */
import { oneLine } from '../../errors.js';
import { GrpcCode } from './grpc-calls.js';

/** A Google client library's client: its `auth` resolves Application Default Credentials. */
export interface GoogleAuthClient {
  readonly auth: { getClient(): Promise<unknown> };
}

/**
 * Resolves the client's credentials, or rejects with an `Error` whose `code` is
 * `GrpcCode.UNAUTHENTICATED` and whose message is `prefix` + the library's reason on one line.
 */
export async function checkGoogleCredentials(client: GoogleAuthClient, prefix = ''): Promise<void> {
  await client.auth.getClient().catch((error: unknown) => {
    throw Object.assign(new Error(`${prefix}${oneLine(error)}`), { code: GrpcCode.UNAUTHENTICATED, cause: error });
  });
}

export interface LazyGoogleClientOptions {
  /** Whether to look credentials up before handing the client out (asked at first use); false for an emulator, which takes none. @default true */
  readonly checkCredentials?: () => boolean;
  /** Starts the no-credentials message. @default '' */
  readonly messagePrefix?: string;
}

/**
 * A getter that builds the client on first use (so an SDK is only imported by a process that
 * calls it), checks its credentials, and hands the same client to every later call. A failed
 * build or check is forgotten: the next call tries again (credentials may have appeared).
 */
export function lazyGoogleClient<C extends GoogleAuthClient>(create: () => C | Promise<C>, options: LazyGoogleClientOptions = {}): () => Promise<C> {
  let pending: Promise<C> | undefined;
  return () =>
    (pending ??= (async () => {
      const client = await create();
      if (options.checkCredentials?.() ?? true) await checkGoogleCredentials(client, options.messagePrefix);
      return client;
    })().catch((error: unknown) => {
      pending = undefined;
      throw error;
    }));
}
