/**
 * The whole GCP flow on one machine: a Cloud Scheduler-shaped request → the scheduledBackup
 * function (through functions-framework's test server) → a launcher that runs the real runner
 * (`dist/vaultra.mjs`) as a process against a real PostgreSQL → the reconcile function, told how
 * the process ended → the catalog (Firestore emulator), the bucket (fake-gcs-server), a local
 * webhook receiver and the Pub/Sub emulator.
 *
 * Replaced, and why:
 * - Cloud Run Jobs (no emulator): by the local process launcher, and the execution tracker by
 *   one that reads that launcher's process exits — the same role `CloudRunExecutionTracker` plays
 *   over the Cloud Run API (tested against its REST API in test/functions/gcp-*.test.ts). An
 *   on-demand restore goes through the api function and the real launcher to the restore job on
 *   the local Cloud Run REST stand-in, and the runner then runs what that execution would.
 * - Secret Manager (no emulator): a local gRPC server with TLS that the runner's real Secret
 *   Manager client reaches through gRPC's proxy support (test/support/gcp-platform.ts); the job
 *   sources are `secret+gcp://` references, as the config schema requires for a gcp environment.
 * - Cloud KMS (no emulator): the jobs encrypt to an age recipient instead (`encryption.kms: false`),
 *   and the restore uses the matching identity file.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http } from '@google-cloud/functions-framework';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirestoreCatalog } from '../../core/adapters/catalog/firestore-catalog.js';
import { GcsStorageBackend } from '../../core/adapters/storage/gcs/gcs-storage.js';
import { LocalProcessLauncher, type LocalTaskExit } from '../../core/adapters/launchers/local-process-launcher.js';
import { verifyWebhookSignature } from '../../core/adapters/notifiers/generic-webhook-notifier.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { runFolder } from '../../core/domain/object-layout.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import type { ExecutionStatus, ExecutionTracker } from '../../core/ports/execution-tracker.js';
import { createHandler as scheduledBackup } from '../../functions/gcp/scheduled-backup.js';
import { createHandler as reconcile } from '../../functions/gcp/reconcile.js';
import { createHandler as api } from '../../functions/gcp/api.js';
import { gcpSettingsFromEnv } from '../../functions/gcp/shared/settings.js';
import { trackerOf } from '../../functions/gcp/shared/clients.js';
import { requireFakeGcs, requireFirestore, requirePostgres, requirePubsub, requireTools } from '../support/requirements.js';
import { callFunction, deployGcpPlatform, gcpDeploymentFromEnv, startCloudRunApi, startFakeSecretManager, type FakeSecretManager, type GcpPlatform } from '../support/gcp-platform.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, tableFingerprints, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { databaseUrl, runVaultra, vaultraBin } from '../support/cli.js';
import { recentFireTime, runnerProcessEnvironment } from '../support/test-clock.js';
import { defaultSigningKeyPath } from '../../runner/signing-keys.js';
import { exportingTo, runnerRootSpan, startFlowCollector, type OtelCollector } from '../support/otel-collector.js';

const SIGNING_KEY = 'gcp-e2e-signing-key-0123456789';
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function config(recipient: string): string {
  return `
version: 1
environments:
  e2e:
    cloud: gcp
    region: europe-west1
    gcp: { project: vaultra-test }
    notifications:
      webhooks:
        - { kind: generic, url: "env://VAULTRA_GCP_E2E_WEBHOOK_URL", signingSecret: "env://VAULTRA_GCP_E2E_WEBHOOK_KEY" }
    defaults:
      timeout: 30m
      encryption: { kms: false, recipients: [${recipient}] }
    jobs:
      shop:
        source: "secret+gcp://projects/vaultra-test/secrets/e2e-shop"
        schedule: { cron: "0 3 * * *", timeZone: Europe/Paris }
        notifyOnSuccess: true
        retention: { last: 2 }
      broken:
        source: "secret+gcp://projects/vaultra-test/secrets/e2e-broken"
        schedule: { cron: "0 4 * * *" }
`;
}

describe('GCP flow end to end: Cloud Scheduler request → scheduledBackup → runner process on real PostgreSQL → reconcile (Cloud Run replaced by a local process launcher, Secret Manager by a local gRPC server, KMS by an age recipient)', () => {
  const pg = requirePostgres();
  const fakeGcs = requireFakeGcs();
  const firestore = requireFirestore();
  const pubsub = requirePubsub();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'zstd', 'openssl');
  if (!pg || !fakeGcs || !firestore || !pubsub || !tools) return;

  const source = uniqueDatabaseName('gcp_e2e_src');
  const restored = uniqueDatabaseName('gcp_e2e_restored');
  const restoredOnDemand = uniqueDatabaseName('gcp_e2e_on_demand');
  let home = '';
  let identityFile = '';
  let platform: GcpPlatform;
  let receiver: WebhookReceiver;
  let secretManager: FakeSecretManager;
  let launcher: LocalProcessLauncher;
  let collector: OtelCollector | undefined;
  let catalog: FirestoreCatalog;
  let storage: GcsStorageBackend;
  let runnerEnv: Record<string, string>;
  let launches = 0;
  /** Process exits by run id: what the tracker reports, as Cloud Run reports executions. */
  const exits = new Map<string, LocalTaskExit>();
  const launched = new Map<string, string>();

  const tracker: ExecutionTracker = {
    async statusOf(runIds) {
      const found = new Map<string, ExecutionStatus>();
      for (const runId of runIds) {
        const exit = exits.get(runId);
        const taskId = launched.get(runId);
        if (exit) {
          found.set(runId, {
            runId,
            taskId: exit.taskId,
            state: exit.exitCode === 0 ? 'succeeded' : 'failed',
            ...(exit.exitCode === undefined ? {} : { exitCode: exit.exitCode }),
            ...(exit.stoppedReason ? { reason: exit.stoppedReason } : {}),
            finishedAt: exit.stoppedAt,
          });
        } else if (taskId) found.set(runId, { runId, taskId, state: 'running' });
      }
      return found;
    },
  };

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'vaultra-gcp-e2e-'));
    identityFile = join(home, 'identity.txt');
    const keygen = await runVaultra(['keygen', '--out', identityFile, '--json'], { env: { HOME: home } });
    expect(keygen.code, keygen.stderr).toBe(0);
    const { recipient } = JSON.parse(keygen.stdout) as { recipient: string };

    await createDatabase(pg, source);
    await loadVariedTypesFixture(pg, source);
    receiver = await startWebhookReceiver();
    secretManager = await startFakeSecretManager({
      'projects/vaultra-test/secrets/e2e-shop': databaseUrl(pg, source),
      'projects/vaultra-test/secrets/e2e-broken': databaseUrl(pg, 'no_such_database'),
      'projects/vaultra-test/secrets/e2e-restore-target': databaseUrl(pg, restoredOnDemand),
    });
    platform = await deployGcpPlatform({ fakeGcs, firestore, pubsub, environmentName: 'e2e', configJson: bundledEnvironmentJson(config(recipient), 'e2e') });
    await platform.alerts(0, 0);
    Object.assign(process.env, fakeGcs.env, firestore.env, pubsub.env, {
      VAULTRA_LOG_LEVEL: 'ERROR',
      VAULTRA_GCP_E2E_WEBHOOK_URL: `${receiver.url}/hooks/vaultra`,
      VAULTRA_GCP_E2E_WEBHOOK_KEY: SIGNING_KEY,
    });

    // The runner's process: what the Cloud Run job gives the container (no identity file, a
    // private HOME, its service account's credentials), the emulators' variables, and the
    // server's own PostgreSQL client tools first on PATH.
    collector = await startFlowCollector();
    runnerEnv = {
      ...fakeGcs.env,
      ...firestore.env,
      ...secretManager.env,
      ...runnerProcessEnvironment(home, pg.binDir),
      ...exportingTo(collector),
    };
    launcher = new LocalProcessLauncher({ runnerPath: vaultraBin, baseEnvironment: runnerEnv, onExit: (exit) => exits.set(exit.runId, exit) });
    const deployment = gcpDeploymentFromEnv(
      { ...process.env, ...platform.env },
      {
        launcher: {
          launch: async (request) => {
            launches++;
            const task = await launcher.launch(request);
            launched.set(request.runId, task.taskId);
            return task;
          },
        },
        tracker,
      },
    );
    http('e2e-scheduledBackup', scheduledBackup(() => Promise.resolve(deployment)));
    http('e2e-reconcile', reconcile(() => Promise.resolve(deployment)));
    catalog = FirestoreCatalog.fromUrl(platform.catalogUrl);
    storage = GcsStorageBackend.fromUrl(platform.storageUrl);
  }, 120_000);

  afterAll(async () => {
    await collector?.stop();
    await receiver?.close();
    await secretManager?.close();
    await dropDatabase(pg, source).catch(() => undefined);
    await dropDatabase(pg, restored).catch(() => undefined);
    await dropDatabase(pg, restoredOnDemand).catch(() => undefined);
    if (home) await rm(home, { recursive: true, force: true });
  });

  /** One Cloud Scheduler firing through the whole flow: the request, the runner, then the reconcile schedule. */
  const trigger = async (job: string, scheduleTime: string) => {
    const response = await callFunction('e2e-scheduledBackup', {
      headers: { 'content-type': 'application/octet-stream', 'x-cloudscheduler': 'true', 'x-cloudscheduler-scheduletime': scheduleTime, traceparent: TRACEPARENT },
      body: Buffer.from(JSON.stringify({ job })),
    });
    expect(response.status).toBe(200);
    const started = response.body as { outcome: string; job: string; runId: string; taskId?: string };
    if (started.outcome !== 'started') return { started };
    const exit = await launcher.completion(started.taskId!);
    const reconciled = await callFunction('e2e-reconcile');
    expect(reconciled.status).toBe(200);
    const settled = (reconciled.body as { reconciled: { job: string; runId: string; outcome: string }[] }).reconciled.find((run) => run.runId === started.runId);
    return { started, exit, settled };
  };

  const folderKeys = async (job: string, runId: string): Promise<string[]> => {
    const keys: string[] = [];
    for await (const object of storage.list(`${runFolder(job, runId)}/`)) keys.push(object.key.split('/').pop()!);
    return keys.sort();
  };

  it('a scheduled backup runs, is reconciled as succeeded, is announced by a signed webhook and on Pub/Sub, and restores content-equal', async () => {
    const { started, exit, settled } = await trigger('shop', recentFireTime(0));
    expect(exit?.exitCode, exit?.stderr).toBe(0);
    expect(started.runId).toBe(scheduledRunId('shop', recentFireTime(0)));
    expect(settled).toEqual({ job: 'shop', runId: started.runId, outcome: 'succeeded' });
    // One trace from the scheduler's request into the runner: its spans carry the request's trace id, under the request's span.
    if (collector) {
      const { root, children } = await runnerRootSpan(collector, TRACEPARENT);
      expect(root.attributes).toMatchObject({ 'vaultra.job': 'shop', 'vaultra.run_id': started.runId, 'vaultra.run.status': 'succeeded' });
      expect(children.map((span) => span.name)).toEqual(expect.arrayContaining(['resolve secrets', 'dump, compress, encrypt, upload', 'commit', 'catalog']));
    }

    // The runner read its database URL from Secret Manager, authenticated, through the real client.
    expect(secretManager.accessed).toContainEqual({ name: 'projects/vaultra-test/secrets/e2e-shop/versions/latest', authenticated: true });
    const run = await catalog.get('shop', started.runId);
    expect(run).toMatchObject({ status: 'succeeded', kind: 'backup', engine: 'postgres', taskId: exit!.taskId });
    expect(await folderKeys('shop', started.runId)).toEqual(['data.pgdump.zst.age', 'manifest.json', 'manifest.json.sig']);
    expect(await catalog.acquireLock('shop', 'probe', 1000)).toBe(true);
    await catalog.releaseLock('shop', 'probe');

    const [delivery] = await receiver.waitFor(1);
    expect(delivery!.path).toBe('/hooks/vaultra');
    expect(verifyWebhookSignature(delivery!.body, delivery!.headers as Record<string, string>, SIGNING_KEY)).toBe(true);
    expect(JSON.parse(delivery!.body)).toMatchObject({ kind: 'run-succeeded', environment: 'e2e', job: 'shop', runId: started.runId });
    expect((await platform.alerts())[0]!.attributes).toEqual({ kind: 'run-succeeded', severity: 'info', job: 'shop', environment: 'e2e' });

    // Proven by a restore with the identity the jobs encrypt to.
    const restore = await runVaultra(['restore', started.runId, '--target', databaseUrl(pg, restored), '--from', platform.storageUrl, '--job', 'shop', '--identity', identityFile, '--json', '--no-progress'], {
      env: { ...runnerEnv, VAULTRA_CATALOG: platform.catalogUrl },
    });
    expect(restore.code, restore.stderr).toBe(0);
    expect(await tableFingerprints(pg, restored)).toEqual(await tableFingerprints(pg, source));
  }, 180_000);

  it('an on-demand restore goes through the api function to the restore job (not the write-only runner job), whose execution restores content-equal and is tracked there', async () => {
    // The api function with the real Cloud Run launcher, on the local Cloud Run Admin API.
    const cloudRun = await startCloudRunApi();
    try {
      const deployment = gcpDeploymentFromEnv({ ...process.env, ...platform.env }, cloudRun);
      http('e2e-api', api(() => Promise.resolve(deployment)));
      const answer = await callFunction('e2e-api', { body: { action: 'restore', job: 'shop', runId: 'latest', target: 'secret+gcp://projects/vaultra-test/secrets/e2e-restore-target' } });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      const { runId, taskId } = answer.body as { runId: string; taskId: string };
      expect(cloudRun.requests.map((request) => `${request.method} ${request.path}`)).toEqual([`POST /v2/${platform.restoreJob}:run`]);
      expect(taskId).toMatch(new RegExp(`^${platform.restoreJob}/executions/`));

      // The execution Cloud Run would start: the restore job's container with the request's overrides.
      // The age identity stands in for the restore account's KMS decrypt, and the key the runner
      // signed with (its default one here) for the --trust the api adds with the deployment's KMS signing key.
      const [container] = (cloudRun.requests[0]!.body as { overrides: { containerOverrides: { args: string[]; env: { name: string; value: string }[] }[] } }).overrides.containerOverrides;
      const overrides = Object.fromEntries(container!.env.map(({ name, value }) => [name, value]));
      const execution = await runVaultra(container!.args, { env: { ...runnerEnv, VAULTRA_SIGNING_KEY: defaultSigningKeyPath(runnerEnv), VAULTRA_IDENTITY: identityFile, ...overrides } });
      expect(execution.code, execution.stderr).toBe(0);
      expect(await tableFingerprints(pg, restoredOnDemand)).toEqual(await tableFingerprints(pg, source));
      expect(await catalog.get('shop', runId)).toMatchObject({ kind: 'restore', status: 'succeeded' });

      // Reconcile's tracker finds the execution among the restore job's.
      cloudRun.finish(taskId, 'succeeded');
      const tracked = await trackerOf(gcpSettingsFromEnv({ ...process.env, ...platform.env }), cloudRun.executionsClient()).statusOf([runId]);
      expect(tracked.get(runId)).toMatchObject({ taskId, state: 'succeeded' });
    } finally {
      await cloudRun.close();
    }
  }, 180_000);

  it('a duplicate delivery of the same firing starts nothing new', async () => {
    const before = launches;
    const { started } = await trigger('shop', recentFireTime(0));
    expect(started).toEqual({ outcome: 'duplicate', job: 'shop', runId: scheduledRunId('shop', recentFireTime(0)) });
    expect(launches).toBe(before);
  });

  it('a runner that exits non-zero: failed run, alert received, lock released, nothing listed', async () => {
    receiver.requests.length = 0;
    const { started, exit, settled } = await trigger('broken', recentFireTime(0, 3));
    expect(exit?.exitCode).not.toBe(0);
    expect(settled).toEqual({ job: 'broken', runId: started.runId, outcome: 'failed' });
    const run = await catalog.get('broken', started.runId);
    expect(run).toMatchObject({ status: 'failed', taskId: exit!.taskId });
    expect(run?.error?.message).toMatch(/no_such_database/);
    expect(await folderKeys('broken', started.runId)).toEqual([]);
    expect(await catalog.acquireLock('broken', 'probe', 1000)).toBe(true);
    await catalog.releaseLock('broken', 'probe');

    const [alert] = await receiver.waitFor(1);
    expect(verifyWebhookSignature(alert!.body, alert!.headers as Record<string, string>, SIGNING_KEY)).toBe(true);
    expect(JSON.parse(alert!.body)).toMatchObject({ kind: 'run-failed', severity: 'critical', job: 'broken', runId: started.runId });
    // The database URL's password lives in the secret only.
    expect(alert!.body).not.toContain(pg.password);
    expect((await platform.alerts())[0]!.attributes).toMatchObject({ kind: 'run-failed', severity: 'critical', job: 'broken' });
  }, 180_000);

  it('retention runs after each success: with last: 2, the third backup prunes the first', async () => {
    const first = scheduledRunId('shop', recentFireTime(0));
    const second = await trigger('shop', recentFireTime(1));
    const third = await trigger('shop', recentFireTime(2));
    expect(second.settled?.outcome).toBe('succeeded');
    expect(third.settled?.outcome).toBe('succeeded');
    expect(await folderKeys('shop', first)).toEqual([]);
    expect((await catalog.get('shop', first))?.prunedAt).toBeDefined();
    expect(await folderKeys('shop', third.started.runId)).toEqual(['data.pgdump.zst.age', 'manifest.json', 'manifest.json.sig']);
    expect(await folderKeys('shop', second.started.runId)).toEqual(['data.pgdump.zst.age', 'manifest.json', 'manifest.json.sig']);
  }, 240_000);
});
