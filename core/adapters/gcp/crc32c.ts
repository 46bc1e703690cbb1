/**
 * CRC32C (Castagnoli), the checksum Cloud Storage keeps for every object and Cloud KMS uses for
 * its request integrity fields, in the form both expect (big-endian, base64 for Cloud Storage).
 *
 * Why our own: Node 20 has no CRC32C (zlib's `crc32` is the other polynomial, and only from Node
 * 22), and the SDK's byte-at-a-time implementation measured ~90 MiB/s here, a real cost on the
 * upload path. Slicing-by-16 (sixteen 256-entry tables, 16 bytes per step) measured ~800 MiB/s
 * on the same machine: on a 2-core runner the checksum stays well below the cost of encryption.
 */

const POLYNOMIAL = 0x82f63b78; // reflected Castagnoli
const TABLES = buildTables();

function buildTables(): Int32Array {
  const tables = new Int32Array(16 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    tables[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let slice = 1; slice < 16; slice++) {
      const previous = tables[(slice - 1) * 256 + n]!;
      tables[slice * 256 + n] = (previous >>> 8) ^ tables[previous & 0xff]!;
    }
  }
  return tables;
}

/** Continues `crc` (a finished CRC32C value, 0 to start) over `bytes`. */
export function crc32cUpdate(crc: number, bytes: Uint8Array): number {
  const t = TABLES;
  let c = ~crc;
  let i = 0;
  const whole = bytes.length - (bytes.length % 16);
  for (; i < whole; i += 16) {
    const a = (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)) ^ c;
    const b = bytes[i + 4]! | (bytes[i + 5]! << 8) | (bytes[i + 6]! << 16) | (bytes[i + 7]! << 24);
    const d = bytes[i + 8]! | (bytes[i + 9]! << 8) | (bytes[i + 10]! << 16) | (bytes[i + 11]! << 24);
    const e = bytes[i + 12]! | (bytes[i + 13]! << 8) | (bytes[i + 14]! << 16) | (bytes[i + 15]! << 24);
    c =
      t[3840 + (a & 0xff)]! ^ t[3584 + ((a >>> 8) & 0xff)]! ^ t[3328 + ((a >>> 16) & 0xff)]! ^ t[3072 + (a >>> 24)]! ^
      t[2816 + (b & 0xff)]! ^ t[2560 + ((b >>> 8) & 0xff)]! ^ t[2304 + ((b >>> 16) & 0xff)]! ^ t[2048 + (b >>> 24)]! ^
      t[1792 + (d & 0xff)]! ^ t[1536 + ((d >>> 8) & 0xff)]! ^ t[1280 + ((d >>> 16) & 0xff)]! ^ t[1024 + (d >>> 24)]! ^
      t[768 + (e & 0xff)]! ^ t[512 + ((e >>> 8) & 0xff)]! ^ t[256 + ((e >>> 16) & 0xff)]! ^ t[e >>> 24]!;
  }
  for (; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** A running CRC32C over a stream of chunks. */
export class Crc32c {
  #value = 0;

  update(bytes: Uint8Array): this {
    this.#value = crc32cUpdate(this.#value, bytes);
    return this;
  }

  /** The checksum as an unsigned 32-bit integer (what Cloud KMS's `*Crc32c` fields carry). */
  get value(): number {
    return this.#value;
  }

  /** Big-endian, base64: Cloud Storage's `crc32c` metadata and `X-Goog-Hash: crc32c=…` form. */
  toBase64(): string {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(this.#value);
    return bytes.toString('base64');
  }
}

/** CRC32C of one buffer, as an unsigned integer. */
export function crc32c(bytes: Uint8Array): number {
  return crc32cUpdate(0, bytes);
}
