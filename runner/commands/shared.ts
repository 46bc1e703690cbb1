import { ConfigError } from '../../core/errors.js';
import { Option, type Command } from 'commander';
import type { StorageBackend } from '../../core/ports/storage-backend.js';
import type { Catalog } from '../../core/ports/catalog.js';
import { openCatalog, SUPPORTED_CATALOGS } from '../../core/adapters/catalog/catalog-registry.js';
import { openStorage } from '../../core/adapters/storage/storage-registry.js';
import { resolveSecret } from '../../core/adapters/secrets/secret-resolvers.js';
import { secretScheme } from '../../core/domain/connection-secret.js';
import { connectionUrlFromSecret } from '../../core/adapters/engines/secret-connection-url.js';
import type { Authenticity } from '../../core/usecases/authenticate-backup.js';
import { StampedCatalog } from '../../core/adapters/catalog/stamped-catalog.js';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { localHost } from '../../core/adapters/process/local-host.js';

/** This process and its host: every run it records names them, so a repair can tell it died. */
export const thisHost = localHost();

/** `--catalog`: where the local catalog lives. */
export function catalogOption(): Option {
  return new Option('--catalog <dir|url>', `where runs are recorded: ${SUPPORTED_CATALOGS} (default: <storage>/.vaultra/catalog for file:// storage)`).env('VAULTRA_CATALOG');
}

/** The signal that aborts when the user presses Ctrl-C or the container is stopped. */
export function signalOf(command: Command): AbortSignal | undefined {
  let root: Command = command;
  while (root.parent) root = root.parent;
  return root.getOptionValue('signal') as AbortSignal | undefined;
}

/** A storage and its catalog; `localCatalogDir` when the catalog is a local folder (where run logs are kept beside the records). */
export async function openStore(url: string, catalogSpec?: string): Promise<{ storage: StorageBackend; catalog: Catalog; localCatalogDir?: string }> {
  const storage = await openStorage(url);
  const catalog = await openCatalog(catalogSpec, storage);
  return { storage, catalog: new StampedCatalog(catalog, thisHost), ...(catalog instanceof LocalCatalog ? { localCatalogDir: catalog.dir } : {}) };
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Splits `a,b , c` into ['a', 'b', 'c']. */
/** A flag's whole number of at least 1 (`--jobs 4`). */
export function positiveInteger(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(`${flag} ${JSON.stringify(text)}: expected a whole number of at least 1`);
  return value;
}

export function commaList(value: string): string[] {
  return value.split(',').map((part) => part.trim()).filter(Boolean);
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Human output goes to stdout as aligned `label  value` lines. */
export function printFields(title: string, fields: [string, string | undefined][]): void {
  const width = Math.max(...fields.map(([label]) => label.length));
  const lines = [title, ...fields.filter(([, v]) => v !== undefined).map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)];
  process.stdout.write(lines.join('\n') + '\n');
}

/**
 * A source or target as the user gave it: a database URL, or a secret reference (`env://VAR`,
 * `secret+aws://…`, `secret+gcp://…`, `secret+azure://…`) resolved here, in the runner only,
 * to a URL or an RDS-shaped JSON secret turned into one.
 */
export async function resolveConnection(value: string, signal?: AbortSignal): Promise<string> {
  if (!secretScheme(value)) return value;
  return connectionUrlFromSecret(await resolveSecret(value, signal));
}

/** `--trust` and `--allow-unsigned`, the same on restore and verify. */
export function trustOptions(): Option[] {
  return [
    new Option('--trust <key|file>', 'also trust backups signed by this key: ed25519:… or ecdsa-p256:… (as vaultra keygen prints), aws-kms:<key ARN>, gcp-kms:<key version>, azure-keyvault:<key version URL>, or a file of them (repeatable; also $VAULTRA_TRUST)').argParser(collect),
    new Option('--allow-unsigned', 'accept a backup whose signature is missing, altered or from an untrusted key (says so on stderr); for backups you know are yours'),
  ];
}

export const TRUST_HELP = `
Trust: a backup is accepted only if its manifest is signed by a key you trust: your own signing
key (signing-key.pem beside your default identity), each --trust key, and $VAULTRA_TRUST.
Anything else exits 8 before any data is read. Backups made before signing existed: check and
sign them once with vaultra verify <run> --trust-unsigned.`;

/** What `--json` prints about who signed a backup. */
export function authenticityJson(authenticity: Authenticity | undefined): Record<string, unknown> {
  if (!authenticity) return {};
  return authenticity.verified ? { signature: { verified: true, keyId: authenticity.keyId, trustedAs: authenticity.trustedAs } } : { signature: { verified: false, reason: authenticity.reason } };
}
