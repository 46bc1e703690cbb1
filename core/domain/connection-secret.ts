/** The secret schemes a source or webhook reference may use. */
export const SECRET_SCHEMES = ['env', 'secret+aws', 'secret+gcp', 'secret+azure'] as const;
export type SecretScheme = (typeof SECRET_SCHEMES)[number];

/** The scheme of a secret reference, or `undefined` when `value` is not one (e.g. a plain database URL). */
export function secretScheme(value: string): SecretScheme | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  return (SECRET_SCHEMES as readonly string[]).includes(scheme ?? '') ? (scheme as SecretScheme) : undefined;
}
