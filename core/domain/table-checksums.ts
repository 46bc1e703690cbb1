/**
 * Per-table checksums a backup recorded where they were cheap (docs/drills.md), kept in the
 * manifest's `dump.details` under {@link TABLE_CHECKSUMS_DETAIL} as JSON, `{"<table>":
 * "<algorithm>:<hex>"}`: details are free-form strings, so manifests that carry them stay
 * readable by every version. A drill recomputes each one on the restored table the same way (the
 * engine's scratch probe) and compares.
 */
export const TABLE_CHECKSUMS_DETAIL = 'tableChecksums';

/** Table name → `<algorithm>:<hex>`. */
export type TableChecksums = Readonly<Record<string, string>>;

export function encodeTableChecksums(checksums: TableChecksums): string {
  return JSON.stringify(checksums);
}

/** The checksums a manifest's `dump.details` holds; none when it has none, or holds something else there. */
export function tableChecksumsOf(details: Readonly<Record<string, string>> | undefined): TableChecksums | undefined {
  const text = details?.[TABLE_CHECKSUMS_DETAIL];
  if (text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    const entries = Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && /^[\w-]+:[0-9a-f]+$/.test(entry[1]));
    return entries.length > 0 ? Object.fromEntries(entries) : undefined;
  } catch {
    return undefined;
  }
}
