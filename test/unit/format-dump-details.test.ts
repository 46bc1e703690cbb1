import { describe, expect, it } from 'vitest';
import { encodeTableChecksums } from '../../core/domain/table-checksums.js';
import { formatDumpDetails } from '../../runner/format.js';

describe('formatDumpDetails (the "details" line of backup and show)', () => {
  it('prints details as key: value, and summarises per-table checksums instead of printing their JSON', () => {
    const details = { snapshotLsn: '0/1A2B3C', tableChecksums: encodeTableChecksums({ orders: 'sha3-256:0a1b', items: 'sha3-256:2c3d' }) };
    expect(formatDumpDetails(details)).toBe('snapshotLsn: 0/1A2B3C; sha3-256 checksums of 2 table(s)');
  });

  it('prints nothing without details, and an unreadable checksum detail as it is', () => {
    expect(formatDumpDetails(undefined)).toBeUndefined();
    expect(formatDumpDetails({})).toBeUndefined();
    expect(formatDumpDetails({ tableChecksums: 'not json' })).toBe('tableChecksums: not json');
  });
});
