/**
 * Authenticity through the built CLI (issue 12): every backup's manifest is signed, and restore
 * and verify accept only trusted signers. The attacker here can write to the storage and knows
 * the public recipient printed in every manifest — exactly what it takes to forge a backup that
 * checksums and age authentication accept. Each forgery must be refused with exit 8 and one
 * clear line, before any data is read or any target touched; genuine backups restore as before,
 * directories and PostgreSQL on file://, PostgreSQL on s3:// (moto).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { runFolder } from '../../core/domain/object-layout.js';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import type { BackupJson, ManifestJson, RestoreJson } from '../support/cli-json.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, tableFingerprints, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { pgEnv, psqlQuery, quoteLiteral } from '../support/psql.js';
import { requireMoto, requirePostgres, requireTools } from '../support/requirements.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';

const errorLines = (stderr: string): string[] => stderr.split('\n').filter((line) => line.startsWith('vaultra: error:'));
const warningLines = (stderr: string): string[] => stderr.split('\n').filter((line) => line.startsWith('vaultra: WARNING:'));

interface SignatureJson {
  schema: string;
  algorithm: string;
  keyId: string;
  payload: string;
  signature: string;
}

describe('signed backups through the CLI: directories on file://', () => {
  const tools = requireTools('tar', 'zstd');
  if (!tools) return;

  let root = '';
  let victim: Workspace;
  let attacker: Workspace;
  let genuine: BackupJson;
  let recipient = '';
  const job = 'docs';

  const vaultra = (ws: Workspace, args: string[]): Promise<VaultraResult> => runVaultra(args, { env: ws.env });
  const folderOf = (run: Pick<BackupJson, 'location'>): string => fileURLToPath(run.location);
  const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

  /** A directory with one file, `note.txt`, holding `text`. */
  const tree = (name: string, text: string): string => {
    const dir = join(root, 'trees', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'note.txt'), text);
    return dir;
  };
  const backupOk = async (ws: Workspace, dir: string, extra: string[] = []): Promise<BackupJson> => {
    const result = await vaultra(ws, ['backup', `dir:${dir}`, '--job', job, '--to', victim.storeUrl, '--json', '--no-progress', ...extra]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as BackupJson;
  };
  /** What the attacker can do with write access and the public recipient: a backup of their own tree, into the victim's storage. */
  const forge = (text: string) => backupOk(attacker, tree(`forged-${Math.random().toString(36).slice(2)}`, text), ['--recipient', recipient]);
  const restore = (ws: Workspace, ref: string, target: string, extra: string[] = []) =>
    vaultra(ws, ['restore', ref, '--job', job, '--from', victim.storeUrl, '--target', `dir:${target}`, '--no-progress', ...extra]);
  const verify = (ws: Workspace, ref: string, extra: string[] = []) => vaultra(ws, ['verify', ref, '--job', job, '--from', victim.storeUrl, '--no-progress', ...extra]);
  const target = (name: string) => join(root, 'restored', name);
  const expectRefused = (result: VaultraResult, runId: string, reason: RegExp, targetDir?: string) => {
    expect(result.code, result.stderr).toBe(8);
    expect(errorLines(result.stderr)).toEqual([expect.stringMatching(new RegExp(`backup ${runId} of job ${job} is not from a trusted signer: .*${reason.source}`))]);
    if (targetDir) expect(existsSync(targetDir)).toBe(false);
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-signed-'));
    victim = makeWorkspace(root, 'victim');
    attacker = makeWorkspace(root, 'attacker');
    genuine = await backupOk(victim, tree('genuine', 'the real thing\n'));
    recipient = genuine.encryption!.recipients[0]!.recipient!;
  });
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('a genuine backup carries manifest.json.sig by the default signing key, and restores and verifies as before', async () => {
    const folder = folderOf(genuine);
    expect(readdirSync(folder).sort()).toEqual(['data.tar.zst.age', 'manifest.json', 'manifest.json.sig']);
    const signature = readJson<SignatureJson>(join(folder, 'manifest.json.sig'));
    const ownKey = readFileSync(join(victim.dir, 'config', 'vaultra', 'signing-key.pem'), 'utf8');
    expect(signature).toMatchObject({ schema: 'vaultra.signature/v1', algorithm: 'ed25519', keyId: expect.stringMatching(/^ed25519:/) });
    expect(ownKey).toContain(`# public key: ${signature.keyId}`);
    expect(JSON.parse(signature.payload)).toMatchObject({ purpose: 'vaultra.manifest-signature', v: 1, job, runId: genuine.runId });
    expect((genuine as BackupJson & { signedBy?: string }).signedBy).toBe(signature.keyId);

    const into = target('genuine');
    const restored = await restore(victim, genuine.runId, into, ['--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect((JSON.parse(restored.stdout) as RestoreJson & { signature: unknown }).signature).toEqual({ verified: true, keyId: signature.keyId, trustedAs: expect.stringContaining('your signing key') });
    expect(readFileSync(join(into, 'note.txt'), 'utf8')).toBe('the real thing\n');
    const verified = await verify(victim, genuine.runId);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(new RegExp(`signature\\s+${signature.keyId.replace(/[+/]/g, '\\$&')}, trusted as your signing key`));
  });

  it('a backup forged with only the public recipient (signed by the forger) is refused by restore and verify: exit 8, one line, nothing restored', async () => {
    const forged = await forge('evil payload\n');
    // It is a perfectly well-formed backup: checksums and age authentication would accept it.
    expect(readJson<ManifestJson>(join(folderOf(forged), 'manifest.json')).encryption.recipients).toEqual([{ type: 'x25519', recipient }]);
    const into = target('forged');
    expectRefused(await restore(victim, 'latest', into), forged.runId, /which is not a trusted signer/, into);
    expectRefused(await verify(victim, forged.runId), forged.runId, /which is not a trusted signer; refusing to verify it/);
    // The refused verify is on record, for whoever audits the catalog.
    const runs = await vaultra(victim, ['list', '--from', victim.storeUrl, '--job', job, '--all', '--json']);
    expect(JSON.parse(runs.stdout)).toContainEqual(expect.objectContaining({ kind: 'verify', status: 'failed', error: expect.objectContaining({ kind: 'untrusted' }) }));
    // The same backup without its signature: refused as unsigned.
    rmSync(join(folderOf(forged), 'manifest.json.sig'));
    expectRefused(await restore(victim, forged.runId, into), forged.runId, /it has no signature \(manifest\.json\.sig is missing\)/, into);
    rmSync(folderOf(forged), { recursive: true });
  });

  it('a genuine run whose data and manifest were rewritten to match (valid checksums), keeping its signature, is refused', async () => {
    const taken = await backupOk(victim, tree('rewritten', 'original\n'));
    const forged = await forge('swapped in\n');
    const folder = folderOf(taken);
    const forgedManifest = readJson<ManifestJson>(join(folderOf(forged), 'manifest.json'));
    cpSync(join(folderOf(forged), 'data.tar.zst.age'), join(folder, 'data.tar.zst.age'));
    const manifest = readJson<ManifestJson & Record<string, unknown>>(join(folder, 'manifest.json'));
    writeFileSync(join(folder, 'manifest.json'), JSON.stringify({ ...manifest, objects: forgedManifest.objects, contents: forgedManifest.contents, plaintextBytes: forgedManifest.plaintextBytes }, null, 2) + '\n');
    rmSync(folderOf(forged), { recursive: true });

    const into = target('rewritten');
    expectRefused(await restore(victim, taken.runId, into), taken.runId, /made for other manifest bytes: the manifest was changed after it was signed/, into);
    expectRefused(await verify(victim, taken.runId), taken.runId, /changed after it was signed/);
    // --allow-unsigned is the user's explicit decision: it restores (the forger's bytes) and says so loudly.
    const allowed = await restore(victim, taken.runId, into, ['--allow-unsigned']);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(warningLines(allowed.stderr)).toEqual([expect.stringMatching(new RegExp(`WARNING: backup ${taken.runId} of job ${job} is NOT AUTHENTICATED: .*restoring it anyway`))]);
    expect(allowed.stdout).toMatch(/signed by\s+NOT PROVEN: its signature was made for other manifest bytes/);
    expect(readFileSync(join(into, 'note.txt'), 'utf8')).toBe('swapped in\n');
    rmSync(folder, { recursive: true });
  });

  // Two checks refuse this copy: the manifest's job and run id are not its new folder's
  // (readManifest, exit 3), and its signature names the folder it was made for (exit 8). The
  // location check runs first; the signature's own binding is tested without it in
  // manifest-signature.test.ts.
  it('a genuine manifest and signature copied into another run folder are refused: exit 3, the manifest does not match its folder', async () => {
    const taken = await backupOk(victim, tree('copied', 'copied\n'));
    const folder = folderOf(taken);
    const otherRun = `${taken.runId.slice(0, -6)}ffffff`;
    const foreign = join(folder, '..', otherRun);
    mkdirSync(foreign);
    for (const name of ['manifest.json', 'manifest.json.sig']) cpSync(join(folder, name), join(foreign, name));
    const into = target('copied');
    const restored = await restore(victim, otherRun, into);
    expect(restored.code, restored.stderr).toBe(3);
    expect(errorLines(restored.stderr)).toEqual([expect.stringMatching(new RegExp(`${otherRun}/manifest\\.json describes run ${taken.runId} of job ${job}, which does not match its folder`))]);
    expect(existsSync(into)).toBe(false);
    rmSync(foreign, { recursive: true });
  });

  it('unsigned (older) backups: refused; verify --trust-unsigned checks and signs once; then restore needs no flag', async () => {
    const taken = await backupOk(victim, tree('older', 'made before signing\n'));
    const folder = folderOf(taken);
    rmSync(join(folder, 'manifest.json.sig'));
    const into = target('older');
    expectRefused(await restore(victim, taken.runId, into), taken.runId, /it has no signature/, into);

    const trusted = await verify(victim, taken.runId, ['--trust-unsigned', '--json']);
    expect(trusted.code, trusted.stderr).toBe(0);
    const report = JSON.parse(trusted.stdout) as { status: string; signature: { verified: boolean; reason: string }; signedNow: string };
    expect(report).toMatchObject({ status: 'verified', signature: { verified: false, reason: expect.stringMatching(/no signature/) }, signedNow: expect.stringMatching(/^ed25519:/) });
    expect(existsSync(join(folder, 'manifest.json.sig'))).toBe(true);
    // Once is enough: a second run finds it already signed and writes nothing.
    const again = await verify(victim, taken.runId, ['--trust-unsigned', '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ signature: { verified: true }, signedNow: null });

    const restored = await restore(victim, taken.runId, into);
    expect(restored.code, restored.stderr).toBe(0);
    expect(readFileSync(join(into, 'note.txt'), 'utf8')).toBe('made before signing\n');
  });

  it('--trust-unsigned does not bless a damaged backup: the full verify fails first and nothing is signed', async () => {
    const taken = await backupOk(victim, tree('damaged', 'x'.repeat(5000)));
    const folder = folderOf(taken);
    rmSync(join(folder, 'manifest.json.sig'));
    const data = join(folder, 'data.tar.zst.age');
    const bytes = readFileSync(data);
    bytes[bytes.length - 20]! ^= 0xff;
    writeFileSync(data, bytes);
    const result = await verify(victim, taken.runId, ['--trust-unsigned']);
    expect(result.code, result.stderr).toBe(3);
    expect(existsSync(join(folder, 'manifest.json.sig'))).toBe(false);
    rmSync(folder, { recursive: true });
  });

  it('--trust (a public key, or a file of them) accepts another signer; a private key given as --trust is refused', async () => {
    const forged = await forge('from a colleague\n');
    const signer = readJson<SignatureJson>(join(folderOf(forged), 'manifest.json.sig')).keyId;
    const trustFile = join(root, 'trusted-signers.txt');
    writeFileSync(trustFile, `# ops team\n${signer}\n`);
    for (const [name, trust] of [
      ['text', signer],
      ['file', trustFile],
    ]) {
      const into = target(`colleague-${name}`);
      const result = await restore(victim, forged.runId, into, ['--trust', trust!]);
      expect(result.code, result.stderr).toBe(0);
      expect(readFileSync(join(into, 'note.txt'), 'utf8')).toBe('from a colleague\n');
    }
    const viaEnv = await runVaultra(['verify', forged.runId, '--job', job, '--from', victim.storeUrl], { env: { ...victim.env, VAULTRA_TRUST: signer } });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);

    const privateKey = join(attacker.dir, 'config', 'vaultra', 'signing-key.pem');
    const wrong = await restore(victim, forged.runId, target('private'), ['--trust', privateKey]);
    expect(wrong.code).toBe(2);
    expect(errorLines(wrong.stderr)).toEqual([expect.stringMatching(/is a private signing key: trust its public key instead/)]);
    rmSync(folderOf(forged), { recursive: true });
  });

  it('keygen writes the signing key beside the identity and prints how to trust it; refuses to overwrite either', async () => {
    const ws = makeWorkspace(root, 'keygen');
    const out = join(ws.dir, 'keys', 'identity.txt');
    const made = await vaultra(ws, ['keygen', '--out', out, '--json']);
    expect(made.code, made.stderr).toBe(0);
    const keys = JSON.parse(made.stdout) as { recipient: string; signingKeyFile: string; signer: string };
    expect(keys.signingKeyFile).toBe(join(ws.dir, 'keys', 'signing-key.pem'));
    expect(keys.signer).toMatch(/^ed25519:/);
    expect(readFileSync(keys.signingKeyFile, 'utf8')).toContain(`# public key: ${keys.signer}`);
    const again = await vaultra(ws, ['keygen', '--signing-only', '--signing-key-out', keys.signingKeyFile]);
    expect(again.code).toBe(2);
    const signingOnly = await vaultra(ws, ['keygen', '--signing-only', '--signing-key-out', join(ws.dir, 'keys', 'second.pem')]);
    expect(signingOnly.code, signingOnly.stderr).toBe(0);
    expect(signingOnly.stdout.trim()).toMatch(/^ed25519:/);
    expect(signingOnly.stderr).toContain(`--trust ${signingOnly.stdout.trim()}`);
  });
});

describe('signed backups through the CLI: PostgreSQL on file:// and s3:// (moto)', () => {
  const pg = requirePostgres();
  const moto = requireMoto();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'zstd');
  if (!pg || !moto || !tools) return;

  const source = uniqueDatabaseName('sig_src');
  const databases = new Set<string>([source]);
  const credentials = { accessKeyId: moto.env.AWS_ACCESS_KEY_ID!, secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY! };
  const s3 = new S3Client({ endpoint: moto.endpoint, region: moto.region, forcePathStyle: true, credentials });
  const bucket = `vt-signed-${process.pid}-${Date.now().toString(36)}`;
  let root = '';
  let prints: Awaited<ReturnType<typeof tableFingerprints>> = {};

  const urlOf = (database: string) => `postgres://${pg.user}@${pg.host}:${pg.port}/${database}`;
  const newDatabase = (prefix: string) => {
    const name = uniqueDatabaseName(prefix);
    databases.add(name);
    return name;
  };
  const workspace = (name: string) => makeWorkspace(root, name, { ...pgEnv(pg, 'postgres'), ...moto.env, AWS_ENDPOINT_URL_S3: moto.endpoint, AWS_PROFILE: undefined });
  const vaultra = (ws: Workspace, args: string[]) => runVaultra(args, { env: ws.env });
  const databaseExists = async (name: string) => (await psqlQuery(pg, 'postgres', `SELECT count(*) FROM pg_database WHERE datname = ${quoteLiteral(name)}`)) === '1';

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-signed-pg-'));
    await createDatabase(pg, source);
    await loadVariedTypesFixture(pg, source);
    prints = await tableFingerprints(pg, source);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterAll(async () => {
    for (const name of databases) await dropDatabase(pg, name);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  for (const where of ['file', 's3'] as const) {
    it(`${where}://: a genuine backup restores with equal content; a forged one (the forger's own key) and an unsigned one are refused and create no database`, async () => {
      const victim = workspace(`victim-${where}`);
      const attacker = workspace(`attacker-${where}`);
      const store = where === 'file' ? victim.storeUrl : `s3://${bucket}/${where}-prefix`;
      const taken = await vaultra(victim, ['backup', urlOf(source), '--job', 'shop', '--to', store, '--json', '--no-progress']);
      expect(taken.code, taken.stderr).toBe(0);
      const genuine = JSON.parse(taken.stdout) as BackupJson;

      const restoredDb = newDatabase('sig_ok');
      const restored = await vaultra(victim, ['restore', genuine.runId, '--from', store, '--target', urlOf(restoredDb), '--no-progress', '--json']);
      expect(restored.code, restored.stderr).toBe(0);
      expect(await tableFingerprints(pg, restoredDb)).toEqual(prints);

      // The forger dumps a database of their choosing, encrypted to the victim's public recipient.
      const recipient = genuine.encryption!.recipients[0]!.recipient!;
      const forgedTaken = await vaultra(attacker, ['backup', urlOf(source), '--job', 'shop', '--to', store, '--recipient', recipient, '--json', '--no-progress']);
      expect(forgedTaken.code, forgedTaken.stderr).toBe(0);
      const forged = JSON.parse(forgedTaken.stdout) as BackupJson;
      const forgedDb = newDatabase('sig_forged');
      const refused = await vaultra(victim, ['restore', 'latest', '--job', 'shop', '--from', store, '--target', urlOf(forgedDb), '--no-progress']);
      expect(refused.code, refused.stderr).toBe(8);
      expect(errorLines(refused.stderr)).toEqual([expect.stringMatching(new RegExp(`backup ${forged.runId} of job shop is not from a trusted signer: it is signed by ed25519:.*, which is not a trusted signer`))]);
      expect(await databaseExists(forgedDb)).toBe(false);

      // The genuine backup without its signature: refused too.
      if (where === 'file') rmSync(join(fileURLToPath(genuine.location), 'manifest.json.sig'));
      else await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `s3-prefix/${runFolder('shop', genuine.runId)}/manifest.json.sig` }));
      const unsignedDb = newDatabase('sig_unsigned');
      const unsigned = await vaultra(victim, ['restore', genuine.runId, '--from', store, '--target', urlOf(unsignedDb), '--no-progress']);
      expect(unsigned.code, unsigned.stderr).toBe(8);
      expect(errorLines(unsigned.stderr)).toEqual([expect.stringMatching(/has no signature \(manifest\.json\.sig is missing\)/)]);
      expect(await databaseExists(unsignedDb)).toBe(false);
    });
  }
});
