/**
 * The package Terraform deploys (scripts/package-gcp-functions.mjs), run the way Cloud Functions
 * runs it: a folder holding index.mjs and package.json, with only functions-framework installed
 * next to it (what `npm install` of that package.json gives), started by functions-framework's
 * own CLI with `--target=<entry point>`, one process per function, on the emulators (Firestore,
 * fake-gcs-server, Pub/Sub) and a webhook receiver. There are no Google credentials here, so the
 * Cloud Run clients inside the bundle fail to authenticate, which is what proves they load and
 * that the failure takes the documented path. Nothing is mocked.
 */
import { mkdir, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirestoreCatalog } from '../../core/adapters/catalog/firestore-catalog.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import { requireFakeGcs, requireFirestore, requirePubsub } from '../support/requirements.js';
import { deployGcpPlatform, type GcpPlatform } from '../support/gcp-platform.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { run, spawnTracked, killTree, waitForExit } from '../support/exec.js';
import { freePort } from '../support/postgres-server.js';
import { repoRoot } from '../support/cli.js';

const CONFIG = `
version: 1
environments:
  pkg:
    cloud: gcp
    region: europe-west1
    gcp: { project: vaultra-test }
    notifications:
      webhooks:
        - { kind: generic, url: "env://VAULTRA_PKG_WEBHOOK_URL", signingSecret: "env://VAULTRA_PKG_WEBHOOK_KEY" }
    defaults:
      encryption: { kms: false, recipients: [age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40] }
    jobs:
      shop:
        source: "secret+gcp://projects/vaultra-test/secrets/shop"
        schedule: { cron: "0 3 * * *" }
`;

describe('the packaged GCP functions under functions-framework’s CLI (emulators; no Google credentials, so Cloud Run calls fail to authenticate)', () => {
  const fakeGcs = requireFakeGcs();
  const firestore = requireFirestore();
  const pubsub = requirePubsub();
  if (!fakeGcs || !firestore || !pubsub) return;

  let work = '';
  let folder = '';
  let platform: GcpPlatform;
  let receiver: WebhookReceiver;
  let packaged: { stdout: string; code: number | null };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'vaultra-gcp-package-'));
    folder = join(work, 'functions-gcp');
    packaged = await run(process.execPath, [join(repoRoot, 'scripts', 'package-gcp-functions.mjs'), '--outdir', folder], { cwd: repoRoot, timeoutMs: 120_000 });
    // What `npm install` of the package's package.json puts next to it.
    await mkdir(join(folder, 'node_modules', '@google-cloud'), { recursive: true });
    await symlink(join(repoRoot, 'node_modules', '@google-cloud', 'functions-framework'), join(folder, 'node_modules', '@google-cloud', 'functions-framework'), 'dir');
    receiver = await startWebhookReceiver();
    platform = await deployGcpPlatform({ fakeGcs, firestore, pubsub, environmentName: 'pkg', configJson: bundledEnvironmentJson(CONFIG, 'pkg') });
    process.env.FIRESTORE_EMULATOR_HOST = firestore.env.FIRESTORE_EMULATOR_HOST;
  }, 180_000);

  afterAll(async () => {
    await receiver?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Starts `functions-framework --target=<target>` on the package folder, calls it once, stops it. */
  async function invoke(target: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown; logs: string }> {
    const port = await freePort();
    const child = spawnTracked(process.execPath, [join(folder, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js'), `--target=${target}`, `--source=${folder}`, `--port=${port}`], {
      cwd: folder,
      env: {
        PATH: process.env.PATH,
        HOME: work,
        ...platform.env,
        VAULTRA_PKG_WEBHOOK_URL: `${receiver.url}/hooks`,
        VAULTRA_PKG_WEBHOOK_KEY: 'pkg-signing-key',
        // No Google credentials and no metadata server: fail fast, as a misconfigured identity would.
        METADATA_SERVER_DETECTION: 'none',
        GOOGLE_APPLICATION_CREDENTIALS: join(work, 'no-such-key.json'),
      },
    });
    const logs: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => logs.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => logs.push(chunk));
    const exited = waitForExit(child);
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          const response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
          const text = await response.text();
          return { status: response.status, body: JSON.parse(text) as unknown, logs: Buffer.concat(logs).toString('utf8') };
        } catch (error) {
          if (child.exitCode !== null || Date.now() > deadline) throw new Error(`functions-framework --target=${target} did not answer: ${String(error)}; log: ${Buffer.concat(logs).toString('utf8').slice(-2000)}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    } finally {
      killTree(child, 'SIGTERM');
      await exited;
    }
  }

  it('packages one ESM bundle and a package.json that depends on functions-framework only', async () => {
    expect(packaged.code, packaged.stdout).toBe(0);
    expect(packaged.stdout).toMatch(/index\.mjs \d+\.\d\d MiB/);
    const manifest = JSON.parse(await readFile(join(folder, 'package.json'), 'utf8')) as Record<string, unknown>;
    const framework = JSON.parse(await readFile(join(repoRoot, 'node_modules', '@google-cloud', 'functions-framework', 'package.json'), 'utf8')) as { version: string };
    expect(manifest).toMatchObject({ main: 'index.mjs', type: 'module', dependencies: { '@google-cloud/functions-framework': framework.version } });
    expect(Object.keys(manifest.dependencies as object)).toEqual(['@google-cloud/functions-framework']);
    expect((await stat(join(folder, 'index.mjs'))).size).toBeGreaterThan(1_000_000);
  });

  it('api: lists the catalog (Firestore from the bundle) and answers JSON', async () => {
    const answer = await invoke('api', { action: 'list' });
    expect(answer, answer.logs).toEqual({ status: 200, body: { ok: true, action: 'list', runs: [] }, logs: expect.any(String) });
    // Structured logs for Cloud Logging: one JSON object with severity and message per line.
    const line = answer.logs.split('\n').find((text) => text.includes('"message":"api"'));
    expect(JSON.parse(line!)).toMatchObject({ severity: 'INFO', message: 'api', action: 'list', ok: true });
  });

  it('scheduledBackup: records the run, the Cloud Run client from the bundle fails without credentials, the run is failed and alerted (webhook and Pub/Sub from the bundle)', async () => {
    receiver.requests.length = 0;
    const scheduleTime = '2026-11-22T02:00:00Z';
    const answer = await invoke('scheduledBackup', { job: 'shop' }, { 'x-cloudscheduler-scheduletime': scheduleTime });
    const runId = scheduledRunId('shop', scheduleTime);
    expect(answer.body, answer.logs).toEqual({ outcome: 'launch-failed', job: 'shop', runId });
    const run = await FirestoreCatalog.fromUrl(platform.catalogUrl).get('shop', runId);
    expect(run).toMatchObject({ status: 'failed', error: { kind: 'launch', message: expect.stringContaining('UNAUTHENTICATED') } });
    const [delivery] = await receiver.waitFor(1);
    expect(JSON.parse(delivery!.body)).toMatchObject({ kind: 'launch-failed', job: 'shop', runId });
    expect((await platform.alerts())[0]?.attributes).toMatchObject({ kind: 'launch-failed', job: 'shop' });
  }, 60_000);

  it('reconcile: an open run makes the Executions client from the bundle ask Cloud Run, which fails without credentials: 500 for Cloud Scheduler to retry', async () => {
    const catalog = FirestoreCatalog.fromUrl(platform.catalogUrl);
    await catalog.create({ runId: scheduledRunId('shop', '2026-11-23T02:00:00Z'), job: 'shop', kind: 'backup', status: 'pending', startedAt: new Date().toISOString() });
    const answer = await invoke('reconcile', {});
    expect(answer.status, answer.logs).toBe(500);
    expect(answer.body).toMatchObject({ error: { kind: 'storage', message: expect.stringContaining(`listing the executions of Cloud Run job ${platform.runJob} failed: UNAUTHENTICATED`) } });
  }, 60_000);

  it('watchdog: checks every job', async () => {
    const answer = await invoke('watchdog', {});
    expect(answer.status, answer.logs).toBe(200);
    expect((answer.body as { jobs: { job: string }[] }).jobs.map((job) => job.job)).toEqual(['shop']);
  });
});
