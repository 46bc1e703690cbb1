/**
 * What is wrong with the key file `GOOGLE_APPLICATION_CREDENTIALS` names, in words a user can
 * act on. Google's auth library reports a damaged service-account key as whatever failed deep
 * inside it (OpenSSL's `DECODER routines::unsupported` when the private key is not PEM), which
 * names neither the file nor the field. Nothing of the file's content is ever quoted: it holds a
 * private key.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Why the file cannot be used, or `undefined` when no file is set or it looks usable. */
export function credentialsFileProblem(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = env.GOOGLE_APPLICATION_CREDENTIALS;
  if (!path) return undefined;
  const named = `GOOGLE_APPLICATION_CREDENTIALS file ${path}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return `${named} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return `${named} is not JSON (expected a service-account key or an authorized-user file)`;
  }
  if (typeof parsed !== 'object' || parsed === null) return `${named} is not a JSON object`;
  const file = parsed as { type?: unknown; private_key?: unknown; client_email?: unknown };
  if (typeof file.type !== 'string') return `${named} has no "type" field (expected "service_account", "authorized_user", …)`;
  if (file.type !== 'service_account') return undefined;
  if (typeof file.client_email !== 'string' || file.client_email === '') return `${named}: client_email is missing`;
  if (typeof file.private_key !== 'string' || file.private_key === '') return `${named}: private_key is missing`;
  try {
    createPrivateKey(file.private_key);
  } catch {
    return `${named}: private_key is not a PEM private key (download a new key for ${file.client_email})`;
  }
  return undefined;
}
