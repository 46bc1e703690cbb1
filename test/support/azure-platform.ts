/**
 * One deployed Vaultra environment on Azure, as the Terraform module would leave it, on what
 * runs here:
 *
 * - Blob container and catalog table on Azurite (`deployAzurePlatform`), with the variables
 *   the module gives the function app (core/platform/function-deployment.ts);
 * - `FakeArm`: a MOCK of Azure Resource Manager's Container Apps jobs API (no Container Apps
 *   emulator exists), an HTTPS server on 127.0.0.1 that the real `ContainerAppsAPIClient` talks
 *   to; it records every request (method, path, api-version, body) and answers like ARM;
 * - `startFakeKeyVault`: a MOCK of Key Vault's secrets API (no emulator exists) that a runner
 *   *process* reaches through the real SDK: a CONNECT proxy (HTTPS_PROXY) that only serves
 *   `*.vault.azure.net` and terminates TLS with a test CA (NODE_EXTRA_CA_CERTS), plus the
 *   managed identity token endpoint Container Apps gives a job (IDENTITY_ENDPOINT/IDENTITY_HEADER);
 * - `LocalExecutions`: the `LocalProcessLauncher` (the real runner as a process) with a tracker
 *   built from its exits, standing in for Container Apps in the end-to-end flow.
 *
 * TLS: a throwaway CA and a certificate for 127.0.0.1 and *.vault.azure.net, made by `openssl`
 * (Debian's, present on the project's machines) in a temp folder removed at exit.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { ContainerAppsAPIClient, type ContainerAppsAPIClientOptionalParams } from '@azure/arm-appcontainers';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { AZURE_FUNCTION_ENV, FUNCTION_ENV } from '../../core/platform/function-deployment.js';
import { ContainerAppsJobLauncher } from '../../core/adapters/launchers/container-apps-job-launcher.js';
import { ContainerAppsExecutionTracker } from '../../core/adapters/launchers/container-apps-execution-tracker.js';
import { LocalProcessLauncher, type LocalProcessLauncherOptions, type LocalTaskExit } from '../../core/adapters/launchers/local-process-launcher.js';
import type { RetryPolicy } from '../../core/adapters/retry.js';
import type { ExecutionStatus, ExecutionTracker } from '../../core/ports/execution-tracker.js';
import type { JobLauncher, LaunchedTask, LaunchRequest } from '../../core/ports/job-launcher.js';
import { azureSettingsFromEnv } from '../../functions/azure/shared/settings.js';
import { catalogOf, notifyOf, storageOf } from '../../functions/azure/shared/clients.js';
import type { AzureDeployment } from '../../functions/azure/shared/deployment-types.js';
import { AZURITE_ACCOUNT, uniqueAzureName, type AzuriteConnection } from './azurite-server.js';

const execFileAsync = promisify(execFile);

// ---------------------------------------------------------------------------------------------
// TLS for the fakes

export interface TestTls {
  /** The test CA's certificate (PEM): trust it (`tlsOptions.ca`, NODE_EXTRA_CA_CERTS) to reach the fakes. */
  readonly caPem: string;
  /** The same, as a file. */
  readonly caFile: string;
  /** Key and certificate for 127.0.0.1, localhost and *.vault.azure.net, signed by the CA. */
  readonly keyPem: string;
  readonly certPem: string;
}

let tls: Promise<TestTls> | undefined;

/** One CA and server certificate per test process (valid for two days), made with openssl. */
export function testTls(): Promise<TestTls> {
  tls ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vaultra-tls-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const file = (name: string) => join(dir, name);
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    await execFileAsync('openssl', ['req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=Vaultra test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    await execFileAsync('openssl', ['req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=127.0.0.1']);
    writeFileSync(file('server.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,DNS:*.vault.azure.net\n');
    await execFileAsync('openssl', ['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.pem'), '-days', '2', '-extfile', file('server.ext')]);
    return { caPem: readFileSync(file('ca.pem'), 'utf8'), caFile: file('ca.pem'), keyPem: readFileSync(file('server.key'), 'utf8'), certPem: readFileSync(file('server.pem'), 'utf8') };
  })();
  return tls;
}

function listen(server: HttpServer | HttpsServer): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  response.writeHead(status, { ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}), 'x-ms-request-id': randomUUID(), ...headers });
  response.end(text);
}

// ---------------------------------------------------------------------------------------------
// ARM: Container Apps jobs (MOCK)

/** A static Entra ID token, as a managed identity would return one. */
export class StaticTokenCredential implements TokenCredential {
  readonly scopes: string[] = [];
  constructor(readonly token = `fake-arm-token-${randomBytes(6).toString('hex')}`) {}
  async getToken(scopes: string | string[]): Promise<AccessToken> {
    this.scopes.push(...(Array.isArray(scopes) ? scopes : [scopes]));
    return { token: this.token, expiresOnTimestamp: Date.now() + 3_600_000 };
  }
}

/** One request as the fake ARM saw it. */
export interface ArmRequest {
  readonly method: string;
  readonly path: string;
  readonly apiVersion: string | null;
  /** The query without `api-version`. */
  readonly query: Record<string, string>;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  /** The JSON body, parsed; `undefined` when there was none. */
  readonly body: unknown;
}

/** An ARM error answer: status, `error.code`, `error.message`, extra headers (Retry-After). */
export interface ArmFailure {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly headers?: Record<string, string>;
}

/** A job's container as ARM stores it (the wire format of `properties.template.containers[]`). */
export interface WireContainer {
  readonly name: string;
  readonly image?: string;
  readonly command?: string[];
  readonly args?: string[];
  readonly env?: { name: string; value?: string; secretRef?: string }[];
  readonly resources?: { cpu?: number; memory?: string };
}

export interface FakeExecution {
  readonly name: string;
  status: string;
  readonly startTime: string;
  endTime?: string;
  readonly template: { containers?: WireContainer[]; initContainers?: WireContainer[] };
}

interface FakeJob {
  containers: WireContainer[];
  initContainers?: WireContainer[];
  readonly executions: FakeExecution[];
}

type FailureRoute = 'get-job' | 'start' | 'operation' | 'list-executions';

/**
 * MOCK of Azure Resource Manager for `Microsoft.App/jobs` (no Container Apps emulator exists):
 * GET a job, POST …/start (202 Accepted with the execution's name and a Location to poll, as ARM
 * answers), GET the operation result (still in progress), GET …/executions (paged by
 * `pageSize`, with `nextLink`). Every request is recorded; a request without the expected bearer
 * token gets 401. Failures can be queued per route (`failNext`).
 */
export class FakeArm {
  readonly requests: ArmRequest[] = [];
  readonly credential = new StaticTokenCredential();
  /** Executions per page of `…/executions`. */
  pageSize = 50;
  private readonly jobs = new Map<string, FakeJob>();
  private readonly failures: Record<FailureRoute, ArmFailure[]> = { 'get-job': [], start: [], operation: [], 'list-executions': [] };
  private constructor(
    private readonly server: HttpsServer,
    readonly url: string,
    readonly caPem: string,
    readonly subscriptionId: string,
    readonly resourceGroup: string,
    readonly location: string,
  ) {}

  static async start(options: { subscriptionId?: string; resourceGroup?: string; location?: string } = {}): Promise<FakeArm> {
    const { keyPem, certPem, caPem } = await testTls();
    // The server answers through the instance, which needs the server's port: made in that order.
    const created: { arm?: FakeArm } = {};
    const server = createHttpsServer({ key: keyPem, cert: certPem }, (request, response) => {
      void created.arm!.handle(request, response).catch((error: unknown) => sendJson(response, 500, { error: { code: 'InternalServerError', message: String(error) } }));
    });
    const port = await listen(server);
    created.arm = new FakeArm(server, `https://127.0.0.1:${port}`, caPem, options.subscriptionId ?? randomUUID(), options.resourceGroup ?? 'rg-vaultra-test', options.location ?? 'westeurope');
    return created.arm;
  }

  /** The real SDK client, pointed here: the test CA trusted, the static token, and the SDK's retries off (so every request shows). */
  client(options: ContainerAppsAPIClientOptionalParams = {}): ContainerAppsAPIClient {
    return new ContainerAppsAPIClient(this.credential, this.subscriptionId, { $host: this.url, endpoint: this.url, tlsOptions: { ca: this.caPem }, retryOptions: { maxRetries: 0 }, ...options });
  }

  /** Creates (or replaces) a job whose template has these containers. */
  defineJob(name: string, containers: WireContainer[], initContainers?: WireContainer[]): void {
    this.jobs.set(name, { containers, ...(initContainers ? { initContainers } : {}), executions: this.jobs.get(name)?.executions ?? [] });
  }

  executionsOf(job: string): FakeExecution[] {
    return this.jobs.get(job)?.executions ?? [];
  }

  /** Adds an execution as if something had started it (a run started earlier, or by hand). */
  addExecution(job: string, execution: FakeExecution): void {
    this.jobs.get(job)!.executions.push(execution);
  }

  /** Ends an execution the way Container Apps reports it. */
  endExecution(job: string, name: string, status: 'Succeeded' | 'Failed' | 'Stopped' | 'Degraded', endTime = new Date().toISOString()): void {
    const execution = this.executionsOf(job).find((candidate) => candidate.name === name);
    if (!execution) throw new Error(`no execution ${name} of job ${job}`);
    execution.status = status;
    execution.endTime = endTime;
  }

  /** The next requests of `route` get these answers, in order. */
  failNext(route: FailureRoute, ...failures: ArmFailure[]): void {
    this.failures[route].push(...failures);
  }

  /** Requests seen so far, and forget them. */
  take(): ArmRequest[] {
    return this.requests.splice(0);
  }

  jobPath(job: string): string {
    return `/subscriptions/${this.subscriptionId}/resourceGroups/${this.resourceGroup}/providers/Microsoft.App/jobs/${job}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.url);
    const text = await readBody(request);
    const query = Object.fromEntries([...url.searchParams].filter(([name]) => name !== 'api-version'));
    this.requests.push({
      method: request.method ?? '',
      path: url.pathname,
      apiVersion: url.searchParams.get('api-version'),
      query,
      authorization: request.headers.authorization,
      contentType: request.headers['content-type'],
      body: text ? (JSON.parse(text) as unknown) : undefined,
    });
    const error = (status: number, code: string, message: string, headers: Record<string, string> = {}) => sendJson(response, status, { error: { code, message } }, headers);
    if (request.headers.authorization !== `Bearer ${this.credential.token}`) {
      return error(401, 'AuthenticationFailed', 'Authentication failed. The Authorization header is missing.', { 'www-authenticate': 'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token"' });
    }
    const operation = /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.App\/locations\/([^/]+)\/containerappsjobOperationResults\/([^/]+)$/.exec(url.pathname);
    if (operation && request.method === 'GET') {
      const failure = this.failures.operation.shift();
      if (failure) return error(failure.status, failure.code, failure.message, failure.headers);
      return sendJson(response, 202, undefined, { location: url.href, 'retry-after': '10' });
    }
    const match = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.App\/jobs\/([^/]+)(\/start|\/executions)?$/i.exec(url.pathname);
    if (!match) return error(404, 'InvalidResourceType', `no route for ${request.method} ${url.pathname}`);
    const [, subscription, group, jobName = '', tail] = match;
    if (subscription !== this.subscriptionId) return error(404, 'SubscriptionNotFound', `The subscription '${subscription}' could not be found.`);
    if (group !== this.resourceGroup) return error(404, 'ResourceGroupNotFound', `Resource group '${group}' could not be found.`);
    const route: FailureRoute | undefined = !tail && request.method === 'GET' ? 'get-job' : tail === '/start' && request.method === 'POST' ? 'start' : tail === '/executions' && request.method === 'GET' ? 'list-executions' : undefined;
    if (!route) return error(405, 'MethodNotAllowed', `${request.method} ${url.pathname}`);
    const failure = this.failures[route].shift();
    if (failure) return error(failure.status, failure.code, failure.message, failure.headers);
    const job = this.jobs.get(jobName);
    if (!job) return error(404, 'ResourceNotFound', `The Resource 'Microsoft.App/jobs/${jobName}' under resource group '${group}' was not found.`);
    const id = this.jobPath(jobName);

    if (route === 'get-job') {
      return sendJson(response, 200, {
        id,
        name: jobName,
        type: 'Microsoft.App/jobs',
        location: this.location,
        properties: {
          provisioningState: 'Succeeded',
          environmentId: `/subscriptions/${this.subscriptionId}/resourceGroups/${this.resourceGroup}/providers/Microsoft.App/managedEnvironments/vaultra`,
          configuration: { triggerType: 'Manual', replicaTimeout: 7200, replicaRetryLimit: 0, manualTriggerConfig: { parallelism: 1, replicaCompletionCount: 1 } },
          template: { containers: job.containers, ...(job.initContainers ? { initContainers: job.initContainers } : {}) },
        },
      });
    }
    if (route === 'start') {
      const template = (text ? JSON.parse(text) : {}) as FakeExecution['template'];
      const containers = template.containers ?? job.containers;
      if (containers.some((container) => !container.image || !container.name)) return error(400, 'JobExecutionInvalidTemplate', 'Every container of the template needs a name and an image.');
      const name = `${jobName}-${randomBytes(4).toString('hex').slice(0, 7)}`;
      job.executions.push({ name, status: 'Running', startTime: new Date().toISOString(), template: { containers, ...(template.initContainers ? { initContainers: template.initContainers } : {}) } });
      const operationUrl = `${this.url}/subscriptions/${this.subscriptionId}/providers/Microsoft.App/locations/${this.location}/containerappsjobOperationResults/${randomUUID()}?api-version=${url.searchParams.get('api-version')}`;
      return sendJson(response, 202, { name, id: `${id}/executions/${name}` }, { location: operationUrl, 'retry-after': '10' });
    }
    const skip = Number(url.searchParams.get('$skiptoken') ?? '0');
    const page = job.executions.slice(skip, skip + this.pageSize);
    const more = skip + this.pageSize < job.executions.length;
    return sendJson(response, 200, {
      value: page.map((execution) => ({
        id: `${id}/executions/${execution.name}`,
        name: execution.name,
        type: 'Microsoft.App/jobs/executions',
        properties: { status: execution.status, startTime: execution.startTime, ...(execution.endTime ? { endTime: execution.endTime } : {}), template: execution.template },
      })),
      ...(more ? { nextLink: `${this.url}${id}/executions?api-version=${url.searchParams.get('api-version')}&$skiptoken=${skip + this.pageSize}` } : {}),
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Key Vault secrets + managed identity, for a runner process (MOCK)

export interface FakeKeyVault {
  /**
   * What the runner's process needs to reach this fake through the real SDK and credential
   * chain: HTTPS_PROXY (served here), NO_PROXY (every local service), NODE_EXTRA_CA_CERTS, and
   * the managed identity endpoint with the user-assigned identity's client id.
   */
  readonly runnerEnv: Readonly<Record<string, string>>;
  /** Key Vault requests: host, path, whether they carried a token the identity endpoint issued. */
  readonly requests: { readonly method: string; readonly host: string; readonly path: string; readonly authorized: boolean }[];
  /** Token requests at the identity endpoint: resource and client id asked for. */
  readonly tokenRequests: { readonly resource: string | null; readonly clientId: string | null }[];
  /** Hosts the runner tried to reach through the proxy that are not Key Vault (refused). */
  readonly refusedTunnels: string[];
  put(vault: string, name: string, value: string): void;
  close(): Promise<void>;
}

/**
 * MOCK of Azure Key Vault (secrets API, challenge authentication) and of the managed identity
 * endpoint of a Container Apps job, reachable from another process: see the module comment.
 */
export async function startFakeKeyVault(options: { clientId?: string } = {}): Promise<FakeKeyVault> {
  const { keyPem, certPem, caFile } = await testTls();
  const clientId = options.clientId ?? randomUUID();
  const identityHeader = randomBytes(16).toString('hex');
  const issued = new Set<string>();
  const secrets = new Map<string, { version: string; value: string }>();
  const requests: FakeKeyVault['requests'] = [];
  const tokenRequests: FakeKeyVault['tokenRequests'] = [];
  const refusedTunnels: string[] = [];

  // Key Vault itself: TLS terminated here with the test CA's certificate for *.vault.azure.net.
  const vault = createHttpsServer({ key: keyPem, cert: certPem }, (request, response) => {
    const host = (request.headers.host ?? '').replace(/:443$/, '');
    const url = new URL(request.url ?? '/', `https://${host}`);
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const authorized = token !== undefined && issued.has(token);
    requests.push({ method: request.method ?? '', host, path: url.pathname, authorized });
    if (!authorized) {
      return sendJson(response, 401, { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } }, {
        'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${randomUUID()}", resource="https://vault.azure.net"`,
      });
    }
    const match = /^\/secrets\/([A-Za-z0-9-]+)\/?$/.exec(url.pathname);
    const found = match && request.method === 'GET' && url.searchParams.has('api-version') ? secrets.get(`${host.split('.')[0]}/${match[1]}`) : undefined;
    if (!found) return sendJson(response, 404, { error: { code: 'SecretNotFound', message: `A secret with (name/id) ${match?.[1] ?? url.pathname} was not found in this key vault.` } });
    const now = Math.floor(Date.now() / 1000);
    return sendJson(response, 200, { value: found.value, id: `https://${host}/secrets/${match![1]}/${found.version}`, attributes: { enabled: true, created: now, updated: now, recoveryLevel: 'Recoverable+Purgeable' } });
  });

  // One local port: the managed identity endpoint (plain http, as on Azure) and the CONNECT proxy.
  const front = createHttpServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/msi/token' || request.headers['x-identity-header'] !== identityHeader) return sendJson(response, 400, { error: 'unexpected request' });
    tokenRequests.push({ resource: url.searchParams.get('resource'), clientId: url.searchParams.get('client_id') });
    if (url.searchParams.get('client_id') !== clientId) return sendJson(response, 400, { error: 'invalid_request', error_description: 'Identity not found' });
    const token = `fake-mi-token-${randomBytes(8).toString('hex')}`;
    issued.add(token);
    return sendJson(response, 200, { access_token: token, expires_on: String(Math.floor(Date.now() / 1000) + 3600), resource: url.searchParams.get('resource'), token_type: 'Bearer', client_id: clientId });
  });
  front.on('connect', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    const target = request.url ?? '';
    if (!/^[a-z0-9-]+\.vault\.azure\.net:443$/.test(target)) {
      refusedTunnels.push(target);
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) socket.unshift(head);
    vault.emit('connection', socket);
  });
  const port = await listen(front);

  return {
    runnerEnv: {
      HTTPS_PROXY: `http://127.0.0.1:${port}`,
      NO_PROXY: '127.0.0.1,localhost',
      NODE_EXTRA_CA_CERTS: caFile,
      IDENTITY_ENDPOINT: `http://127.0.0.1:${port}/msi/token`,
      IDENTITY_HEADER: identityHeader,
      AZURE_CLIENT_ID: clientId,
    },
    requests,
    tokenRequests,
    refusedTunnels,
    put(vaultName, name, value) {
      secrets.set(`${vaultName.toLowerCase()}/${name}`, { version: randomBytes(16).toString('hex'), value });
    },
    close: () => new Promise<void>((resolve) => front.close(() => resolve())),
  };
}

// ---------------------------------------------------------------------------------------------
// The platform on Azurite

export interface AzurePlatform {
  readonly container: string;
  readonly table: string;
  /** `azblob://devstoreaccount1/<container>/<prefix>`: the endpoint comes from the connection string. */
  readonly storageUrl: string;
  readonly catalogUrl: string;
  /**
   * Everything a function's process would see: Azurite's connection string (where Azure gives
   * the managed identity instead), then the variables the Terraform module sets.
   */
  readonly env: Record<string, string>;
}

export interface DeployOptions {
  readonly environmentName: string;
  readonly configJson: string;
  /** @default 'backups' */
  readonly prefix?: string;
  /** The Container Apps job and where it lives (the fake ARM's, when one is used). */
  readonly subscriptionId?: string;
  readonly resourceGroup?: string;
  readonly jobName?: string;
  /** The restore job (VAULTRA_CONTAINER_APPS_RESTORE_JOB), as the module makes it. @default 'vaultra-restore' */
  readonly restoreJobName?: string;
}

export async function deployAzurePlatform(azurite: AzuriteConnection, options: DeployOptions): Promise<AzurePlatform> {
  const connectionString = azurite.env.AZURE_STORAGE_CONNECTION_STRING!;
  const container = uniqueAzureName('vaultra');
  const table = uniqueAzureName('runs', '').replace(/[^a-z0-9]/g, '');
  await BlobServiceClient.fromConnectionString(connectionString).createContainer(container);
  await TableClient.fromConnectionString(connectionString, table, { allowInsecureConnection: true }).createTable();
  const storageUrl = `azblob://${AZURITE_ACCOUNT}/${container}/${options.prefix ?? 'backups'}`;
  const catalogUrl = `aztable://${AZURITE_ACCOUNT}/${table}`;
  return {
    container,
    table,
    storageUrl,
    catalogUrl,
    env: {
      ...azurite.env,
      [FUNCTION_ENV.environmentName]: options.environmentName,
      [FUNCTION_ENV.configJson]: options.configJson,
      [FUNCTION_ENV.storageUrl]: storageUrl,
      [FUNCTION_ENV.catalogUrl]: catalogUrl,
      [AZURE_FUNCTION_ENV.subscriptionId]: options.subscriptionId ?? randomUUID(),
      [AZURE_FUNCTION_ENV.resourceGroup]: options.resourceGroup ?? 'rg-vaultra-test',
      [AZURE_FUNCTION_ENV.containerAppsJob]: options.jobName ?? 'vaultra-runner',
      [AZURE_FUNCTION_ENV.containerAppsRestoreJob]: options.restoreJobName ?? 'vaultra-restore',
    },
  };
}

/**
 * Every client a function could use, built from the environment the way the handlers build
 * theirs, except Container Apps: either the real launcher and tracker over `FakeArm` (launches
 * retried quickly), or a stand-in that runs the runner locally (`LocalExecutions`).
 */
export function azureDeploymentFromEnv(
  env: NodeJS.ProcessEnv,
  executions: FakeArm | (JobLauncher & ExecutionTracker),
  policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 20 },
): AzureDeployment {
  const settings = azureSettingsFromEnv(env);
  return {
    environment: settings.environment,
    target: settings.target,
    catalog: catalogOf(settings),
    storage: storageOf(settings),
    notify: notifyOf(settings),
    ...(executions instanceof FakeArm
      ? {
          launcher: new ContainerAppsJobLauncher(settings.containerApps, executions.client(), policy),
          tracker: new ContainerAppsExecutionTracker(settings.containerApps, executions.client()),
        }
      : { launcher: executions, tracker: executions }),
  };
}

// ---------------------------------------------------------------------------------------------
// Container Apps replaced by local processes (end to end)

/**
 * The real runner as a local process (`LocalProcessLauncher`), and a tracker that reports its
 * executions from the processes' exits the way Container Apps reports executions: running until
 * the process ends, then succeeded (exit 0) or failed.
 */
export class LocalExecutions implements JobLauncher, ExecutionTracker {
  readonly launches: LaunchRequest[] = [];
  private readonly launcher: LocalProcessLauncher;
  private readonly taskOf = new Map<string, string>();
  private readonly exits = new Map<string, LocalTaskExit>();

  constructor(options: LocalProcessLauncherOptions) {
    this.launcher = new LocalProcessLauncher({
      ...options,
      onExit: (exit) => {
        this.exits.set(exit.runId, exit);
        options.onExit?.(exit);
      },
    });
  }

  async launch(request: LaunchRequest): Promise<LaunchedTask> {
    this.launches.push(request);
    const task = await this.launcher.launch(request);
    this.taskOf.set(request.runId, task.taskId);
    return task;
  }

  completion(taskId: string): Promise<LocalTaskExit> {
    return this.launcher.completion(taskId);
  }

  async statusOf(runIds: readonly string[]): Promise<ReadonlyMap<string, ExecutionStatus>> {
    const found = new Map<string, ExecutionStatus>();
    for (const runId of runIds) {
      const taskId = this.taskOf.get(runId);
      if (!taskId) continue;
      const exit = this.exits.get(runId);
      if (!exit) {
        found.set(runId, { runId, taskId, state: 'running' });
        continue;
      }
      found.set(runId, {
        runId,
        taskId,
        state: exit.exitCode === 0 ? 'succeeded' : 'failed',
        ...(exit.exitCode === undefined ? {} : { exitCode: exit.exitCode }),
        reason: exit.stoppedReason ?? `the runner process exited with code ${exit.exitCode}`,
        finishedAt: exit.stoppedAt,
      });
    }
    return found;
  }
}
