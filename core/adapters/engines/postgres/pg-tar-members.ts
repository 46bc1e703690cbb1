import { Transform, type TransformCallback } from 'node:stream';

const BLOCK = 512;

/**
 * A pass-through stage that watches a tar stream go by and keeps the contents of a few named
 * top-level members (pg_basebackup's `backup_label` and `backup_manifest`), so a backup learns
 * where it sits in the WAL without reading the archive twice. Only the last `keepBytes` of a
 * member are kept (the manifest lists every file; its WAL range is at its end). Understands the
 * ustar headers PostgreSQL writes, plus pax/GNU headers (skipped); never alters a byte.
 */
export class TarMemberWatcher extends Transform {
  private readonly found = new Map<string, Buffer>();
  private header = Buffer.alloc(0);
  /** Bytes of the current member's data (and padding) still to pass before the next header. */
  private skip = 0;
  private dataLeft = 0;
  private current: string | undefined;

  constructor(
    private readonly wanted: ReadonlySet<string>,
    private readonly keepBytes = 256 * 1024,
  ) {
    super();
  }

  /** The kept contents of a wanted member, once the stream ended. */
  member(name: string): string | undefined {
    return this.found.get(name)?.toString('utf8');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.skip > 0) {
        const take = Math.min(this.skip, chunk.length - offset);
        const dataTake = Math.min(take, this.dataLeft);
        if (this.current && dataTake > 0) this.keep(this.current, chunk.subarray(offset, offset + dataTake));
        this.dataLeft -= dataTake;
        this.skip -= take;
        offset += take;
        continue;
      }
      const need = BLOCK - this.header.length;
      this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + need)]);
      offset += Math.min(need, chunk.length - offset);
      if (this.header.length === BLOCK) this.readHeader();
    }
    callback(null, chunk);
  }

  private readHeader(): void {
    const block = this.header;
    this.header = Buffer.alloc(0);
    if (block.every((b) => b === 0)) return; // end-of-archive blocks
    const field = (from: number, length: number) => block.subarray(from, from + length).toString('latin1').replace(/\0.*$/s, '');
    const name = [field(345, 155), field(0, 100)].filter(Boolean).join('/').replace(/^\.\//, '');
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    this.current = (type === '0' || type === '') && this.wanted.has(name) ? name : undefined;
    if (this.current) this.found.set(this.current, Buffer.alloc(0));
    this.dataLeft = size;
    this.skip = Math.ceil(size / BLOCK) * BLOCK;
  }

  private keep(name: string, bytes: Buffer): void {
    const kept = Buffer.concat([this.found.get(name) ?? Buffer.alloc(0), bytes]);
    this.found.set(name, kept.length > this.keepBytes ? kept.subarray(kept.length - this.keepBytes) : kept);
  }
}

/** Whether a block is a tar header (ustar magic at offset 257): how a restore tells a physical base from a pg_dump archive. */
export function looksLikeTar(firstBlock: Buffer): boolean {
  return firstBlock.length >= 262 && firstBlock.subarray(257, 262).toString('latin1') === 'ustar';
}

/** Whether the bytes start a pg_dump custom-format archive. */
export function looksLikePgDump(firstBytes: Buffer): boolean {
  return firstBytes.subarray(0, 5).toString('latin1') === 'PGDMP';
}
