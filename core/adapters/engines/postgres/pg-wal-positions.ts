/**
 * WAL positions (LSNs) and segment file names. A segment file is named
 * `<timeline><log id><segment>` (8 hex digits each); which LSNs it holds depends on the
 * server's `wal_segment_size` (16 MB unless initdb was told otherwise), so every conversion
 * takes it.
 */

/** A WAL segment file name, optionally as pg_receivewal names the segment it is still writing. */
export const SEGMENT_FILE = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})(\.partial)?$/;

/** A timeline history file (`00000002.history`): a recovery needs it to follow a promotion. */
export const HISTORY_FILE = /^([0-9A-F]{8})\.history$/;

const FOUR_GB = 0x1_0000_0000n;

export function parseLsn(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn.trim());
  if (!m) throw new RangeError(`not a WAL position: ${lsn.slice(0, 40)}`);
  return (BigInt(`0x${m[1]!}`) << 32n) | BigInt(`0x${m[2]!}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffff_ffffn).toString(16).toUpperCase()}`;
}

/** The name of the segment holding `lsn` on `timeline`. */
export function segmentNameOf(lsn: bigint, timeline: number, segmentBytes: number): string {
  const segno = lsn / BigInt(segmentBytes);
  const perId = FOUR_GB / BigInt(segmentBytes);
  return [BigInt(timeline), segno / perId, segno % perId].map((n) => n.toString(16).toUpperCase().padStart(8, '0')).join('');
}

/** Where a segment starts, and its timeline; `undefined` for a name that is not a segment's. */
export function segmentStart(name: string, segmentBytes: number): { readonly timeline: number; readonly lsn: bigint; readonly partial: boolean } | undefined {
  const m = SEGMENT_FILE.exec(name);
  if (!m) return undefined;
  const perId = FOUR_GB / BigInt(segmentBytes);
  const segno = BigInt(`0x${m[2]!}`) * perId + BigInt(`0x${m[3]!}`);
  return { timeline: Number.parseInt(m[1]!, 16), lsn: segno * BigInt(segmentBytes), partial: m[4] !== undefined };
}

/** The segment name without pg_receivewal's `.partial`: the name a recovering server asks for. */
export function plainSegmentName(name: string): string {
  return name.replace(/\.partial$/, '');
}

/** `16MB`, `1GB`, `1048576` (SHOW wal_segment_size, or pg_settings' bytes) as bytes. */
export function parseSegmentSize(shown: string): number {
  const m = /^(\d+)\s*(kB|MB|GB)?$/.exec(shown.trim());
  if (!m) throw new RangeError(`not a WAL segment size: ${shown.slice(0, 40)}`);
  const unit = m[2] === 'kB' ? 1024 : m[2] === 'MB' ? 1024 ** 2 : m[2] === 'GB' ? 1024 ** 3 : 1;
  return Number(m[1]) * unit;
}
