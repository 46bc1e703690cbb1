import { describe, expect, it } from 'vitest';
import { contentsFromListing } from '../../core/adapters/engines/volume/volume-contents.js';
import { demuxAttachStream } from '../../core/adapters/docker/docker-stream-demux.js';
import { PassThrough } from 'node:stream';
import { text } from 'node:stream/consumers';

const listing = (...records: string[]) => Buffer.concat(records.map((r) => Buffer.from(`${r}\0`, 'latin1')));

describe('contentsFromListing', () => {
  it('lists top-level entries as dir: does: files and bytes beneath, hard links once, sorted by name bytes', () => {
    const contents = contentsFromListing(
      listing('d 4096 10 data', 'f 100 11 data/a.bin', 'f 100 11 data/hard.bin', 'f 5 12 data/sub/b', 'd 4096 13 data/sub', 'l 9 14 current', 'f 3 15 Zfile', 'd 4096 16 empty', 'f 0 17 name with spaces'),
    );
    expect(contents).toEqual([
      { kind: 'file', name: 'Zfile', files: 1, bytes: 3 },
      { kind: 'symlink', name: 'current', files: 0, bytes: 0 },
      { kind: 'directory', name: 'data', files: 2, bytes: 105 },
      { kind: 'directory', name: 'empty', files: 0, bytes: 0 },
      { kind: 'file', name: 'name with spaces', files: 1, bytes: 0 },
    ]);
  });

  it('shows a non-UTF-8 name in tar\'s escape style', () => {
    const record = Buffer.concat([Buffer.from('f 1 2 bad'), Buffer.from([0xff]), Buffer.from('name\0')]);
    expect(contentsFromListing(record)).toEqual([{ kind: 'file', name: 'bad\\377name', files: 1, bytes: 1 }]);
  });
});

describe('demuxAttachStream', () => {
  it('splits Docker\'s multiplexed frames into stdout and stderr, across chunk boundaries', async () => {
    const frame = (kind: number, payload: string) => Buffer.concat([Buffer.from([kind, 0, 0, 0]), sizeOf(payload), Buffer.from(payload)]);
    const wire = Buffer.concat([frame(1, 'hello '), frame(2, 'warning'), frame(1, 'world')]);
    const attach = new PassThrough();
    const { stdout, stderr } = demuxAttachStream(attach);
    for (let at = 0; at < wire.length; at += 5) attach.write(wire.subarray(at, at + 5));
    attach.end();
    expect(await Promise.all([text(stdout), text(stderr)])).toEqual(['hello world', 'warning']);
  });
});

function sizeOf(payload: string): Buffer {
  const size = Buffer.alloc(4);
  size.writeUInt32BE(Buffer.byteLength(payload));
  return size;
}
