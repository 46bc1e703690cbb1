import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DEDUP_KEY_BYTES } from '../core/pipeline/chunking/chunk-id.js';
import { registerSecret } from '../core/domain/redact.js';
import { ConfigError, KeyError } from '../core/errors.js';
import { defaultIdentityPath } from './keys.js';

/**
 * The job's dedup key (docs/chunked-snapshots.md): 32 random bytes that name chunks (HMAC-SHA-256).
 * It lets its holder deduplicate, never decrypt; keep it beside the runner's other secrets. Every
 * run of a chain must use the same key: a run under another key finds no base and stores a full.
 *
 * Where it comes from: `reference` (`env://VAR` or a file), else $VAULTRA_DEDUP_KEY (the key's
 * hex), else `dedup-key.txt` beside the default identity, created (0600) on first use.
 */
export async function dedupKeyFor(reference: string | undefined, notice: (line: string) => void, env = process.env): Promise<Buffer> {
  if (reference?.startsWith('env://')) {
    const name = reference.slice('env://'.length);
    const value = env[name];
    if (!value) throw new KeyError(`dedup key: $${name} is not set: set it to the job's key (64 hex digits, as in dedup-key.txt)`);
    return parseKey(value, `$${name}`);
  }
  if (reference) return readKeyFile(reference);
  if (env.VAULTRA_DEDUP_KEY) return parseKey(env.VAULTRA_DEDUP_KEY, '$VAULTRA_DEDUP_KEY');
  const path = defaultDedupKeyPath(env);
  try {
    return await readKeyFile(path);
  } catch (error) {
    if (!(error instanceof KeyError) || !/ENOENT/.test(error.message)) throw error;
  }
  const key = randomBytes(DEDUP_KEY_BYTES);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    await writeFile(path, `# vaultra dedup key: names chunks of chunked snapshots; it opens nothing\n${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another run created it meanwhile: use theirs, or chains would split.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readKeyFile(path);
    throw error;
  }
  notice(`created dedup key ${path}; runs of a chain must share it (a lost key costs one full backup, never data)`);
  registerSecret(key.toString('hex'));
  return key;
}

/** `dedup-key.txt` beside the default identity. */
export function defaultDedupKeyPath(env = process.env): string {
  return join(dirname(defaultIdentityPath(env)), 'dedup-key.txt');
}

/** The key at hand for checking chunk ids on restore and verify, if there is one; never created. */
export async function existingDedupKey(reference: string | undefined, env = process.env): Promise<Buffer | undefined> {
  try {
    if (reference || env.VAULTRA_DEDUP_KEY) return await dedupKeyFor(reference, () => undefined, env);
    return await readKeyFile(defaultDedupKeyPath(env));
  } catch (error) {
    if (error instanceof KeyError && /ENOENT/.test(error.message) && !reference) return undefined;
    throw error;
  }
}

async function readKeyFile(path: string): Promise<Buffer> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new KeyError(`cannot read dedup key file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const line = text.split('\n').find((candidate) => candidate.trim() !== '' && !candidate.startsWith('#'));
  return parseKey(line ?? '', `dedup key file ${path}`);
}

/**
 * 64 hex digits are the key itself; any other secret of at least 32 characters (a cloud's
 * generated secret string) is hashed into one, so every cloud's secret generator can make a key.
 */
function parseKey(text: string, where: string): Buffer {
  const value = text.trim();
  registerSecret(value);
  if (new RegExp(`^[0-9a-fA-F]{${DEDUP_KEY_BYTES * 2}}$`).test(value)) return Buffer.from(value, 'hex');
  if (value.length >= 32) return createHash('sha256').update(`vaultra dedup key\n${value}`).digest();
  throw new ConfigError(`${where} is not a dedup key: expected ${DEDUP_KEY_BYTES * 2} hex digits, or a secret of at least 32 characters`);
}
