/**
 * A malformed service-account key in GOOGLE_APPLICATION_CREDENTIALS: the error line names the
 * file and the field that is wrong, not OpenSSL's `DECODER routines::unsupported`, and quotes
 * nothing of the file. No emulator can show this (an http:// emulator gets no credentials), so
 * the CLI is pointed at an https endpoint it never reaches: signing fails first.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { credentialsFileProblem } from '../../core/adapters/gcp/credentials-file.js';
import { runVaultra } from '../support/cli.js';
import { makeWorkspace } from '../support/workspace.js';

const root = mkdtempSync(join(tmpdir(), 'vaultra-gcs-key-'));
const SECRETISH = 'canary-not-a-pem-key-5f2a';

function keyFile(name: string, content: unknown): string {
  const path = join(root, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content), { mode: 0o600 });
  return path;
}

const serviceAccount = (privateKey: string) => ({ type: 'service_account', project_id: 'p', client_email: 'backup@p.iam.gserviceaccount.com', private_key: privateKey, token_uri: 'https://127.0.0.1:9/token' });

describe('a malformed GOOGLE_APPLICATION_CREDENTIALS file', () => {
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('vaultra list says which file is wrong and why (exit 2), without the raw OpenSSL line', async () => {
    const path = keyFile('bad-key.json', serviceAccount(`-----BEGIN PRIVATE KEY-----\n${SECRETISH}\n-----END PRIVATE KEY-----\n`));
    const result = await runVaultra(['list', '--from', 'gs://vaultra-bucket/x?endpoint=https://127.0.0.1:9'], { env: { ...makeWorkspace(root, 'ws').env, GOOGLE_APPLICATION_CREDENTIALS: path }, timeoutMs: 60_000 });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`vaultra: error: no usable Google Cloud credentials for https://127.0.0.1:9: GOOGLE_APPLICATION_CREDENTIALS file ${path}: private_key is not a PEM private key (download a new key for backup@p.iam.gserviceaccount.com)\n`);
    expect(result.stderr).not.toMatch(/DECODER|routines/);
    expect(result.stderr).not.toContain(SECRETISH);
  });

  it.each([
    ['missing', () => join(root, 'absent.json'), /cannot be read \(ENOENT\)$/],
    ['not JSON', () => keyFile('text.json', 'hello'), /is not JSON/],
    ['no private_key', () => keyFile('nokey.json', { type: 'service_account', client_email: 'a@b' }), /: private_key is missing$/],
    ['a key that is not PEM', () => keyFile('notpem.json', serviceAccount('MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ')), /: private_key is not a PEM private key/],
  ])('credentialsFileProblem: %s', (_what, make, expected) => {
    expect(credentialsFileProblem({ GOOGLE_APPLICATION_CREDENTIALS: make() })).toMatch(expected);
  });

  it('credentialsFileProblem: a well-formed key, another credential type, or no variable is no problem', () => {
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(credentialsFileProblem({ GOOGLE_APPLICATION_CREDENTIALS: keyFile('good.json', serviceAccount(pem)) })).toBeUndefined();
    expect(credentialsFileProblem({ GOOGLE_APPLICATION_CREDENTIALS: keyFile('user.json', { type: 'authorized_user' }) })).toBeUndefined();
    expect(credentialsFileProblem({})).toBeUndefined();
  });
});
