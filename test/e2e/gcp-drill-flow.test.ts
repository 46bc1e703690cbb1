/**
 * Issue 20, a scheduled drill through the GCP functions with the real runner: the drill
 * schedule's Cloud Scheduler request → scheduledBackup (kind `drill`) → a launcher that runs the
 * real runner (`dist/vaultra.mjs`) as a process → reconcile, told how the process ended → the
 * catalog (Firestore emulator), a local webhook receiver and the Pub/Sub emulator.
 *
 * Replaced, and why (as in gcp-flow.test.ts):
 * - the drill job's execution (no Cloud Run emulator): a local process. Its scratch server
 *   sidecar is the test's real PostgreSQL: the launcher swaps the sidecar's loopback URL
 *   (`drillSidecarOf(…).scratchUrl`, which the function put in the command line) for a database
 *   on that server, which the drill creates, restores into, checks and drops. A job without
 *   `drill.server` drills into a throwaway cluster of the installed server, as its drill job would;
 * - the tracker: the launcher's process exits, as Cloud Run would report the drill job's executions;
 * - Secret Manager: the local gRPC server of test/support/gcp-platform.ts (the backups' sources);
 * - Cloud KMS: the jobs encrypt to an age recipient, and the drill's runner gets the identity
 *   (`VAULTRA_IDENTITY`) where the drill service account would unwrap the `vaultra-kms` stanza.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http } from '@google-cloud/functions-framework';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirestoreCatalog } from '../../core/adapters/catalog/firestore-catalog.js';
import { LocalProcessLauncher, type LocalTaskExit } from '../../core/adapters/launchers/local-process-launcher.js';
import { verifyWebhookSignature } from '../../core/adapters/notifiers/generic-webhook-notifier.js';
import { drillSidecarOf } from '../../core/config/drill-sidecar.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import type { ExecutionStatus, ExecutionTracker } from '../../core/ports/execution-tracker.js';
import type { LaunchRequest } from '../../core/ports/job-launcher.js';
import { drillRunId } from '../../core/usecases/start-drill.js';
import { createHandler as scheduledBackup } from '../../functions/gcp/scheduled-backup.js';
import { createHandler as reconcile } from '../../functions/gcp/reconcile.js';
import { requireFakeGcs, requireFirestore, requirePostgres, requirePubsub, requireTools } from '../support/requirements.js';
import { callFunction, deployGcpPlatform, gcpDeploymentFromEnv, startFakeSecretManager, type FakeSecretManager, type GcpPlatform } from '../support/gcp-platform.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { databaseUrl, runVaultra, vaultraBin } from '../support/cli.js';
import { psqlQuery } from '../support/psql.js';
import { recentFireTime, runnerProcessEnvironment } from '../support/test-clock.js';
import { expectNoCanary, plantCanaries } from '../support/canary.js';

const WEBHOOK_KEY = 'gcp-drill-e2e-signing-key-0123456789';
const SIDECAR_URL = drillSidecarOf({ server: 'postgres:17' })!.scratchUrl;

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
        - { kind: generic, url: "env://VAULTRA_GCP_DRILL_E2E_WEBHOOK_URL", signingSecret: "env://VAULTRA_GCP_DRILL_E2E_WEBHOOK_KEY" }
    defaults:
      timeout: 30m
      encryption: { kms: false, recipients: [${recipient}] }
    jobs:
      shop:
        source: "secret+gcp://projects/vaultra-test/secrets/drill-shop"
        schedule: { cron: "0 3 * * *" }
        drill:
          schedule: { cron: "0 5 * * 0", timeZone: Europe/Paris }
          rto: 30m
          server: postgres:17
          checks:
            - { name: some rows, query: "select count(*) > 0 from customers", expect: t }
      strict:
        source: "secret+gcp://projects/vaultra-test/secrets/drill-shop"
        schedule: { cron: "0 4 * * *" }
        drill:
          schedule: { cron: "0 6 * * 0" }
          checks:
            - { name: no customers, query: "select count(*) = 0 from customers", expect: t }
`;
}

describe('GCP scheduled drill end to end: drill request → scheduledBackup → real runner drills the newest backup → reconcile (Cloud Run replaced by a local process launcher, the sidecar by the test PostgreSQL, Secret Manager by a local gRPC server, KMS by an age identity)', () => {
  const pg = requirePostgres();
  const fakeGcs = requireFakeGcs();
  const firestore = requireFirestore();
  const pubsub = requirePubsub();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'zstd', 'openssl');
  if (!pg || !fakeGcs || !firestore || !pubsub || !tools) return;

  const source = uniqueDatabaseName('gcp_drill_src');
  const scratch = uniqueDatabaseName('gcp_drill_scratch');
  let home = '';
  /** Where the drill's runner writes its exit code, as on the drill job's shared volume. */
  const doneFile = () => join(home, 'runner-done');
  let platform: GcpPlatform;
  let receiver: WebhookReceiver;
  let secretManager: FakeSecretManager;
  let launcher: LocalProcessLauncher;
  let catalog: FirestoreCatalog;
  const launched: LaunchRequest[] = [];
  const exits = new Map<string, LocalTaskExit>();

  /** What Cloud Run would report of the drill job's executions: the processes' exits. */
  const tracker: ExecutionTracker = {
    async statusOf(runIds) {
      const found = new Map<string, ExecutionStatus>();
      for (const runId of runIds) {
        const exit = exits.get(runId);
        if (exit) found.set(runId, { runId, taskId: exit.taskId, state: exit.exitCode === 0 ? 'succeeded' : 'failed', ...(exit.exitCode === undefined ? {} : { exitCode: exit.exitCode }), finishedAt: exit.stoppedAt });
      }
      return found;
    },
  };

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'vaultra-gcp-drill-e2e-'));
    const identityFile = join(home, 'identity.txt');
    const keygen = await runVaultra(['keygen', '--out', identityFile, '--json'], { env: { HOME: home } });
    expect(keygen.code, keygen.stderr).toBe(0);
    const { recipient } = JSON.parse(keygen.stdout) as { recipient: string };

    await createDatabase(pg, source);
    await loadVariedTypesFixture(pg, source);
    receiver = await startWebhookReceiver();
    secretManager = await startFakeSecretManager({ 'projects/vaultra-test/secrets/drill-shop': databaseUrl(pg, source) });
    platform = await deployGcpPlatform({ fakeGcs, firestore, pubsub, environmentName: 'e2e', configJson: bundledEnvironmentJson(config(recipient), 'e2e'), drilledJobs: ['shop', 'strict'] });
    await platform.alerts(0, 0);
    Object.assign(process.env, fakeGcs.env, firestore.env, pubsub.env, {
      VAULTRA_LOG_LEVEL: 'ERROR',
      VAULTRA_GCP_DRILL_E2E_WEBHOOK_URL: `${receiver.url}/hooks/vaultra`,
      VAULTRA_GCP_DRILL_E2E_WEBHOOK_KEY: WEBHOOK_KEY,
    });

    launcher = new LocalProcessLauncher({
      runnerPath: vaultraBin,
      // The scratch server's password plays the sidecar's trust authentication; the identity, the drill account's KMS decrypt.
      // VAULTRA_DRILL_DONE_FILE: the drill job's runner container has it (drill.tf), on the volume its scratch server watches.
      baseEnvironment: { ...fakeGcs.env, ...firestore.env, ...secretManager.env, ...runnerProcessEnvironment(home, pg.binDir), VAULTRA_IDENTITY: identityFile, PGPASSWORD: pg.password, VAULTRA_DRILL_DONE_FILE: doneFile() },
      onExit: (exit) => exits.set(exit.runId, exit),
    });
    const sidecar = `postgres://${pg.user}@${pg.host}:${pg.port}/${scratch}`;
    const deployment = gcpDeploymentFromEnv(
      { ...process.env, ...platform.env },
      {
        launcher: {
          launch: (request) => {
            launched.push(request);
            return launcher.launch({ ...request, command: request.command.map((arg) => (arg === SIDECAR_URL ? sidecar : arg)) });
          },
        },
        tracker,
      },
    );
    http('drill-e2e-scheduledBackup', scheduledBackup(() => Promise.resolve(deployment)));
    http('drill-e2e-reconcile', reconcile(() => Promise.resolve(deployment)));
    catalog = FirestoreCatalog.fromUrl(platform.catalogUrl);
  }, 120_000);

  afterAll(async () => {
    await receiver?.close();
    await secretManager?.close();
    await dropDatabase(pg, source).catch(() => undefined);
    await dropDatabase(pg, scratch).catch(() => undefined);
    if (home) await rm(home, { recursive: true, force: true });
  });

  /** One Cloud Scheduler firing (`{"job"}` or `{"job", "kind": "drill"}`) through the function, the runner and the reconcile schedule. */
  const trigger = async (body: { job: string; kind?: 'drill' }, scheduleTime: string) => {
    const response = await callFunction('drill-e2e-scheduledBackup', {
      headers: { 'content-type': 'application/octet-stream', 'x-cloudscheduler': 'true', 'x-cloudscheduler-scheduletime': scheduleTime },
      body: Buffer.from(JSON.stringify(body)),
    });
    expect(response.status).toBe(200);
    const started = response.body as { outcome: string; kind?: string; job: string; runId: string; taskId?: string };
    if (started.outcome !== 'started') return { started };
    const exit = await launcher.completion(started.taskId!);
    const reconciled = await callFunction('drill-e2e-reconcile');
    expect(reconciled.status).toBe(200);
    const settled = (reconciled.body as { reconciled: { runId: string; outcome: string }[] }).reconciled.find((run) => run.runId === started.runId);
    return { started, exit, settled };
  };

  it('drills the newest backup into the sidecar under the scheduler\'s run id: every table checked, the job\'s check run, an RTO recorded, the scratch database dropped', async () => {
    const backup = await trigger({ job: 'shop' }, recentFireTime(0, 3));
    expect(backup.exit?.exitCode, backup.exit?.stderr).toBe(0);
    expect(backup.settled?.outcome).toBe('succeeded');

    const drillTime = recentFireTime(0, 5);
    const { started, exit, settled } = await trigger({ job: 'shop', kind: 'drill' }, drillTime);
    expect(started).toMatchObject({ outcome: 'started', kind: 'drill', job: 'shop', runId: drillRunId('shop', drillTime) });
    expect(exit?.exitCode, exit?.stderr).toBe(0);
    expect(settled).toEqual({ job: 'shop', runId: started.runId, outcome: 'succeeded' });

    // Launched as a drill (the Cloud Run launcher picks the job's drill job from this), into the sidecar's URL.
    const request = launched.find((candidate) => candidate.runId === started.runId)!;
    expect(request).toMatchObject({ drill: true, readsBackups: true });
    expect(request.command).toEqual(['drill', 'latest', '--job', 'shop', '--from', platform.storageUrl, '--run-id', started.runId, '--scratch', SIDECAR_URL, '--rto', `${30 * 60_000}ms`, '--check', JSON.stringify({ name: 'some rows', query: 'select count(*) > 0 from customers', expect: 't' }), '--json', '--no-progress']);
    expectNoCanary(plantCanaries(pg.password), 'the drill launch request', JSON.stringify(request));

    const result = JSON.parse(exit!.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ drillRunId: started.runId, backupRunId: backup.started.runId, status: 'passed', scratchRemoved: true, scratch: `scratch database ${pg.host}:${pg.port}/${scratch}` });
    expect(await psqlQuery(pg, 'postgres', `select count(*) from pg_database where datname = '${scratch}'`)).toBe('0');

    const run = await catalog.get('shop', started.runId);
    expect(run).toMatchObject({ kind: 'drill', status: 'succeeded', taskId: exit!.taskId, drill: { backupRunId: backup.started.runId, rtoBudgetMs: 30 * 60_000, failedChecks: 0 } });
    expect(run!.drill!.checks).toBeGreaterThan(2);
    expect(run!.drill!.rtoMs).toBeGreaterThan(0);
    // The scratch server's signal to stop (infra/gcp/scripts/drill-scratch-server.sh): the runner's exit code, nothing else.
    expect(await readFile(doneFile(), 'utf8')).toBe('0\n');
  }, 240_000);

  it('a drill whose check fails: the runner exits 3, reconcile records the drill failed and drill-failed reaches the webhook and Pub/Sub', async () => {
    const backup = await trigger({ job: 'strict' }, recentFireTime(0, 4));
    expect(backup.exit?.exitCode, backup.exit?.stderr).toBe(0);
    await platform.alerts(0, 0);
    receiver.requests.length = 0;

    const { started, exit, settled } = await trigger({ job: 'strict', kind: 'drill' }, recentFireTime(0, 6));
    expect(exit?.exitCode).toBe(3);
    expect(exit?.stderr).toMatch(/vaultra: error: 1 of \d+ drill checks failed: no customers: returned "f", expected "t"/);
    expect(settled).toEqual({ job: 'strict', runId: started.runId, outcome: 'failed' });
    expect(await catalog.get('strict', started.runId)).toMatchObject({ kind: 'drill', status: 'failed', drill: { failedChecks: 1 } });
    expect(await readFile(doneFile(), 'utf8')).toBe('3\n');

    const [alert] = await receiver.waitFor(1);
    expect(verifyWebhookSignature(alert!.body, alert!.headers as Record<string, string>, WEBHOOK_KEY)).toBe(true);
    expect(JSON.parse(alert!.body)).toMatchObject({ kind: 'drill-failed', severity: 'critical', job: 'strict', runId: started.runId });
    expectNoCanary(plantCanaries(pg.password), 'the drill-failed alert', alert!.body);
    expect((await platform.alerts())[0]!.attributes).toMatchObject({ kind: 'drill-failed', severity: 'critical', job: 'strict' });
  }, 240_000);

  it('a duplicate delivery of the drill request starts nothing new', async () => {
    const before = launched.length;
    const { started } = await trigger({ job: 'shop', kind: 'drill' }, recentFireTime(0, 5));
    expect(started).toEqual({ outcome: 'duplicate', kind: 'drill', job: 'shop', runId: drillRunId('shop', recentFireTime(0, 5)) });
    expect(launched.length).toBe(before);
  });
});
