/**
 * Log catch-up schedules (point-in-time recovery): the `logs` config, the `logs push` command
 * line, how a scheduler starts and settles a push, and the watchdog's lag and gap alerts. The
 * use cases run on the local catalog and a fixed clock: every time below is computed from NOW.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { environmentOf, jobOf, parseConfig, type Environment, type ScheduledJob } from '../../core/config/load-config.js';
import { isEvenLogInterval, logFireTimes, logPushLockName, logScheduleCron, logScheduleRate } from '../../core/config/log-schedule.js';
import { engineIdForUrl } from '../../core/adapters/engines/engine-descriptors.js';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { parseBackupSpecJson } from '../../core/domain/backup-spec.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import { manifestKey, runFolder } from '../../core/domain/object-layout.js';
import type { LogRange } from '../../core/domain/log-archive.js';
import type { RunRecord } from '../../core/domain/run.js';
import { ConfigError } from '../../core/errors.js';
import type { LaunchRequest } from '../../core/ports/job-launcher.js';
import type { Alert } from '../../core/ports/notifier.js';
import { dueRuns } from '../../core/usecases/due-runs.js';
import { finishRun } from '../../core/usecases/finish-run.js';
import { reconcileRuns } from '../../core/usecases/reconcile-runs.js';
import { logsPushCommandLine, type RunnerTarget } from '../../core/usecases/runner-commands.js';
import { startBackup } from '../../core/usecases/start-backup.js';
import { logPushRunId, startLogPush } from '../../core/usecases/start-log-push.js';
import { watchJobs } from '../../core/usecases/watch-jobs.js';
import { MemoryStorageBackend } from '../fakes/memory-storage.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const NOW = new Date('2026-03-10T12:00:00.000Z');
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);
const KMS = 'aws-kms:arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const TARGET: RunnerTarget = { storageUrl: 's3://bucket/vaultra?region=eu-west-1', catalogUrl: 'dynamodb://vaultra?region=eu-west-1', kmsKey: KMS, signingKey: 'aws-kms:arn:aws:kms:eu-west-1:123456789012:key/sign' };

function config(jobs: Record<string, Record<string, unknown>>, environment: Record<string, unknown> = { cloud: 'aws', region: 'eu-west-1' }): string {
  const withDefaults = Object.fromEntries(Object.entries(jobs).map(([name, job]) => [name, { source: 'secret+aws://prod/db', schedule: { cron: '0 3 * * *' }, ...job }]));
  return JSON.stringify({ version: 1, environments: { prod: { ...environment, jobs: withDefaults } } });
}

function environmentWith(jobs: Record<string, Record<string, unknown>>): Environment {
  return environmentOf(parseConfig(config(jobs)), 'prod');
}

describe('logs: in the config', () => {
  it('resolves every, the RPO (three times every by default), the timeout (1h) and the smallest runner size', () => {
    const job = jobOf(environmentWith({ shop: { logs: { every: '5m' } } }), 'shop');
    expect(job.logs).toEqual({ everyMs: 5 * MINUTE, rpoMs: 15 * MINUTE, timeoutMs: HOUR, runtime: { cpu: 256, memoryMiB: 512 } });
    const tuned = jobOf(environmentWith({ shop: { logs: { every: '10m', rpo: '1h', timeout: '20m', runtime: { cpu: 512, memoryMiB: 1024 } } } }), 'shop');
    expect(tuned.logs).toEqual({ everyMs: 10 * MINUTE, rpoMs: HOUR, timeoutMs: 20 * MINUTE, runtime: { cpu: 512, memoryMiB: 1024 } });
    expect(jobOf(environmentWith({ shop: {} }), 'shop').logs).toBeUndefined();
  });

  it('comes from the environment defaults like any job field', () => {
    const text = JSON.stringify({ version: 1, environments: { prod: { cloud: 'aws', region: 'eu-west-1', defaults: { logs: { every: '15m' } }, jobs: { a: { source: 'secret+aws://a', schedule: { cron: '0 3 * * *' } } } } } });
    expect(jobOf(environmentOf(parseConfig(text), 'prod'), 'a').logs?.everyMs).toBe(15 * MINUTE);
  });

  it.each([
    [{ logs: { every: '30m', rpo: '15m' } }, /jobs\.shop\.logs\.every: logs\.every is longer than logs\.rpo/],
    [{ logs: { every: '7m' } }, /jobs\.shop\.logs\.every: a catch-up interval that divides an hour or a day evenly/],
    [{ logs: { every: '5h' } }, /divides an hour or a day evenly/],
    [{ logs: { every: '30s' } }, /jobs\.shop\.logs\.every: a duration such as 90m/],
    [{ logs: { every: '5m', follow: true } }, /jobs\.shop\.logs: Unrecognized key: "follow"/],
    [{ logs: {} }, /jobs\.shop\.logs\.every/],
  ])('refuses a schedule that cannot work, naming the field (%#)', (job, message) => {
    expect(() => parseConfig(config({ shop: job }))).toThrow(ConfigError);
    expect(() => parseConfig(config({ shop: job }))).toThrow(message);
  });

  it('refuses logs on a source whose engine keeps no change log, when the caller can tell the engine', () => {
    const local = (source: string) => config({ app: { source, logs: { every: '5m' } } }, { cloud: 'local' });
    const checks = { engineOf: engineIdForUrl };
    expect(() => parseConfig(local('sqlite:/var/lib/app.db'), 'vaultra.config.yaml', checks)).toThrow(/jobs\.app\.logs: a sqlite source keeps no change log to archive; point-in-time recovery works with postgres, mysql, mongodb/);
    expect(() => parseConfig(local('dir:/srv/data'), 'vaultra.config.yaml', checks)).toThrow(/a directory source keeps no change log/);
    for (const source of ['mariadb://app@db/shop', 'mysql://app@db/shop', 'postgres://app@db/shop', 'mongodb://app@db/shop']) {
      expect(jobOf(environmentOf(parseConfig(local(source), 'vaultra.config.yaml', checks), 'prod'), 'app').logs?.everyMs).toBe(5 * MINUTE);
    }
    // A secret reference names no engine: the runner refuses such a source when it pushes.
    expect(jobOf(environmentWith({ app: { logs: { every: '5m' } } }), 'app').logs).toBeDefined();
  });

  it('refuses a job name its log-push lock cannot extend, and a job named like another job\'s lock', () => {
    expect(() => parseConfig(config({ ['a'.repeat(59)]: { logs: { every: '5m' } } }))).toThrow(/logs: a job with logs needs a name of at most 58 characters/);
    expect(() => parseConfig(config({ shop: { logs: { every: '5m' } }, 'shop.logs': {} }))).toThrow(/jobs\.shop\.logs: this name is taken by the log pushes of job shop/);
    expect(() => parseConfig(config({ shop: {}, 'shop.logs': {} }))).not.toThrow();
  });

  it('refuses on azure a push size Container Apps would refuse at start', () => {
    const azure = { cloud: 'azure', region: 'westeurope', azure: { resourceGroup: 'rg', storageAccount: 'acmebackups' } };
    const text = (runtime?: Record<string, number>) => config({ shop: { source: 'secret+azure://kv/shop', logs: { every: '5m', ...(runtime ? { runtime } : {}) } } }, azure);
    expect(() => parseConfig(text({ cpu: 256, memoryMiB: 1024 }))).toThrow(/jobs\.shop\.logs\.runtime: on azure a runtime is a Container Apps Consumption pair/);
    expect(jobOf(environmentOf(parseConfig(text()), 'prod'), 'shop').logs?.runtime).toEqual({ cpu: 256, memoryMiB: 512 });
  });

  it('speaks every interval as a cron, a rate and fire times at multiples of every since midnight UTC', () => {
    expect([1, 5, 15, 60, 360, 1440].map((minutes) => logScheduleCron(minutes * MINUTE))).toEqual(['* * * * *', '*/5 * * * *', '*/15 * * * *', '0 * * * *', '0 */6 * * *', '0 0 * * *']);
    expect([1, 5, 60, 120, 1440].map((minutes) => logScheduleRate(minutes * MINUTE))).toEqual(['rate(1 minute)', 'rate(5 minutes)', 'rate(1 hour)', 'rate(2 hours)', 'rate(1 day)']);
    expect(logFireTimes(5 * MINUTE, at(-12 * MINUTE).getTime(), NOW.getTime()).map((time) => time.toISOString())).toEqual(['2026-03-10T11:50:00.000Z', '2026-03-10T11:55:00.000Z', '2026-03-10T12:00:00.000Z']);
    expect([2, 45, 90].map((minutes) => isEvenLogInterval(minutes * MINUTE))).toEqual([true, false, false]);
  });
});

describe('the logs push command line', () => {
  it('carries the job\'s spec without what only a dump reads, with the push\'s timeout and the pending run id', () => {
    const job = jobOf(environmentWith({ shop: { logs: { every: '5m', timeout: '20m' }, chain: { fullEvery: '7d', jobs: 4 } } }), 'shop');
    const runId = logPushRunId('shop', '2026-03-10T12:00:00Z');
    const argv = logsPushCommandLine(job, runId, TARGET);
    expect(argv.slice(0, 3)).toEqual(['logs', 'push', '--spec']);
    expect(argv.slice(4)).toEqual(['--json', '--no-progress']);
    const sent = JSON.parse(argv[3]!) as Record<string, unknown>;
    expect(sent).not.toHaveProperty('type');
    expect(sent).not.toHaveProperty('chain');
    expect(sent).not.toHaveProperty('jobs');
    expect(sent).toMatchObject({ job: 'shop', runId, source: 'secret+aws://prod/db', destinations: [TARGET.storageUrl], signingKey: TARGET.signingKey, timeoutMs: 20 * MINUTE, encryption: { mode: 'recipients', kmsKeys: [KMS] } });
    // The runner reads it with the backup spec's own parser.
    expect(parseBackupSpecJson(argv[3]!)).toMatchObject({ job: 'shop', runId, timeoutMs: 20 * MINUTE });
  });

  it('is refused for a job without logs', () => {
    expect(() => logsPushCommandLine(jobOf(environmentWith({ shop: {} }), 'shop'), scheduledRunId('shop', NOW.toISOString()), TARGET)).toThrow(/job shop has no logs schedule/);
  });

  it('a push and a backup due at the same minute get two run ids', () => {
    expect(logPushRunId('shop', '2026-03-10T03:00:00Z')).not.toBe(scheduledRunId('shop', '2026-03-10T03:00:00Z'));
    expect(logPushRunId('shop', '2026-03-10T03:00:00Z')).toBe(logPushRunId('shop', '2026-03-10T03:00:00.000Z'));
  });
});

describe('log pushes started, settled and watched (local catalog, fixed clock)', () => {
  let dir: string;
  let catalog: LocalCatalog;
  let alerts: Alert[];
  let launches: LaunchRequest[];
  let environment: Environment;
  let shop: ScheduledJob;
  const notify = async (alert: Alert) => {
    alerts.push(alert);
  };
  const launcher = {
    launch: async (request: LaunchRequest) => {
      launches.push(request);
      return { taskId: `task-${request.runId}` };
    },
  };
  const deps = (now = NOW) => ({ environment, catalog, launcher, target: TARGET, notify, now: () => now });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-logs-'));
    catalog = new LocalCatalog(dir);
    alerts = [];
    launches = [];
    environment = environmentWith({ shop: { logs: { every: '5m' }, timeout: '2h' } });
    shop = jobOf(environment, 'shop');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A settled run of the job, as a runner and the completion step leave it. */
  async function recorded(kind: 'backup' | 'log', startedAt: Date, patch: Partial<RunRecord> = {}): Promise<RunRecord> {
    const run: RunRecord = {
      runId: kind === 'log' ? logPushRunId('shop', startedAt.toISOString()) : scheduledRunId('shop', startedAt.toISOString()),
      job: 'shop',
      kind,
      status: 'succeeded',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date(startedAt.getTime() + MINUTE).toISOString(),
      taskId: 'task',
      ...patch,
    };
    await catalog.create(run);
    return run;
  }

  function range(coveredUntil: Date, extra: Partial<LogRange> = {}): LogRange {
    return { kind: 'binlog', format: 'binlog-tar/v1', start: 'binlog.000003:4', end: 'binlog.000003:8812', coveredUntil: coveredUntil.toISOString(), events: 12, ...extra };
  }

  it('records a pending log run, then launches the push command at the push size', async () => {
    const runId = logPushRunId('shop', NOW.toISOString());
    const result = await startLogPush(deps(), { job: shop, runId });
    expect(result.outcome).toBe('started');
    expect(await catalog.get('shop', runId)).toMatchObject({ kind: 'log', status: 'pending', startedAt: NOW.toISOString(), timeoutMs: HOUR });
    expect(launches).toHaveLength(1);
    expect(launches[0]).toMatchObject({ job: 'shop', runId, cpu: 256, memoryMiB: 512, environment: { VAULTRA_CATALOG: TARGET.catalogUrl } });
    expect(launches[0]!.command.slice(0, 2)).toEqual(['logs', 'push']);
  });

  it('a redelivered trigger starts nothing; a push does not wait for the backup, nor a backup for the push', async () => {
    const backup = await startBackup(deps(), { job: shop, runId: scheduledRunId('shop', NOW.toISOString()) });
    const push = await startLogPush(deps(), { job: shop, runId: logPushRunId('shop', NOW.toISOString()) });
    const again = await startLogPush(deps(), { job: shop, runId: logPushRunId('shop', NOW.toISOString()) });
    expect([backup.outcome, push.outcome, again.outcome]).toEqual(['started', 'started', 'duplicate']);
    expect(launches.map((launch) => launch.command[0])).toEqual(['backup', 'logs']);
  });

  it('a push due while the previous one still runs is recorded skipped without a page', async () => {
    await startLogPush(deps(), { job: shop, runId: logPushRunId('shop', NOW.toISOString()) });
    const next = await startLogPush(deps(at(5 * MINUTE)), { job: shop, runId: logPushRunId('shop', at(5 * MINUTE).toISOString()) });
    expect(next.outcome).toBe('skipped');
    expect(next.run).toMatchObject({ kind: 'log', status: 'skipped', error: { kind: 'overlap', message: 'another log push of shop is still running' } });
    expect(alerts).toEqual([]);
    expect(launches).toHaveLength(1);
  });

  it('a failed push releases the log-push lock and pages once per streak of failures', async () => {
    const storage = new MemoryStorageBackend();
    const settle = async (offsetMs: number) => {
      const runId = logPushRunId('shop', at(offsetMs).toISOString());
      const started = await startLogPush(deps(at(offsetMs)), { job: shop, runId });
      expect(started.outcome).toBe('started');
      return finishRun({ environment, catalog, storage, notify, now: () => at(offsetMs + MINUTE) }, { job: 'shop', runId, taskId: `task-${runId}`, exitCode: 1 });
    };
    const outcomes = [await settle(0), await settle(5 * MINUTE), await settle(10 * MINUTE)];
    // Each push found the lock free: the failed one before it released it.
    expect(outcomes.map((outcome) => outcome.outcome)).toEqual(['failed', 'failed', 'failed']);
    expect(alerts.map((alert) => [alert.kind, alert.title])).toEqual([['run-failed', 'shop: log push failed']]);
    expect(await catalog.acquireLock(logPushLockName('shop'), 'someone', MINUTE)).toBe(true);
  });

  it('a successful push is settled on its manifest, its lock released, with neither a success page nor retention', async () => {
    environment = environmentWith({ shop: { logs: { every: '5m' }, notifyOnSuccess: true, retention: { last: 2 } } });
    shop = jobOf(environment, 'shop');
    const storage = new MemoryStorageBackend();
    const runId = logPushRunId('shop', NOW.toISOString());
    await startLogPush(deps(), { job: shop, runId });
    // What the runner leaves: the segment, the manifest, its record succeeded with the range.
    const segment = Buffer.from('age-encrypted binlog segment');
    await storage.put(`${runFolder('shop', runId)}/data.binlog.tar.zst.age`, Readable.from([segment]));
    const manifest = {
      schema: 'vaultra.manifest/v1',
      runId,
      job: 'shop',
      startedAt: NOW.toISOString(),
      finishedAt: at(MINUTE).toISOString(),
      source: { engine: 'mysql', database: 'shop', serverVersion: '10.11.6-MariaDB' },
      dump: { tool: 'mariadb-binlog', toolVersion: '10.11.6', format: 'binlog-tar/v1', consistency: 'log range' },
      compression: { id: 'zstd', level: 3, implementation: 'zstd' },
      encryption: { format: 'age-v1', recipients: [{ type: 'x25519', recipient: 'age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40' }] },
      plaintextBytes: 4096,
      objects: [{ name: 'data.binlog.tar.zst.age', role: 'data', sizeBytes: segment.length, sha256: createHash('sha256').update(segment).digest('hex') }],
      contents: [],
      vaultraVersion: '0.0.0-test',
    };
    await storage.put(manifestKey('shop', runId), Readable.from([Buffer.from(JSON.stringify(manifest))]));
    const pending = (await catalog.get('shop', runId))!;
    await catalog.update({ ...pending, status: 'succeeded', finishedAt: at(MINUTE).toISOString(), manifestKey: manifestKey('shop', runId), log: range(at(MINUTE)) });
    let retained = 0;
    const settled = await finishRun({ environment, catalog, storage, notify, now: () => at(2 * MINUTE), retain: async () => ++retained }, { job: 'shop', runId, taskId: 'task-1', exitCode: 0 });
    expect(settled.outcome).toBe('succeeded');
    expect(await catalog.get('shop', runId)).toMatchObject({ kind: 'log', status: 'succeeded', taskId: 'task-1', log: { coveredUntil: at(MINUTE).toISOString() } });
    expect(alerts).toEqual([]);
    expect(retained).toBe(0);
    expect(await catalog.acquireLock(logPushLockName('shop'), 'next-push', MINUTE)).toBe(true);
  });

  it('reconcile settles a log push whose execution ended, as it does a backup', async () => {
    const runId = logPushRunId('shop', NOW.toISOString());
    await startLogPush(deps(), { job: shop, runId });
    const tracker = { statusOf: async (ids: readonly string[]) => new Map(ids.map((id) => [id, { runId: id, taskId: `exec-${id}`, state: 'failed' as const, reason: 'container exited' }])) };
    const settled = await reconcileRuns({ environment, catalog, storage: new MemoryStorageBackend(), notify, tracker, now: () => at(3 * MINUTE) });
    expect(settled).toEqual([{ job: 'shop', runId, outcome: 'failed' }]);
    expect(await catalog.get('shop', runId)).toMatchObject({ kind: 'log', status: 'failed', taskId: `exec-${runId}` });
  });

  it('watchdog: no log alert while the archive keeps up, the lag in seconds either way', async () => {
    await recorded('backup', at(-9 * HOUR));
    await recorded('log', at(-6 * MINUTE), { log: range(at(-5 * MINUTE)) });
    const [health] = await watchJobs(deps());
    expect(health!.logs).toEqual({ lagSeconds: 300, lagBreached: false });
    expect(alerts).toEqual([]);
  });

  it('watchdog: alerts log-lag past the log RPO, from the newest push\'s coveredUntil', async () => {
    await recorded('backup', at(-9 * HOUR));
    await recorded('log', at(-50 * MINUTE), { log: range(at(-40 * MINUTE)) });
    await recorded('log', at(-45 * MINUTE), { log: range(at(-20 * MINUTE)) });
    await recorded('log', at(-10 * MINUTE), { status: 'failed', error: { kind: 'task', message: 'exit 1' } });
    const [health] = await watchJobs(deps());
    expect(health!.logs).toEqual({ lagSeconds: 1200, lagBreached: true });
    expect(alerts.map((alert) => [alert.kind, alert.title])).toEqual([['log-lag', 'shop: archived log is 20m behind the server (log RPO 15m)']]);
    expect(alerts[0]!.facts).toEqual({ 'log rpo': '15m', 'covered until': at(-20 * MINUTE).toISOString() });
  });

  it('watchdog: alerts log-lag when a backup exists but no push ever succeeded, from the backup\'s end', async () => {
    await recorded('backup', at(-2 * HOUR));
    const [health] = await watchJobs(deps());
    expect(health!.logs).toEqual({ lagSeconds: (2 * HOUR - MINUTE) / 1000, lagBreached: true });
    expect(alerts.map((alert) => alert.title)).toEqual(['shop: no log archived for 119m since the newest backup (log RPO 15m)']);
  });

  it('watchdog: a job that never ran reports no lag and raises nothing', async () => {
    const [health] = await watchJobs(deps());
    expect(health!.logs).toEqual({ lagSeconds: undefined, lagBreached: false });
    expect(alerts).toEqual([]);
  });

  it('watchdog: alerts log-gap for a push since the newest backup that lost log, until a newer backup', async () => {
    await recorded('backup', at(-9 * HOUR));
    const gapped = await recorded('log', at(-3 * HOUR), { log: range(at(-3 * HOUR), { gapFrom: 'binlog.000001:4', start: 'binlog.000003:4' }) });
    await recorded('log', at(-6 * MINUTE), { log: range(at(-5 * MINUTE)) });
    const [health] = await watchJobs(deps());
    expect(health!.logs?.gap).toEqual({ runId: gapped.runId, from: 'binlog.000001:4', to: 'binlog.000003:4' });
    expect(alerts.map((alert) => [alert.kind, alert.runId])).toEqual([['log-gap', gapped.runId]]);
    expect(alerts[0]!.title).toBe('shop: a stretch of the server\'s log was lost before it was archived (binlog.000001:4 to binlog.000003:4)');

    // A newer backup is a new base: the gap no longer stands between it and now.
    alerts = [];
    await recorded('backup', at(-2 * HOUR));
    const [after] = await watchJobs(deps());
    expect(after!.logs).toEqual({ lagSeconds: 300, lagBreached: false });
    expect(alerts).toEqual([]);
  });

  it('watchdog: a log push past its own timeout is failed, its lock released, alerted', async () => {
    const runId = logPushRunId('shop', at(-2 * HOUR).toISOString());
    await startLogPush(deps(at(-2 * HOUR)), { job: shop, runId });
    // The push's timeout is 1h (plus 15 minutes' grace); the job's backups have 2h.
    const health = await watchJobs(deps());
    expect(health[0]!.stuckRuns).toEqual([runId]);
    expect(await catalog.get('shop', runId)).toMatchObject({ status: 'failed', error: { kind: 'timeout' } });
    expect(alerts.find((alert) => alert.kind === 'run-stuck')?.title).toBe(`shop: run ${runId} was pending past its 1h timeout`);
    expect(await catalog.acquireLock(logPushLockName('shop'), 'next', MINUTE)).toBe(true);
  });
});

describe('dueRuns with log schedules', () => {
  it('adds the newest log fire time in the window per job with logs, after backups of the same minute', () => {
    const environment = environmentWith({ shop: { logs: { every: '5m' } }, plain: {} });
    const due = dueRuns(environment.jobs, { from: new Date('2026-03-10T02:41:00Z'), to: new Date('2026-03-10T03:00:00Z') });
    expect(due.map((run) => `${run.kind}:${run.job.name}@${run.scheduledTime}`)).toEqual([
      'backup:plain@2026-03-10T03:00:00.000Z',
      'backup:shop@2026-03-10T03:00:00.000Z',
      'log:shop@2026-03-10T03:00:00.000Z',
    ]);
    const between = dueRuns(environment.jobs, { from: new Date('2026-03-10T03:00:00Z'), to: new Date('2026-03-10T03:07:00Z') });
    expect(between.map((run) => `${run.kind}:${run.job.name}@${run.scheduledTime}`)).toEqual(['log:shop@2026-03-10T03:05:00.000Z']);
  });
});
