/**
 * One deployed Vaultra environment on the GCP emulators, as the Terraform module would leave it:
 * a bucket on fake-gcs-server, a catalog collection on the Firestore emulator, the alert topic on
 * the Pub/Sub emulator (with a subscription to read what was published), and the variables the
 * module gives the functions (core/platform/function-deployment.ts).
 *
 * No emulator serves two services, so this file has local stand-ins for them:
 * - Cloud Run Admin API v2 (`CloudRunApi`): a local HTTP server speaking the REST API the
 *   `@google-cloud/run` clients use with `fallback: true` (the same client code, REST instead of
 *   gRPC). It records every request exactly (method, path, query, JSON body) and answers like
 *   Cloud Run: RunJob → an Operation whose metadata is the new Execution; ListExecutions → the
 *   executions, enums as numbers (the clients ask for `enum-encoding=int`), paged.
 * - Secret Manager (`startFakeSecretManager`), for the runner process of the end-to-end test: a
 *   gRPC server with TLS, reached by the runner's real `SecretManagerServiceClient` through
 *   gRPC's own proxy support (`grpc_proxy`, an HTTP CONNECT proxy that forwards only
 *   `secretmanager.googleapis.com:443` to it), trusting a throwaway certificate through
 *   `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`, authenticated with a throwaway service-account key (the
 *   client signs its own JWT: no token server). Nothing in the runner is changed for it.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { ExecutionsClient, JobsClient } from '@google-cloud/run';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { googleAuthLibrary, grpc, protobuf } from 'google-gax';
import { FUNCTION_ENV, GCP_FUNCTION_ENV } from '../../core/platform/function-deployment.js';
import { crc32c } from '../../core/adapters/gcp/crc32c.js';
import { gcpSettingsFromEnv } from '../../functions/gcp/shared/settings.js';
import { catalogOf, launcherOf, notifyOf, storageOf, trackerOf } from '../../functions/gcp/shared/clients.js';
import type { GcpDeployment } from '../../functions/gcp/shared/deployment-types.js';
import type { ExecutionTracker } from '../../core/ports/execution-tracker.js';
import type { JobLauncher } from '../../core/ports/job-launcher.js';
import { createBucket, type FakeGcsConnection } from './fake-gcs-server.js';
import type { FirestoreConnection } from './firestore-emulator.js';
import { createTopicWithSubscription, pullMessages, type PubsubConnection, type PulledMessage } from './pubsub-emulator.js';

export const GCP_PROJECT = 'vaultra-test';
export const GCP_REGION = 'europe-west1';

export interface GcpPlatform {
  readonly bucket: string;
  readonly collection: string;
  /** `projects/<p>/locations/<r>/jobs/<j>`: the Cloud Run job the functions run. */
  readonly runJob: string;
  /** The Cloud Run job restores and verifies run on (VAULTRA_CLOUD_RUN_RESTORE_JOB), as the module makes it. */
  readonly restoreJob: string;
  /** Each drilled job's Cloud Run drill job, by job name. */
  readonly drillJobs: Readonly<Record<string, string>>;
  readonly storageUrl: string;
  readonly catalogUrl: string;
  readonly topic: string | undefined;
  /** The emulators' variables, then the Terraform module's. */
  readonly env: Record<string, string>;
  /** Messages published to the alert topic since the last call (acknowledged). */
  alerts(atLeast?: number, waitMs?: number): Promise<PulledMessage[]>;
}

export async function deployGcpPlatform(options: {
  readonly fakeGcs: FakeGcsConnection;
  readonly firestore: FirestoreConnection;
  readonly pubsub?: PubsubConnection;
  readonly environmentName: string;
  readonly configJson: string;
  readonly kmsKey?: string;
  /** Drilled jobs by name, each given a Cloud Run drill job `…/jobs/vaultra-drill-<job>-<suffix>` (VAULTRA_CLOUD_RUN_DRILL_JOBS). */
  readonly drilledJobs?: readonly string[];
}): Promise<GcpPlatform> {
  const suffix = randomBytes(4).toString('hex');
  const bucket = `vaultra-backups-${suffix}`;
  const collection = `vaultra-runs-${suffix}`;
  const runJob = `projects/${GCP_PROJECT}/locations/${GCP_REGION}/jobs/vaultra-runner-${suffix}`;
  const restoreJob = `projects/${GCP_PROJECT}/locations/${GCP_REGION}/jobs/vaultra-restore-${suffix}`;
  const drillJobs = Object.fromEntries((options.drilledJobs ?? []).map((job) => [job, `projects/${GCP_PROJECT}/locations/${GCP_REGION}/jobs/vaultra-drill-${job}-${suffix}`]));
  await createBucket(options.fakeGcs.endpoint, bucket);
  let topic: string | undefined;
  let subscription: string | undefined;
  if (options.pubsub) {
    topic = `projects/${GCP_PROJECT}/topics/vaultra-alerts-${suffix}`;
    subscription = `projects/${GCP_PROJECT}/subscriptions/vaultra-alerts-${suffix}`;
    await createTopicWithSubscription(options.pubsub.endpoint, topic, subscription);
  }
  const storageUrl = `gs://${bucket}/backups`;
  const catalogUrl = `firestore://${GCP_PROJECT}/${collection}`;
  const env: Record<string, string> = {
    ...options.fakeGcs.env,
    ...options.firestore.env,
    ...(options.pubsub?.env ?? {}),
    [FUNCTION_ENV.environmentName]: options.environmentName,
    [FUNCTION_ENV.configJson]: options.configJson,
    [FUNCTION_ENV.storageUrl]: storageUrl,
    [FUNCTION_ENV.catalogUrl]: catalogUrl,
    ...(options.kmsKey ? { [FUNCTION_ENV.kmsKey]: options.kmsKey } : {}),
    [GCP_FUNCTION_ENV.runJob]: runJob,
    [GCP_FUNCTION_ENV.restoreJob]: restoreJob,
    ...(options.drilledJobs ? { [GCP_FUNCTION_ENV.drillJobs]: JSON.stringify(drillJobs) } : {}),
    ...(topic ? { [GCP_FUNCTION_ENV.alertTopic]: topic } : {}),
  };
  return {
    bucket,
    collection,
    runJob,
    restoreJob,
    drillJobs,
    storageUrl,
    catalogUrl,
    topic,
    env,
    alerts: (atLeast = 1, waitMs = 5_000) => (options.pubsub && subscription ? pullMessages(options.pubsub.endpoint, subscription, atLeast, waitMs) : Promise.resolve([])),
  };
}

/**
 * Every client a function could use, built from `env` the way the handlers build theirs, with
 * Cloud Run either on the local REST server (`cloudRun`) or replaced whole (`launcher`/`tracker`:
 * the end-to-end test runs the runner as a local process).
 */
export function gcpDeploymentFromEnv(env: NodeJS.ProcessEnv, cloudRun: CloudRunApi | { readonly launcher: JobLauncher; readonly tracker: ExecutionTracker }): GcpDeployment {
  const settings = gcpSettingsFromEnv(env);
  return {
    environment: settings.environment,
    target: settings.target,
    catalog: catalogOf(settings),
    storage: storageOf(settings),
    notify: notifyOf(settings),
    ...('jobsClient' in cloudRun ? { launcher: launcherOf(settings, cloudRun.jobsClient()), tracker: trackerOf(settings, cloudRun.executionsClient()) } : { launcher: cloudRun.launcher, tracker: cloudRun.tracker }),
  };
}

// ---- calling a function through functions-framework's test server -------------------------

export interface FunctionResponse {
  readonly status: number;
  readonly body: unknown;
}

/**
 * One HTTP request to a registered function, through `getTestServer` (the framework's own express
 * app: body parsing, routing, error handling), listening on a free port for the call.
 */
export async function callFunction(name: string, request: { readonly method?: string; readonly headers?: Record<string, string>; readonly body?: string | Buffer | object } = {}): Promise<FunctionResponse> {
  const server = getTestServer(name);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const raw = request.body;
    const body = raw === undefined ? undefined : typeof raw === 'string' ? raw : Buffer.isBuffer(raw) ? new Uint8Array(raw) : JSON.stringify(raw);
    const headers = { ...(raw !== undefined && typeof raw === 'object' && !Buffer.isBuffer(raw) ? { 'content-type': 'application/json' } : {}), ...request.headers };
    const response = await fetch(`http://127.0.0.1:${port}/`, { method: request.method ?? 'POST', headers, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed };
  } finally {
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

// ---- Cloud Run Admin API v2 on a local REST server ------------------------------------------

export interface RecordedRequest {
  readonly method: string;
  /** The path without the query, e.g. `/v2/projects/p/locations/r/jobs/j:run`. */
  readonly path: string;
  readonly query: Record<string, string>;
  /** The JSON body (`undefined` for a GET). */
  readonly body: unknown;
  readonly authorization: string | undefined;
}

/** How the next RunJob is answered: an execution started, or an HTTP error with Google's error body. */
export type RunJobReply = { readonly kind: 'start' } | { readonly kind: 'error'; readonly httpStatus: number; readonly status: string; readonly message: string };

/** An execution as the REST API returns it (JSON; enums as numbers). */
export interface ExecutionJson {
  name: string;
  job: string;
  createTime: string;
  completionTime?: string;
  taskCount: number;
  runningCount?: number;
  succeededCount?: number;
  failedCount?: number;
  cancelledCount?: number;
  template: { containers: { args?: string[]; env?: { name: string; value: string }[] }[] };
  conditions: { type: string; state: number; message?: string; executionReason?: number; lastTransitionTime?: string }[];
}

/** google.cloud.run.v2.Condition.State and ExecutionReason, as numbers. */
export const CONDITION = { RECONCILING: 2, FAILED: 3, SUCCEEDED: 4 } as const;
export const EXECUTION_REASON = { NON_ZERO_EXIT_CODE: 2, CANCELLED: 3 } as const;

export interface CloudRunApi {
  readonly requests: RecordedRequest[];
  /** Replies to the next RunJob calls, consumed in order; when empty, an execution starts. */
  readonly runJobReplies: RunJobReply[];
  /** The executions ListExecutions returns, newest first (RunJob adds the ones it starts). */
  readonly executions: ExecutionJson[];
  /** Marks an execution ended, as Cloud Run reports it. */
  finish(executionName: string, outcome: 'succeeded' | 'failed' | 'cancelled', message?: string): void;
  /** `JobsClient`/`ExecutionsClient` on this server (REST transport, a fixed test token). */
  jobsClient(): JobsClient;
  executionsClient(): ExecutionsClient;
  close(): Promise<void>;
}

export async function startCloudRunApi(): Promise<CloudRunApi> {
  const requests: RecordedRequest[] = [];
  const runJobReplies: RunJobReply[] = [];
  const executions: ExecutionJson[] = [];
  let sequence = 0;
  let lastCreatedMs = 0;

  const reply = (response: ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const googleError = (response: ServerResponse, httpStatus: number, status: string, message: string) =>
    reply(response, httpStatus, { error: { code: httpStatus, message, status } });

  const server = createServer((request, response) => {
    readBody(request).then((text) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const body = text ? (JSON.parse(text) as unknown) : undefined;
      requests.push({ method: request.method ?? '', path: decodeURIComponent(url.pathname), query: Object.fromEntries(url.searchParams), body, authorization: request.headers.authorization });
      const run = /^\/v2\/(projects\/[^/]+\/locations\/[^/]+\/jobs\/[^/:]+):run$/.exec(decodeURIComponent(url.pathname));
      const list = /^\/v2\/(projects\/[^/]+\/locations\/[^/]+\/jobs\/[^/]+)\/executions$/.exec(decodeURIComponent(url.pathname));
      if (run && request.method === 'POST') {
        const next = runJobReplies.shift() ?? { kind: 'start' };
        if (next.kind === 'error') return googleError(response, next.httpStatus, next.status, next.message);
        const job = run[1]!;
        const overrides = (body as { overrides?: { containerOverrides?: { args?: string[]; env?: { name: string; value: string }[] }[]; taskCount?: number } }).overrides ?? {};
        const container = overrides.containerOverrides?.[0] ?? {};
        const execution: ExecutionJson = {
          name: `${job}/executions/${job.split('/').pop()}-${(++sequence).toString(36).padStart(5, '0')}`,
          job: job.split('/').pop()!,
          // Strictly increasing, as Cloud Run's clock would make two executions started in one millisecond.
          createTime: new Date((lastCreatedMs = Math.max(Date.now(), lastCreatedMs + 1))).toISOString(),
          taskCount: overrides.taskCount ?? 1,
          runningCount: 1,
          // The job's own env (as Terraform sets it) merged with the overrides, as Cloud Run does.
          template: { containers: [{ args: container.args ?? [], env: [{ name: 'VAULTRA_IMAGE_ENV', value: 'from-the-job' }, ...(container.env ?? [])] }] },
          conditions: [{ type: 'Completed', state: CONDITION.RECONCILING, message: 'Started', lastTransitionTime: new Date().toISOString() }],
        };
        executions.unshift(execution);
        return reply(response, 200, {
          name: `projects/${job.split('/')[1]}/locations/${job.split('/')[3]}/operations/${randomBytes(8).toString('hex')}`,
          metadata: { '@type': 'type.googleapis.com/google.cloud.run.v2.Execution', ...execution },
          done: false,
        });
      }
      if (list && request.method === 'GET') {
        const pageSize = Number(url.searchParams.get('pageSize') ?? 100);
        const offset = Number(url.searchParams.get('pageToken') || 0);
        const own = executions.filter((execution) => execution.name.startsWith(`${list[1]}/executions/`));
        const page = own.slice(offset, offset + pageSize);
        return reply(response, 200, { executions: page, ...(offset + pageSize < own.length ? { nextPageToken: String(offset + pageSize) } : {}) });
      }
      return googleError(response, 404, 'NOT_FOUND', `no such method: ${request.method} ${url.pathname}`);
    }, (error: unknown) => googleError(response, 400, 'INVALID_ARGUMENT', String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  // A real auth client with a token that never expires: it only adds the Authorization header.
  const authClient = new googleAuthLibrary.OAuth2Client();
  authClient.setCredentials({ access_token: 'test-access-token', expiry_date: Date.now() + 24 * 3_600_000 });
  const clientOptions = { fallback: true, apiEndpoint: '127.0.0.1', port, protocol: 'http', authClient } as ConstructorParameters<typeof JobsClient>[0];
  const clients: { close(): Promise<void> }[] = [];

  return {
    requests,
    runJobReplies,
    executions,
    finish(executionName, outcome, message) {
      const execution = executions.find((candidate) => candidate.name === executionName);
      if (!execution) throw new Error(`no execution ${executionName}`);
      const now = new Date().toISOString();
      execution.completionTime = now;
      execution.runningCount = 0;
      if (outcome === 'succeeded') {
        execution.succeededCount = execution.taskCount;
        execution.conditions = [{ type: 'Completed', state: CONDITION.SUCCEEDED, message: message ?? 'Execution completed successfully in 42.17s.', lastTransitionTime: now }];
      } else if (outcome === 'failed') {
        execution.failedCount = execution.taskCount;
        execution.conditions = [
          { type: 'Completed', state: CONDITION.FAILED, message: message ?? 'Task vaultra-runner-task0 failed with message: The container exited with an error.', executionReason: EXECUTION_REASON.NON_ZERO_EXIT_CODE, lastTransitionTime: now },
        ];
      } else {
        execution.cancelledCount = execution.taskCount;
        execution.conditions = [{ type: 'Completed', state: CONDITION.FAILED, message: message ?? 'The execution was cancelled.', executionReason: EXECUTION_REASON.CANCELLED, lastTransitionTime: now }];
      }
    },
    jobsClient() {
      const client = new JobsClient(clientOptions);
      clients.push(client);
      return client;
    },
    executionsClient() {
      const client = new ExecutionsClient(clientOptions);
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.allSettled(clients.map((client) => client.close()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

// ---- a Secret Manager the runner process can reach ------------------------------------------

const SECRET_MANAGER_HOST = 'secretmanager.googleapis.com';

export interface FakeSecretManager {
  /** What the runner's process needs to reach it (proxy, trusted certificate, credentials). */
  readonly env: Record<string, string>;
  /** Secret version names asked for (`projects/p/secrets/s/versions/latest`), with whether the call carried a bearer token. */
  readonly accessed: { readonly name: string; readonly authenticated: boolean }[];
  close(): Promise<void>;
}

/**
 * Secret Manager's `AccessSecretVersion` for the runner process: `secrets` maps a secret's name
 * (`projects/<p>/secrets/<s>`) to its one version's text. Needs `openssl` (a throwaway certificate).
 */
export async function startFakeSecretManager(secrets: Readonly<Record<string, string>>): Promise<FakeSecretManager> {
  const dir = mkdtempSync(join(tmpdir(), 'vaultra-secret-manager-'));
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', `/CN=${SECRET_MANAGER_HOST}`, '-addext', `subjectAltName=DNS:${SECRET_MANAGER_HOST}`], { stdio: 'ignore' });

  // The request and response messages, from the protos the client library ships.
  const require = createRequire(import.meta.url);
  const root = protobuf.Root.fromJSON(require('@google-cloud/secret-manager/build/protos/protos.json') as protobuf.INamespace);
  const Request = root.lookupType('google.cloud.secretmanager.v1.AccessSecretVersionRequest');
  const Response = root.lookupType('google.cloud.secretmanager.v1.AccessSecretVersionResponse');

  const accessed: { name: string; authenticated: boolean }[] = [];
  const grpcServer = new grpc.Server();
  grpcServer.addService(
    {
      AccessSecretVersion: {
        path: '/google.cloud.secretmanager.v1.SecretManagerService/AccessSecretVersion',
        requestStream: false,
        responseStream: false,
        requestSerialize: (value: object) => Buffer.from(Request.encode(Request.fromObject(value)).finish()),
        requestDeserialize: (bytes: Buffer) => Request.toObject(Request.decode(bytes)),
        responseSerialize: (value: object) => Buffer.from(Response.encode(Response.fromObject(value)).finish()),
        responseDeserialize: (bytes: Buffer) => Response.toObject(Response.decode(bytes)),
      },
    },
    {
      AccessSecretVersion: (call: grpc.ServerUnaryCall<{ name: string }, object>, callback: grpc.sendUnaryData<object>) => {
        const name = call.request.name;
        accessed.push({ name, authenticated: /^Bearer \S+/.test(String(call.metadata.get('authorization')[0] ?? '')) });
        const secret = /^(projects\/[^/]+\/secrets\/[^/]+)\/versions\/(latest|1)$/.exec(name)?.[1];
        const value = secret === undefined ? undefined : secrets[secret];
        if (value === undefined) return callback({ code: grpc.status.NOT_FOUND, details: `Secret [${name}] not found or has no versions.` });
        const data = Buffer.from(value, 'utf8');
        callback(null, { name: `${secret}/versions/1`, payload: { data, dataCrc32c: crc32c(data) } });
      },
    },
  );
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(certPath), private_key: readFileSync(keyPath) }]), (error, port) => (error ? reject(error) : resolve(port))),
  );

  // gRPC's proxy support: an HTTP CONNECT proxy that lets through Secret Manager only.
  const proxy: Server = createServer((_request, response) => response.writeHead(405).end());
  proxy.on('connect', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (request.url !== `${SECRET_MANAGER_HOST}:443`) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = connect(grpcPort, '127.0.0.1', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyPort = (proxy.address() as AddressInfo).port;

  // A throwaway service-account key: the client signs a JWT with it locally, no token exchange.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const credentialsPath = join(dir, 'service-account.json');
  writeFileSync(
    credentialsPath,
    JSON.stringify({
      type: 'service_account',
      project_id: GCP_PROJECT,
      private_key_id: randomBytes(20).toString('hex'),
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: `vaultra-runner@${GCP_PROJECT}.iam.gserviceaccount.com`,
      client_id: '100000000000000000000',
      // Never used (the JWT is self-signed); a refused port makes any attempt fail loudly.
      token_uri: 'http://127.0.0.1:9/token',
    }),
    { mode: 0o600 },
  );

  return {
    env: {
      grpc_proxy: `http://127.0.0.1:${proxyPort}`,
      // The Firestore emulator and anything else local is reached directly.
      no_grpc_proxy: '127.0.0.1,localhost',
      GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: certPath,
      GOOGLE_APPLICATION_CREDENTIALS: credentialsPath,
    },
    accessed,
    async close() {
      await new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve()));
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
