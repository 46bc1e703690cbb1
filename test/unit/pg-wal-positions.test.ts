/** WAL positions and segment names (pg-wal-positions.ts), and the tar watcher a physical base reads its position from. */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatLsn, parseLsn, parseSegmentSize, plainSegmentName, segmentNameOf, segmentStart } from '../../core/adapters/engines/postgres/pg-wal-positions.js';
import { TarMemberWatcher, looksLikeTar } from '../../core/adapters/engines/postgres/pg-tar-members.js';

const MB = 1024 * 1024;

describe('WAL positions', () => {
  it('names the segment of an LSN as the server does (pg_walfile_name), for 16 MB and 1 MB segments', () => {
    expect(segmentNameOf(parseLsn('0/3000060'), 1, 16 * MB)).toBe('000000010000000000000003');
    expect(segmentNameOf(parseLsn('1/A2000000'), 2, 16 * MB)).toBe('0000000200000001000000A2');
    expect(segmentNameOf(parseLsn('0/D00010'), 1, MB)).toBe('00000001000000000000000D');
    expect(segmentNameOf(parseLsn('2/FFFFFFFF'), 1, MB)).toBe('000000010000000200000FFF');
  });

  it('reads a segment name back into its start and timeline, partial or not', () => {
    expect(segmentStart('0000000200000001000000A2', 16 * MB)).toEqual({ timeline: 2, lsn: parseLsn('1/A2000000'), partial: false });
    expect(segmentStart('00000001000000000000000D.partial', MB)).toEqual({ timeline: 1, lsn: parseLsn('0/D00000'), partial: true });
    expect(segmentStart('00000002.history', MB)).toBeUndefined();
    expect(plainSegmentName('00000001000000000000000D.partial')).toBe('00000001000000000000000D');
  });

  it('formats LSNs in upper-case hex without leading zeros, and reads segment sizes', () => {
    expect(formatLsn(parseLsn('0/0300a0'))).toBe('0/300A0');
    expect(() => parseLsn('3000060')).toThrow(RangeError);
    expect(parseSegmentSize('16MB')).toBe(16 * MB);
    expect(parseSegmentSize('1048576')).toBe(MB);
  });
});

function tarHeader(name: string, size: number): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 'latin1');
  block.write(size.toString(8).padStart(11, '0'), 124, 'latin1');
  block.write('0', 156, 'latin1');
  block.write('ustar\u000000', 257, 'latin1');
  return block;
}

function member(name: string, body: string): Buffer {
  const data = Buffer.from(body);
  return Buffer.concat([tarHeader(name, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

describe('TarMemberWatcher', () => {
  it('keeps the wanted members whatever the chunking, and passes every byte through unchanged', async () => {
    const tar = Buffer.concat([member('PG_VERSION', '15\n'), member('backup_label', 'START WAL LOCATION: 0/2000028\n'), member('base/1/1259', 'x'.repeat(1500)), member('backup_manifest', '{"WAL-Ranges": []}'), Buffer.alloc(1024)]);
    expect(looksLikeTar(tar)).toBe(true);
    for (const size of [1, 7, 512, 700, tar.length]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < tar.length; i += size) chunks.push(tar.subarray(i, i + size));
      const watcher = new TarMemberWatcher(new Set(['backup_label', 'backup_manifest']));
      const out: Buffer[] = [];
      await pipeline(Readable.from(chunks), watcher, new Writable({ write: (chunk: Buffer, _e, cb) => (out.push(chunk), cb()) }));
      expect(Buffer.concat(out).equals(tar)).toBe(true);
      expect(watcher.member('backup_label')).toBe('START WAL LOCATION: 0/2000028\n');
      expect(watcher.member('backup_manifest')).toBe('{"WAL-Ranges": []}');
      expect(watcher.member('PG_VERSION')).toBeUndefined();
    }
  });
});
