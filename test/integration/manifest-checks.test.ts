/**
 * What `verify` and `restore` check of a manifest, through the built CLI on `file://` and
 * `s3://` (moto), for PostgreSQL and directories:
 *
 * - every field that describes the data is checked against the data: object sizes and SHA-256,
 *   the plaintext size, the compression id, the encryption format and recipients (as far as the
 *   age header shows them). Before the fix an edited `plaintextBytes` or recipient list still
 *   verified and restored.
 * - a manifest is read only where it sits: one whose job or run id does not match its folder is
 *   refused, so is a copy of another run's manifest in a foreign run folder (same job or
 *   another), and restore reads data only from the folder the manifest sits in. Before the fix a
 *   folder holding only a copied manifest restored the other run's data under the new id.
 * - object names are plain names in the run folder (`..` and `.` are refused as integrity errors).
 *
 * Each refusal is exit 3 with one line, and a refused restore creates nothing.
 *
 * Every manifest is signed, and an edited one would be refused by its signature first (exit 8,
 * signed-backups.test.ts). These checks are defence in depth behind it, for a genuine signer that
 * writes a wrong manifest and for `--allow-unsigned`: each edited manifest here is signed again
 * with the workspace's own signing key, so the signature passes and the data checks must refuse.
 * A copied manifest is copied with its genuine signature: the location check in readManifest
 * runs before the signature check, so it is what refuses (exit 3).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import { signatureKeyOf } from '../../core/domain/manifest-signature.js';
import { manifestKey, runFolder } from '../../core/domain/object-layout.js';
import { newRunId } from '../../core/domain/run.js';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import { pgEnv } from '../support/psql.js';
import { requireMoto, requirePostgres, requireTools } from '../support/requirements.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';
import { fileDamageStore, s3DamageStore, type DamageStore } from '../support/damage-store.js';
import { directoryCase, postgresCase, type CaseEngine, type EngineCase } from '../support/engine-cases.js';
import { writeResignedManifest } from '../support/signing.js';

type Json = Record<string, unknown> & {
  runId: string;
  job: string;
  plaintextBytes: number;
  objects: { name: string; sizeBytes: number; sha256: string }[];
  compression: { id: string };
  encryption: { format: string; recipients: Record<string, unknown>[] };
};

interface ManifestEdit {
  readonly name: string;
  readonly edit: (manifest: Json) => void;
  /** What the one error line says. */
  readonly message: RegExp;
  /** Also try a restore (slower): the edits that failed before the fix, and one that did not. */
  readonly restore?: boolean;
}

const other = generateX25519Identity();

const EDITS: readonly ManifestEdit[] = [
  { name: 'plaintextBytes one more', edit: (m) => void (m.plaintextBytes += 1), message: /plaintext/, restore: true },
  { name: 'plaintextBytes one less', edit: (m) => void (m.plaintextBytes -= 1), message: /plaintext/ },
  { name: 'an X25519 recipient replaced by another key', edit: (m) => void (m.encryption.recipients[0]!.recipient = other.recipient), message: /recipient/, restore: true },
  { name: 'an X25519 recipient added', edit: (m) => void m.encryption.recipients.push({ type: 'x25519', recipient: other.recipient }), message: /recipient/ },
  { name: 'the recipients removed', edit: (m) => void (m.encryption.recipients = []), message: /recipient/ },
  { name: 'the encryption format set to none', edit: (m) => void ((m.encryption.format = 'none'), (m.encryption.recipients = [])), message: /age|encrypt/ },
  { name: 'the compression id changed to gzip', edit: (m) => void (m.compression.id = 'gzip'), message: /gzip|decompress/ },
  { name: 'the object size one more', edit: (m) => void (m.objects[0]!.sizeBytes += 1), message: /bytes/, restore: true },
  { name: 'the object SHA-256 altered', edit: (m) => void (m.objects[0]!.sha256 = m.objects[0]!.sha256.replace(/^./, (c) => (c === '0' ? '1' : '0'))), message: /SHA-256/ },
  { name: 'the run id changed (not its folder)', edit: (m) => void (m.runId = newRunId(new Date(Date.parse('2026-01-02T03:04:05Z')))), message: /does not match its folder/, restore: true },
  { name: 'the job changed (not its folder)', edit: (m) => void (m.job = 'another-job'), message: /does not match its folder/ },
  { name: 'an object named ..', edit: (m) => void (m.objects[0]!.name = '..'), message: /plain (file )?name/ },
  { name: 'an object named .', edit: (m) => void (m.objects[0]!.name = '.'), message: /plain (file )?name/ },
];

describe('verify and restore check the manifest against the data and its location', () => {
  const pg = requirePostgres();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'zstd', 'tar');
  if (!pg || !tools) return;

  let root = '';
  const cases = new Map<CaseEngine, EngineCase>();
  let workspaces = 0;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'vaultra-manifest-'));
    cases.set('postgres', await postgresCase(pg));
    cases.set('directory', await directoryCase(root));
  });

  afterAll(async () => {
    for (const c of cases.values()) await c.cleanup();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const vaultra = (ws: Workspace, args: string[]): Promise<VaultraResult> => runVaultra(args, { env: ws.env });

  const expectOneLine = (result: VaultraResult, exitCode: number, message: RegExp) => {
    expect(result.code, result.stderr).toBe(exitCode);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines, 'stderr must be exactly one line').toHaveLength(1);
    expect(lines[0]).toMatch(/^vaultra: error: /);
    expect(lines[0]).toMatch(message);
  };

  const suite = (makeStore: () => Promise<DamageStore>, engines: readonly CaseEngine[]): void => {
    for (const engine of engines) {
      describe(engine, () => {
        let store: DamageStore;
        let ws: Workspace;
        const job = `${engine}-checked`;
        let runId = '';
        let original: Buffer = Buffer.alloc(0);
        let originalSignature: Buffer = Buffer.alloc(0);

        const manifestOf = (): Json => JSON.parse(original.toString('utf8')) as Json;
        const verify = (ref: string, jobName = job) => vaultra(ws, ['verify', ref, '--from', store.url, '--job', jobName, '--no-progress']);
        const restoreInto = async (ref: string, jobName = job) => {
          const target = await cases.get(engine)!.newTarget();
          return { target, result: await vaultra(ws, ['restore', ref, '--from', store.url, '--job', jobName, '--target', target, '--no-progress']) };
        };
        const expectNothingRestored = async (target: string) => expect(await cases.get(engine)!.leftovers(target), 'a refused restore must create nothing').toEqual([]);

        beforeAll(async () => {
          store = await makeStore();
          ws = makeWorkspace(root, `ws-${workspaces++}`, { ...pgEnv(pg, 'postgres'), ...store.env });
          const taken = await vaultra(ws, ['backup', cases.get(engine)!.source, '--to', store.url, '--job', job, '--json', '--no-progress']);
          expect(taken.code, taken.stderr).toBe(0);
          runId = (JSON.parse(taken.stdout) as { runId: string }).runId;
          original = await store.read(manifestKey(job, runId));
          originalSignature = await store.read(signatureKeyOf(manifestKey(job, runId)));
        });

        it('the untouched backup verifies and restores', async () => {
          const verified = await verify(runId);
          expect(verified.code, verified.stderr).toBe(0);
          const { target, result } = await restoreInto(runId);
          expect(result.code, result.stderr).toBe(0);
          expect(await cases.get(engine)!.leftovers(target)).not.toEqual([]);
        });

        for (const edit of EDITS) {
          it(`refuses a manifest with ${edit.name}: exit 3, one line${edit.restore ? ', restore creates nothing' : ''}`, async () => {
            const manifest = manifestOf();
            edit.edit(manifest);
            await writeResignedManifest(store, ws, manifestKey(job, runId), JSON.stringify(manifest, null, 2) + '\n');
            try {
              expectOneLine(await verify(runId), 3, edit.message);
              if (edit.restore) {
                const { target, result } = await restoreInto(runId);
                expectOneLine(result, 3, edit.message);
                await expectNothingRestored(target);
              }
            } finally {
              await store.write(signatureKeyOf(manifestKey(job, runId)), originalSignature);
              await store.write(manifestKey(job, runId), original);
            }
          });
        }

        it('refuses a copy of the manifest (and its signature) alone in another run folder of the same job: verify and restore exit 3, nothing restored', async () => {
          const copyId = newRunId();
          await store.write(signatureKeyOf(manifestKey(job, copyId)), originalSignature);
          await store.write(manifestKey(job, copyId), original);
          try {
            expectOneLine(await verify(copyId), 3, /does not match its folder/);
            expectOneLine(await verify('latest'), 3, /does not match its folder/);
            const { target, result } = await restoreInto(copyId);
            expectOneLine(result, 3, /does not match its folder/);
            await expectNothingRestored(target);
          } finally {
            await store.remove(manifestKey(job, copyId));
            await store.remove(signatureKeyOf(manifestKey(job, copyId)));
          }
        });

        it('refuses a copy of the manifest, its signature and its data in another job\'s run folder: verify and restore exit 3, nothing restored', async () => {
          const otherJob = `${engine}-foreign`;
          const copyId = newRunId();
          const { name } = manifestOf().objects[0]!;
          await store.write(`${runFolder(otherJob, copyId)}/${name}`, await store.read(`${runFolder(job, runId)}/${name}`));
          await store.write(signatureKeyOf(manifestKey(otherJob, copyId)), originalSignature);
          await store.write(manifestKey(otherJob, copyId), original);
          try {
            expectOneLine(await verify(copyId, otherJob), 3, /does not match its folder/);
            const { target, result } = await restoreInto('latest', otherJob);
            expectOneLine(result, 3, /does not match its folder/);
            await expectNothingRestored(target);
          } finally {
            await store.remove(manifestKey(otherJob, copyId));
            await store.remove(signatureKeyOf(manifestKey(otherJob, copyId)));
            await store.remove(`${runFolder(otherJob, copyId)}/${name}`);
          }
        });
      });
    }
  };

  describe('on file://', () => {
    suite(async () => fileDamageStore(root), ['postgres', 'directory']);
  });

  describe('on s3:// (moto)', () => {
    const moto = requireMoto();
    if (!moto) return;
    suite(() => s3DamageStore(moto), ['postgres']);
  });
});
