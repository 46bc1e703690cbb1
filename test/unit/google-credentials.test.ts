import { describe, expect, it } from 'vitest';
import { lazyGoogleClient } from '../../core/adapters/gcp/google-credentials.js';
import { GrpcCode } from '../../core/adapters/gcp/grpc-calls.js';

/** A stand-in for a Google client library's client (fake, no SDK): its credentials lookup fails `failures` times. */
function fakeClient(failures: number): { readonly auth: { getClient(): Promise<unknown> }; readonly lookups: () => number } {
  let lookups = 0;
  return {
    auth: {
      getClient: async () => {
        lookups++;
        if (lookups <= failures) throw new Error('Could not load the default credentials.\nBrowse to https://cloud.google.com/docs/authentication');
        return {};
      },
    },
    lookups: () => lookups,
  };
}

describe('lazyGoogleClient (the GCP kit: a client built on first use, its credentials looked up first)', () => {
  it('builds one client for every caller, and looks its credentials up once', async () => {
    const client = fakeClient(0);
    let built = 0;
    const get = lazyGoogleClient(() => {
      built++;
      return client;
    });
    const [a, b] = await Promise.all([get(), get()]);
    expect(a).toBe(client);
    expect(b).toBe(client);
    expect(await get()).toBe(client);
    expect(built).toBe(1);
    expect(client.lookups()).toBe(1);
  });

  it('no credentials: one-line UNAUTHENTICATED error with the prefix, and the next call tries again', async () => {
    const client = fakeClient(1);
    const get = lazyGoogleClient(() => client, { messagePrefix: 'no Google Cloud credentials: ' });
    const failure = (await get().then(
      () => undefined,
      (error: unknown) => error,
    )) as Error & { code?: number };
    expect(failure.message).toBe('no Google Cloud credentials: Could not load the default credentials. | Browse to https://cloud.google.com/docs/authentication');
    expect(failure.code).toBe(GrpcCode.UNAUTHENTICATED);
    expect(await get()).toBe(client);
    expect(client.lookups()).toBe(2);
  });

  it('an emulator takes no credentials: the lookup is skipped when checkCredentials says so', async () => {
    const client = fakeClient(5);
    expect(await lazyGoogleClient(() => client, { checkCredentials: () => false })()).toBe(client);
    expect(client.lookups()).toBe(0);
  });
});
