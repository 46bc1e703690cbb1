/**
 * A throwaway fake-gcs-server (Cloud Storage's JSON API, resumable uploads; built by
 * scripts/setup-gcp.sh) on 127.0.0.1 and a free port, plain HTTP, objects kept in memory.
 * Clients reach it with `STORAGE_EMULATOR_HOST` (in `env`) or a `gs://…?endpoint=` option.
 *
 * What it does not do like Cloud Storage (found reading its v1.56.1 source and by the tests):
 * - a resumable-upload status query (`Content-Range: bytes *\/*`) finalizes the object with what
 *   it has so far, instead of answering 308 with the persisted range;
 * - it appends every chunk it receives without checking its `Content-Range` start;
 * - it ignores `X-Goog-Hash` on a chunk (it checks only hashes declared when the session starts);
 * - object retention is stored and returned but not enforced; event-based and temporary holds
 *   are neither stored nor enforced;
 * - it recomputes the CRC32C and MD5 of the whole object on every chunk (quadratic): keep test
 *   objects to tens of MiB.
 */
import { which } from './exec.js';
import { answersHttp, startEmulator } from './emulator-process.js';
import { respond, type Fault, type FaultRule, type ProxiedRequest } from './faulty-http-proxy.js';
import { freePort } from './postgres-server.js';

export interface FakeGcsConnection {
  /** The emulator's endpoint URL (http://127.0.0.1:<port>), the `endpoint` of a gs:// URL. */
  readonly endpoint: string;
  /** Environment a client (or the vaultra CLI) needs to reach it: `STORAGE_EMULATOR_HOST`. */
  readonly env: Readonly<Record<string, string>>;
}

export interface FakeGcsServer extends FakeGcsConnection {
  stop(): Promise<void>;
}

export async function startFakeGcs(): Promise<FakeGcsServer> {
  const command = which('fake-gcs-server');
  if (!command) throw new Error('fake-gcs-server not found on PATH; run scripts/setup-system.sh (scripts/setup-gcp.sh builds it)');
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const emulator = await startEmulator({
    name: 'fake-gcs-server',
    command,
    // Upload session URIs are built from each request's Host, so a proxy in front keeps working.
    args: () => ['-scheme', 'http', '-host', '127.0.0.1', '-port', String(port), '-backend', 'memory', '-log-level', 'error'],
    ready: answersHttp(`${endpoint}/_internal/healthcheck`),
  });
  return { endpoint, env: { STORAGE_EMULATOR_HOST: endpoint }, stop: () => emulator.stop() };
}

/** Creates a bucket on the emulator (Cloud Storage's JSON API; the emulator ignores the project). */
export async function createBucket(endpoint: string, name: string): Promise<void> {
  const response = await fetch(`${endpoint}/storage/v1/b?project=vaultra-test`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (!response.ok && response.status !== 409) throw new Error(`creating bucket ${name} failed: HTTP ${response.status} ${await response.text()}`);
}

/** A resumable-upload chunk (`Content-Range: bytes <first>-<last>/<total or *>`). */
export const isUploadChunk = (r: ProxiedRequest): boolean => r.method === 'PUT' && /^bytes \d+-\d+\//.test(String(r.headers['content-range']));
/** The request that finalizes an upload (its `Content-Range` names the total). */
export const isFinalizingChunk = (r: ProxiedRequest): boolean => r.method === 'PUT' && /^bytes (\d+-\d+|\*)\/\d+$/.test(String(r.headers['content-range']));
/** A resumable-upload status query (`Content-Range: bytes *\/*`, no body). */
export const isStatusQuery = (r: ProxiedRequest): boolean => r.method === 'PUT' && r.headers['content-range'] === 'bytes */*';
/** The first byte a chunk request carries, or -1. */
export const chunkStart = (r: ProxiedRequest): number => Number(/^bytes (\d+)-/.exec(String(r.headers['content-range']))?.[1] ?? -1);

/** Faults of the faulty proxy that stop a request before the emulator sees it. */
const NOT_FORWARDED = new Set<Fault['kind']>(['respond', 'reset', 'hang']);

/**
 * A faulty-proxy rule for fake-gcs-server: status queries are answered by the proxy itself, with
 * the range Cloud Storage would report — the end of the last chunk it forwarded for that session —
 * because fake-gcs-server would finalize the object on one (see the file comment). Every other
 * request goes to `faults`.
 */
export function withGcsStatusQueries(faults: FaultRule): FaultRule {
  const persisted = new Map<string, number>();
  return (request) => {
    const session = request.query.get('upload_id') ?? '';
    if (isStatusQuery(request)) {
      const bytes = persisted.get(session) ?? 0;
      return respond(308, '', bytes > 0 ? { range: `bytes=0-${bytes - 1}` } : {});
    }
    const fault = faults(request);
    if (isUploadChunk(request) && !(fault && NOT_FORWARDED.has(fault.kind))) {
      const last = Number(/^bytes \d+-(\d+)\//.exec(String(request.headers['content-range']))![1]);
      persisted.set(session, last + 1);
    }
    return fault;
  };
}
