/**
 * `vaultra list --from <location>` shows the backups at that location and nothing else, on every
 * store (`file://`, `s3://` on moto, `gs://` on fake-gcs-server, `azblob://` on Azurite), through
 * the built CLI, with directory backups (the quickest engine). The catalog the CLI uses by default
 * for cloud stores is one local folder shared by every location, and a `--catalog` can be shared by
 * several `file://` stores: before the fix `list` printed that catalog's runs, so it listed the
 * backups of every location, and for a location that does not exist it printed earlier backups
 * and exited 0. Now:
 *
 * - `list` shows only the backups stored at the location (`--all` adds only the runs recorded
 *   there: failed backups, verifies, restores);
 * - a location that does not exist (folder, bucket, container) is an error: exit 1, one line
 *   saying it does not exist;
 * - a backup stored there that the catalog does not know is still listed (from its manifest).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import type { RunJson } from '../support/cli-json.js';
import { requireAzurite, requireFakeGcs, requireMoto, requireTools } from '../support/requirements.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';
import { createBucket } from '../support/fake-gcs-server.js';
import { AZURITE_ACCOUNT, uniqueAzureName } from '../support/azurite-server.js';

interface Locations {
  /** Two locations of one kind of store that both hold backups. */
  readonly a: string;
  readonly b: string;
  /** A location of that kind that does not exist. */
  readonly missing: string;
  /** What the CLI needs to reach them. */
  readonly env: NodeJS.ProcessEnv;
  /** Arguments every command gets (a shared `--catalog` for file:// stores). */
  readonly extra: readonly string[];
}

describe('list shows only the backups at the location it is given', () => {
  const tools = requireTools('tar', 'zstd');
  if (!tools) return;

  let root = '';
  let source = '';
  let workspaces = 0;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'vaultra-list-'));
    source = join(root, 'source');
    await mkdir(source);
    await writeFile(join(source, 'a.txt'), 'a\n');
  });

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  const vaultra = (ws: Workspace, args: readonly string[]): Promise<VaultraResult> => runVaultra(args, { env: ws.env });

  const backup = async (ws: Workspace, to: string, job: string, extra: readonly string[]): Promise<string> => {
    const result = await vaultra(ws, ['backup', `dir:${source}`, '--to', to, '--job', job, '--json', '--no-progress', ...extra]);
    expect(result.code, result.stderr).toBe(0);
    return (JSON.parse(result.stdout) as { runId: string }).runId;
  };

  const listed = async (ws: Workspace, from: string, extra: readonly string[], flags: readonly string[] = []): Promise<RunJson[]> => {
    const result = await vaultra(ws, ['list', '--from', from, '--json', ...flags, ...extra]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as RunJson[];
  };

  const scenario = (where: () => Promise<Locations>) => {
    let ws: Workspace;
    let locations: Locations;
    const runs: Record<string, string> = {};

    beforeAll(async () => {
      locations = await where();
      ws = makeWorkspace(root, `ws-${workspaces++}`, locations.env);
      runs.a = await backup(ws, locations.a, 'job-a', locations.extra);
      runs.b = await backup(ws, locations.b, 'job-b', locations.extra);
      const verified = await vaultra(ws, ['verify', 'latest', '--from', locations.a, '--no-progress', ...locations.extra]);
      expect(verified.code, verified.stderr).toBe(0);
    });

    it('lists only the backups stored at the location, for each location', async () => {
      expect((await listed(ws, locations.a, locations.extra)).map((r) => `${r.job}:${r.runId}`)).toEqual([`job-a:${runs.a}`]);
      expect((await listed(ws, locations.b, locations.extra)).map((r) => `${r.job}:${r.runId}`)).toEqual([`job-b:${runs.b}`]);
      const human = await vaultra(ws, ['list', '--from', locations.a, ...locations.extra]);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toContain(runs.a);
      expect(human.stdout).not.toContain(runs.b!);
      const otherJob = await vaultra(ws, ['list', '--from', locations.a, '--job', 'job-b', ...locations.extra]);
      expect(otherJob.stdout).toMatch(/^no backups in /);
    });

    it('--all adds only the runs recorded at the location', async () => {
      const all = await listed(ws, locations.a, locations.extra, ['--all']);
      expect(all.map((r) => `${r.job}:${r.kind}:${r.status}`)).toEqual(['job-a:verify:succeeded', 'job-a:backup:succeeded']);
    });

    it('a location that does not exist: exit 1, one line saying so, no runs printed', async () => {
      for (const flags of [[], ['--all'], ['--json']]) {
        const result = await vaultra(ws, ['list', '--from', locations.missing, ...flags, ...locations.extra]);
        expect(result.code, result.stdout).toBe(1);
        expect(result.stdout).toBe('');
        const lines = result.stderr.trimEnd().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^vaultra: error: listing .* does not exist/);
      }
    });

    it('lists a backup the catalog does not know, from its manifest', async () => {
      const fresh = makeWorkspace(root, `ws-${workspaces++}`, locations.env);
      const extra = locations.extra.length ? ['--catalog', join(fresh.dir, 'empty-catalog')] : [];
      const found = await listed(fresh, locations.b, extra);
      expect(found).toEqual([expect.objectContaining({ job: 'job-b', runId: runs.b, kind: 'backup', status: 'succeeded', engine: 'directory' })]);
    });
  };

  describe('file://, two folders recorded in one --catalog', () => {
    scenario(async () => {
      const dir = await mkdtemp(join(root, 'file-'));
      return {
        a: pathToFileURL(join(dir, 'a')).href,
        b: pathToFileURL(join(dir, 'b')).href,
        missing: pathToFileURL(join(dir, 'never-created')).href,
        env: {},
        extra: ['--catalog', join(dir, 'shared-catalog')],
      };
    });
  });

  describe('s3:// on moto, two buckets and the default local catalog', () => {
    const moto = requireMoto();
    if (!moto) return;
    scenario(async () => {
      const credentials = { accessKeyId: moto.env.AWS_ACCESS_KEY_ID!, secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY! };
      const admin = new S3Client({ endpoint: moto.endpoint, region: moto.region, forcePathStyle: true, credentials });
      const name = () => `vt-list-${randomBytes(5).toString('hex')}`;
      const [a, b] = [name(), name()];
      for (const bucket of [a, b]) await admin.send(new CreateBucketCommand({ Bucket: bucket }));
      admin.destroy();
      return {
        a: `s3://${a}/backups`,
        b: `s3://${b}/backups`,
        missing: `s3://${name()}/backups`,
        env: { ...moto.env, AWS_ENDPOINT_URL_S3: moto.endpoint, AWS_PROFILE: undefined, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        extra: [],
      };
    });
  });

  describe('gs:// on fake-gcs-server, two buckets and the default local catalog', () => {
    const gcs = requireFakeGcs();
    if (!gcs) return;
    scenario(async () => {
      const name = () => `vt-list-${randomBytes(5).toString('hex')}`;
      const [a, b] = [name(), name()];
      for (const bucket of [a, b]) await createBucket(gcs.endpoint, bucket);
      return { a: `gs://${a}/backups`, b: `gs://${b}/backups`, missing: `gs://${name()}/backups`, env: { ...gcs.env }, extra: [] };
    });
  });

  describe('azblob:// on Azurite, two containers and the default local catalog', () => {
    const azurite = requireAzurite();
    if (!azurite) return;
    scenario(async () => {
      const service = BlobServiceClient.fromConnectionString(azurite.env.AZURE_STORAGE_CONNECTION_STRING!);
      const [a, b] = [uniqueAzureName('list'), uniqueAzureName('list')];
      for (const container of [a, b]) await service.createContainer(container);
      const url = (container: string) => `azblob://${AZURITE_ACCOUNT}/${container}/backups`;
      return { a: url(a), b: url(b), missing: url(uniqueAzureName('never')), env: { ...azurite.env }, extra: [] };
    });
  });
});
