/**
 * Resolves a secret reference (`env://VAR`, `secret+aws://…`, `secret+gcp://…`,
 * `secret+azure://…`) to its value. Only the runner resolves secrets; the value is registered
 * for redaction and never logged, stored or put in argv.
 */
export interface SecretResolver {
  /** The reference scheme this resolver serves, e.g. `secret+aws`. */
  readonly scheme: string;
  /** Rejects with `NotFoundError` when the secret does not exist, `ConfigError` for a malformed reference. */
  resolve(reference: string, signal?: AbortSignal): Promise<string>;
}
