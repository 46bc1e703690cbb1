/**
 * The runner's OpenTelemetry (issue 16), through the built CLI against a real OpenTelemetry
 * Collector (OTLP receiver → file exporter, test/support/otel-collector.ts) and the run's real
 * PostgreSQL: a backup's trace (one root under the launcher's TRACEPARENT, a child per phase),
 * its metrics matching the run record, no secret anywhere the collector wrote; the same over
 * gRPC; a restore's spans; telemetry off loading no SDK module and connecting nowhere; a
 * collector that is down or hung delaying a backup by a bounded time and failing nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../../core/domain/telemetry-metrics.js';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import type { BackupJson } from '../support/cli-json.js';
import { otelCollectorBinary, startOtelCollector, type CollectedSpan, type OtelCollector } from '../support/otel-collector.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { pgEnv } from '../support/psql.js';
import { requirePostgres, requireTools, unmet } from '../support/requirements.js';
import { TELEMETRY_SHUTDOWN_MS } from '../../runner/telemetry.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';

const BACKUP_PHASES = ['resolve secrets', 'open tools', 'claim', 'start dump', 'dump, compress, encrypt, upload', 'manifest', 'sign', 'commit', 'catalog', 'repair'];
const RESTORE_PHASES = ['locate', 'authenticate', 'check objects', 'fetch, decrypt, decompress, restore'];

/** A W3C traceparent as a launcher passes it: fresh ids, sampled. */
function launcherTrace(): { traceparent: string; traceId: string; parentSpanId: string } {
  const traceId = randomBytes(16).toString('hex');
  const parentSpanId = randomBytes(8).toString('hex');
  return { traceparent: `00-${traceId}-${parentSpanId}-01`, traceId, parentSpanId };
}

describe('OpenTelemetry from the runner', () => {
  const pg = requirePostgres();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'zstd');
  if (!pg || !tools) return;
  const binary = otelCollectorBinary();
  if (!binary) {
    unmet('the OpenTelemetry Collector (vaultra-otelcol)', 'run scripts/setup-otel-collector.sh');
    return;
  }

  const source = uniqueDatabaseName('otel_src');
  const databases = [source];
  const passphrase = `canary-${randomBytes(12).toString('hex')}`;
  let collector: OtelCollector;
  let root = '';

  const urlOf = (database: string) => `postgres://${pg.user}@${pg.host}:${pg.port}/${database}`;
  const workspace = (name: string): Workspace => makeWorkspace(root, name, pgEnv(pg, 'postgres', { BACKUP_PASSPHRASE: passphrase }));
  const otelEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.httpEndpoint,
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test',
    ...extra,
  });
  const backup = (ws: Workspace, env: NodeJS.ProcessEnv, job: string): Promise<VaultraResult> =>
    runVaultra(['backup', urlOf(source), '--to', ws.storeUrl, '--job', job, '--passphrase-env', 'BACKUP_PASSPHRASE', '--json', '--no-progress'], { env: { ...ws.env, ...env } });
  const traceOf = (traceId: string) => collector.spans().filter((span) => span.traceId === traceId);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-otel-'));
    await createDatabase(pg, source);
    await loadVariedTypesFixture(pg, source);
    collector = await startOtelCollector(binary);
  }, 120_000);

  afterAll(async () => {
    await collector?.stop();
    for (const database of databases) await dropDatabase(pg, database).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  it('a backup is one trace under the launcher\'s TRACEPARENT, a span per phase, metrics that match its run, no secret (http/protobuf)', async () => {
    // Prepare
    const ws = workspace('http-protobuf');
    const launcher = launcherTrace();

    // Act
    const result = await backup(ws, otelEnv({ TRACEPARENT: launcher.traceparent }), 'otel-http');

    // Assess: the run
    expect(result.code, result.stderr).toBe(0);
    const taken = JSON.parse(result.stdout) as BackupJson & { trace_id?: string; span_id?: string };
    expect(taken.trace_id).toBe(launcher.traceId);

    // Assess: the trace
    const spans = await collector.waitFor('backup trace', () => {
      const found = traceOf(launcher.traceId);
      return found.some((span) => span.name === 'backup') && found.length >= BACKUP_PHASES.length + 1 ? found : undefined;
    });
    const root = spans.find((span) => span.name === 'backup')!;
    expect(root.parentSpanId).toBe(launcher.parentSpanId);
    expect(taken.span_id).toBe(root.spanId);
    expect(root.attributes).toMatchObject({ 'vaultra.job': 'otel-http', 'vaultra.run_id': taken.runId, 'vaultra.run.status': 'succeeded', 'db.system': 'postgresql', 'vaultra.bytes.raw': taken.bytesRaw, 'vaultra.bytes.stored': taken.bytesStored });
    expect(root.resource).toMatchObject({ 'service.name': 'vaultra', 'deployment.environment.name': 'test' });
    for (const phase of BACKUP_PHASES) expect(spans.map((span) => span.name), phase).toContain(phase);
    expect(descendantsOf(root, spans).length).toBe(spans.length - 1);
    // sign and commit are the manifest commit's; every other phase is a child of the run
    const byName = (name: string) => spans.find((span) => span.name === name)!;
    expect(byName('sign').parentSpanId).toBe(root.spanId);
    const streamed = byName('dump, compress, encrypt, upload');
    expect(streamed.attributes).toMatchObject({ 'vaultra.bytes.raw': taken.bytesRaw, 'vaultra.bytes.stored': taken.bytesStored, 'db.namespace': source, 'vaultra.destinations': 1 });
    expect(streamed.events.map((event) => event.name)).toEqual(['stored']);
    expect(byName('start dump').attributes).toMatchObject({ 'db.system': 'postgresql', 'vaultra.source': `${pg.host}:${pg.port}/${source}` });
    expect(spans.every((span) => span.statusCode !== 2)).toBe(true);

    // Assess: the metrics, each named as METRICS says, with the run's own figures
    const points = await collector.waitFor('run metrics', () => {
      const found = collector.metricPoints().filter((point) => point.attributes['vaultra.job'] === 'otel-http');
      return found.length > 0 ? found : undefined;
    });
    const point = (name: string) => points.find((candidate) => candidate.metric === name);
    expect(point(METRICS.runs.name)).toMatchObject({ value: 1, attributes: { 'vaultra.run.kind': 'backup', 'vaultra.run.status': 'succeeded', 'db.system': 'postgresql' } });
    expect(point(METRICS.rawBytes.name)?.value).toBe(taken.bytesRaw);
    expect(point(METRICS.storedBytes.name)).toMatchObject({ value: taken.bytesStored, attributes: { 'vaultra.destination': ws.storeUrl } });
    expect(point(METRICS.runDuration.name)).toMatchObject({ count: 1, unit: 's' });
    expect(point(METRICS.runDuration.name)!.value).toBeCloseTo(taken.durationMs / 1000, 2);
    expect(point(METRICS.compressionRatio.name)!.value).toBeCloseTo(taken.bytesRaw / taken.bytesStored, 5);
    expect(point(METRICS.throughput.name)!.value).toBeCloseTo(taken.bytesRaw / (taken.durationMs / 1000), 0);
    expect(point(METRICS.runFailures.name)).toBeUndefined();
    // Deltas, from a resource with nothing per process: a collector adds runs up into one series (docs/observability.md)
    expect(point(METRICS.runs.name)!.temporality).toBe('delta');
    expect(point(METRICS.runDuration.name)!.temporality).toBe('delta');
    expect(Object.keys(point(METRICS.runs.name)!.resource).filter((key) => key.startsWith('process.') || key.startsWith('host.') || key === 'service.instance.id')).toEqual([]);

    // Assess: canaries (the database password, the age passphrase) nowhere
    const written = collector.everything() + result.stdout + result.stderr;
    expect(written.includes(pg.password), 'the database password reached the collector or the output').toBe(false);
    expect(written.includes(passphrase), 'the passphrase reached the collector or the output').toBe(false);
  });

  it('exports the same trace over OTLP/gRPC (and cumulative metrics when the user asks for them)', async () => {
    const ws = workspace('grpc');
    const launcher = launcherTrace();

    const result = await backup(
      ws,
      otelEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.grpcEndpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'cumulative', TRACEPARENT: launcher.traceparent }),
      'otel-grpc',
    );

    expect(result.code, result.stderr).toBe(0);
    const spans = await collector.waitFor('gRPC trace', () => {
      const found = traceOf(launcher.traceId);
      return found.some((span) => span.name === 'backup') ? found : undefined;
    });
    for (const phase of BACKUP_PHASES) expect(spans.map((span) => span.name), phase).toContain(phase);
    const runs = await collector.waitFor('gRPC metrics', () => collector.metricPoints().find((point) => point.attributes['vaultra.job'] === 'otel-grpc' && point.metric === METRICS.runs.name));
    expect(runs.temporality).toBe('cumulative');
  });

  it('a failed backup marks its run span ERROR with the one-line message, and counts the failure by error.type', async () => {
    const ws = workspace('failed');
    const launcher = launcherTrace();

    const result = await runVaultra(['backup', urlOf('no_such_database_otel'), '--to', ws.storeUrl, '--job', 'otel-failed', '--passphrase-env', 'BACKUP_PASSPHRASE', '--no-progress'], {
      env: { ...ws.env, ...otelEnv({ TRACEPARENT: launcher.traceparent }) },
    });

    expect(result.code).not.toBe(0);
    const spans = await collector.waitFor('failed trace', () => {
      const found = traceOf(launcher.traceId);
      return found.some((span) => span.name === 'backup') ? found : undefined;
    });
    const root = spans.find((span) => span.name === 'backup')!;
    expect(root.statusCode).toBe(2);
    expect(root.statusMessage).toMatch(/no_such_database_otel/);
    expect(root.events.find((event) => event.name === 'exception')?.attributes['exception.message']).toBe(root.statusMessage);
    expect(root.statusMessage).not.toContain('\n');
    const failures = await collector.waitFor('failure metric', () => collector.metricPoints().find((point) => point.metric === METRICS.runFailures.name && point.attributes['vaultra.job'] === 'otel-failed'));
    expect(failures.value).toBe(1);
    expect(String(failures.attributes['error.type'])).toMatch(/Error$/);
    expect(collector.everything().includes(pg.password)).toBe(false);
  });

  it('a restore is one trace: locate, authenticate, check, then fetch → decrypt → decompress → restore', async () => {
    const ws = workspace('restore');
    const taken = await backup(ws, {}, 'otel-restore');
    expect(taken.code, taken.stderr).toBe(0);
    const target = uniqueDatabaseName('otel_dst');
    databases.push(target);
    await createDatabase(pg, target);
    const launcher = launcherTrace();

    const result = await runVaultra(['restore', 'latest', '--job', 'otel-restore', '--from', ws.storeUrl, '--target', urlOf(target), '--passphrase-env', 'BACKUP_PASSPHRASE', '--json', '--no-progress'], {
      env: { ...ws.env, ...otelEnv({ TRACEPARENT: launcher.traceparent }) },
    });

    expect(result.code, result.stderr).toBe(0);
    const spans = await collector.waitFor('restore trace', () => {
      const found = traceOf(launcher.traceId);
      return found.some((span) => span.name === 'restore') && found.length >= RESTORE_PHASES.length + 1 ? found : undefined;
    });
    const root = spans.find((span) => span.name === 'restore')!;
    expect(root.parentSpanId).toBe(launcher.parentSpanId);
    expect(spans.filter((span) => span !== root).map((span) => span.name).sort()).toEqual([...RESTORE_PHASES].sort());
    expect(spans.filter((span) => span !== root).every((span) => span.parentSpanId === root.spanId)).toBe(true);
    expect(spans.find((span) => span.name === 'locate')!.attributes).toMatchObject({ 'vaultra.job': 'otel-restore', 'db.system': 'postgresql', 'db.namespace': source });
    const restoreRuns = await collector.waitFor('restore metrics', () => runPointsOf('restore', 'otel-restore'));
    expect(restoreRuns.runs).toMatchObject({ value: 1, attributes: { 'vaultra.run.status': 'succeeded', 'db.system': 'postgresql' } });
    expect(restoreRuns.duration).toMatchObject({ count: 1, unit: 's' });
    expect(restoreRuns.duration.value).toBeGreaterThan(0);
    expect(collector.everything().includes(passphrase)).toBe(false);
  });

  it('a verify is one trace: locate, authenticate, then fetch → decrypt → decompress → verify', async () => {
    const ws = workspace('verify');
    const taken = await backup(ws, {}, 'otel-verify');
    expect(taken.code, taken.stderr).toBe(0);
    const launcher = launcherTrace();

    const result = await runVaultra(['verify', 'latest', '--job', 'otel-verify', '--from', ws.storeUrl, '--passphrase-env', 'BACKUP_PASSPHRASE', '--json', '--no-progress'], {
      env: { ...ws.env, ...otelEnv({ TRACEPARENT: launcher.traceparent }) },
    });

    expect(result.code, result.stderr).toBe(0);
    const verified = JSON.parse(result.stdout) as { bytesRaw: number; bytesStored: number; trace_id?: string };
    expect(verified.trace_id).toBe(launcher.traceId);
    const spans = await collector.waitFor('verify trace', () => {
      const found = traceOf(launcher.traceId);
      return found.some((span) => span.name === 'verify') && found.length >= 4 ? found : undefined;
    });
    const root = spans.find((span) => span.name === 'verify')!;
    expect(root.parentSpanId).toBe(launcher.parentSpanId);
    expect(spans.filter((span) => span !== root).map((span) => span.name).sort()).toEqual(['authenticate', 'fetch, decrypt, decompress, verify', 'locate']);
    expect(spans.find((span) => span.name === 'fetch, decrypt, decompress, verify')!.attributes).toMatchObject({ 'vaultra.bytes.raw': verified.bytesRaw, 'vaultra.bytes.stored': verified.bytesStored });
    const verifyRuns = await collector.waitFor('verify metrics', () => runPointsOf('verify', 'otel-verify'));
    expect(verifyRuns.runs).toMatchObject({ value: 1, attributes: { 'vaultra.run.status': 'succeeded', 'db.system': 'postgresql' } });
  });

  it('a failed verify is counted under the job of the backup it located, or with no job label when it located none', async () => {
    // Prepare: a backup, verified by run id without --job and with a wrong passphrase (fails after locating it)
    const ws = workspace('verify-failed');
    const taken = await backup(ws, {}, 'otel-verify-failed');
    expect(taken.code, taken.stderr).toBe(0);
    const { runId } = JSON.parse(taken.stdout) as BackupJson;
    const verify = (ref: string, env: NodeJS.ProcessEnv) => runVaultra(['verify', ref, '--from', ws.storeUrl, '--passphrase-env', 'WRONG_PASSPHRASE', '--json', '--no-progress'], { env: { ...ws.env, WRONG_PASSPHRASE: 'not-the-passphrase', ...otelEnv(env) } });

    // Act
    const located = await verify(runId, { OTEL_RESOURCE_ATTRIBUTES: 'vaultra.test=located' });
    const notFound = await verify('20200101T000000.000Z-000000', { OTEL_RESOURCE_ATTRIBUTES: 'vaultra.test=not-found' });

    // Assess: both failed and were counted; the job label is the manifest's, or absent, never a made-up one
    expect(located.code).not.toBe(0);
    expect(notFound.code).not.toBe(0);
    const failureOf = (test: string) => collector.metricPoints().find((point) => point.metric === METRICS.runFailures.name && point.resource['vaultra.test'] === test);
    const locatedFailure = await collector.waitFor('located verify failure', () => failureOf('located'));
    expect(locatedFailure).toMatchObject({ value: 1, attributes: { 'vaultra.job': 'otel-verify-failed', 'vaultra.run.kind': 'verify', 'db.system': 'postgresql' } });
    expect(String(locatedFailure.attributes['error.type'])).toMatch(/Error$/);
    const unlocated = await collector.waitFor('unlocated verify failure', () => failureOf('not-found'));
    expect(unlocated.attributes).toMatchObject({ 'vaultra.run.kind': 'verify' });
    expect(unlocated.attributes).not.toHaveProperty('vaultra.job');
  });

  it('off (no endpoint, or OTEL_SDK_DISABLED): no SDK module loads and nothing connects', async () => {
    // Prepare: a listener that counts connections, named as the endpoint of the disabled run
    const ws = workspace('off');
    const listener = await countingListener();
    const modules = join(ws.dir, 'modules.txt');
    const hook = join(process.cwd(), 'test/support/module-log/register.mjs');
    const traced = { NODE_OPTIONS: `--import=${hook}`, VAULTRA_TEST_MODULE_LOG: modules };

    // Act
    const off = await backup(ws, { ...traced, OTEL_EXPORTER_OTLP_ENDPOINT: undefined, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined, OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: undefined }, 'otel-off');
    const disabled = await backup(ws, { OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: listener.url }, 'otel-off');
    await listener.close();

    // Assess
    expect(off.code, off.stderr).toBe(0);
    expect(disabled.code, disabled.stderr).toBe(0);
    const loaded = readFileSync(modules, 'utf8').split('\n').filter((url) => url.startsWith('file:'));
    expect(loaded.some((url) => url.includes('dist/vaultra.mjs')), 'the module log saw the CLI').toBe(true);
    const sdk = loaded.filter((url) => /opentelemetry|otel-telemetry|grpc/i.test(url) || readFileSync(new URL(url), 'utf8').includes('@opentelemetry/sdk-trace'));
    expect(sdk).toEqual([]);
    expect(JSON.parse(off.stdout)).not.toHaveProperty('trace_id');
    expect(listener.connections()).toBe(0);
  });

  it('a collector that is down or hung costs a backup a bounded delay and fails nothing', async () => {
    // Prepare: a port nobody listens on, and a listener that accepts and never answers
    const ws = workspace('down');
    const down = await countingListener();
    await down.close();
    const hung = await countingListener();

    // Act
    const startedOff = performance.now();
    const off = await backup(ws, {}, 'otel-down');
    const offMs = performance.now() - startedOff;
    const startedDown = performance.now();
    const refused = await backup(ws, { OTEL_EXPORTER_OTLP_ENDPOINT: down.url }, 'otel-down');
    const refusedMs = performance.now() - startedDown;
    const startedHung = performance.now();
    // The exporter alone would wait 30 s for the hung collector's answer: the runner's bound must end it.
    const silent = await backup(ws, { OTEL_EXPORTER_OTLP_ENDPOINT: hung.url, OTEL_EXPORTER_OTLP_TIMEOUT: '30000' }, 'otel-down');
    const silentMs = performance.now() - startedHung;
    await hung.close();

    // Assess: all succeeded; the hung collector cost the shutdown bound (3 s) and the SDK's load
    // (a few seconds more on a loaded 2-core machine), far from the exporter's own 30 s
    for (const result of [off, refused, silent]) expect(result.code, result.stderr).toBe(0);
    expect(hung.connections()).toBeGreaterThan(0);
    expect(refusedMs - offMs).toBeLessThan(TELEMETRY_SHUTDOWN_MS + 5_000);
    expect(silentMs - offMs).toBeLessThan(TELEMETRY_SHUTDOWN_MS + 5_000);
    expect(silent.stderr).not.toContain('canary-');
  });

  /** The runs counter and duration histogram of one restore or verify job, once both arrived. */
  function runPointsOf(kind: 'restore' | 'verify', job: string) {
    const points = collector.metricPoints().filter((point) => point.attributes['vaultra.job'] === job && point.attributes['vaultra.run.kind'] === kind);
    const runs = points.find((point) => point.metric === METRICS.runs.name);
    const duration = points.find((point) => point.metric === METRICS.runDuration.name);
    return runs && duration ? { runs, duration } : undefined;
  }
});

/** `span` and every span below it in `spans`. */
function descendantsOf(span: CollectedSpan, spans: readonly CollectedSpan[]): CollectedSpan[] {
  const children = spans.filter((candidate) => candidate.parentSpanId === span.spanId);
  return children.flatMap((child) => [child, ...descendantsOf(child, spans)]);
}

/** A TCP listener on 127.0.0.1 that accepts, counts and never answers (a hung collector). */
async function countingListener(): Promise<{ url: string; connections(): number; close(): Promise<void> }> {
  let count = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    count += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
