import { IntegrityError } from '../../../errors.js';
import { decodeBase64, encodeBase64 } from './base64.js';
import { constantTimeEqual, hkdfSha256, hmacSha256 } from './primitives.js';

/**
 * The age v1 header (https://age-encryption.org/v1, "Header"):
 *
 *     age-encryption.org/v1
 *     -> TYPE arg1 arg2
 *     <body: unpadded base64, 64 columns, the last line always shorter (possibly empty)>
 *     --- <base64 HMAC-SHA256 of everything up to and including "---">
 *
 * Parsing is strict: every encoding has exactly one accepted form, so the bytes that were MACed
 * are the bytes that were parsed.
 */
export interface Stanza {
  readonly type: string;
  readonly args: readonly string[];
  readonly body: Buffer;
}

export interface ParsedHeader {
  readonly stanzas: readonly Stanza[];
  readonly mac: Buffer;
  /** The header bytes the MAC covers: up to and including the `---` of the MAC line. */
  readonly macInput: Buffer;
}

export const INTRO = 'age-encryption.org/v1\n';
const MAC_PREFIX = '---';
const STANZA_PREFIX = '->';
const COLUMNS = 64;
const MAC_BYTES = 32;
/** A stanza argument: one or more visible ASCII characters (VCHAR). */
const ARGUMENT = /^[\x21-\x7e]+$/;
const INTRO_BYTES = Buffer.from(INTRO, 'latin1');
const MAC_LINE_START = Buffer.from('\n---', 'latin1');

export function headerMacKey(fileKey: Uint8Array): Buffer {
  return hkdfSha256(fileKey, Buffer.alloc(0), 'header');
}

/** The complete header, MAC line included, for `stanzas` under `fileKey`. */
export function encodeHeader(stanzas: readonly Stanza[], fileKey: Uint8Array): Buffer {
  let text = INTRO;
  for (const stanza of stanzas) {
    text += `${[STANZA_PREFIX, stanza.type, ...stanza.args].join(' ')}\n`;
    const body = encodeBase64(stanza.body);
    // Full lines of 64 columns, then a final shorter one: empty when the body fills its last line.
    for (let at = 0; at <= body.length; at += COLUMNS) text += `${body.slice(at, at + COLUMNS)}\n`;
  }
  text += MAC_PREFIX;
  const macInput = Buffer.from(text, 'latin1');
  const mac = hmacSha256(headerMacKey(fileKey), macInput);
  return Buffer.concat([macInput, Buffer.from(` ${encodeBase64(mac)}\n`, 'latin1')]);
}

/**
 * Where the header in `bytes` ends (the offset just past the newline of the MAC line), or -1 when
 * `bytes` does not hold the whole header yet. The MAC line is the first line that starts with
 * `---`: stanza lines start with `->` and body lines are base64, which has no `-`.
 */
export function findHeaderEnd(bytes: Buffer): number {
  const macLine = bytes.indexOf(MAC_LINE_START);
  if (macLine === -1) return -1;
  const newline = bytes.indexOf(0x0a, macLine + MAC_LINE_START.length);
  return newline === -1 ? -1 : newline + 1;
}

/** Whether `bytes` (the start of a file) can still be the start of an age v1 header. */
export function couldBeHeaderStart(bytes: Buffer): boolean {
  const length = Math.min(bytes.length, INTRO_BYTES.length);
  return bytes.subarray(0, length).equals(INTRO_BYTES.subarray(0, length));
}

/** Parses a complete header, exactly the bytes up to and including the MAC line's newline. */
export function parseHeader(bytes: Buffer): ParsedHeader {
  const text = bytes.toString('latin1');
  if (!text.startsWith(INTRO)) throw notAnAgeFile(text);
  if (!text.endsWith('\n')) throw invalidHeader('it does not end with a newline');
  const lines = text.slice(0, -1).split('\n');
  const stanzas: Stanza[] = [];
  let offset = INTRO.length;
  let index = 1;
  for (;;) {
    const line = lines[index];
    if (line === undefined) throw invalidHeader('it has no MAC line');
    if (line.startsWith(MAC_PREFIX)) {
      if (index !== lines.length - 1) throw invalidHeader('data follows the MAC line');
      const [prefix, encodedMac, ...extra] = line.split(' ');
      const mac = encodedMac === undefined ? undefined : decodeBase64(encodedMac);
      if (prefix !== MAC_PREFIX || extra.length > 0 || mac?.length !== MAC_BYTES) throw invalidHeader('malformed MAC line');
      if (stanzas.length === 0) throw invalidHeader('it has no recipient stanza');
      return { stanzas, mac, macInput: bytes.subarray(0, offset + MAC_PREFIX.length) };
    }
    const [prefix, ...args] = line.split(' ');
    const [type, ...stanzaArgs] = args;
    if (prefix !== STANZA_PREFIX || type === undefined || !args.every((arg) => ARGUMENT.test(arg))) {
      throw invalidHeader(`malformed stanza line ${index + 1}`);
    }
    offset += line.length + 1;
    index++;
    const body: Buffer[] = [];
    for (;;) {
      const bodyLine = lines[index];
      if (bodyLine === undefined) throw invalidHeader(`stanza "${type}" has no final short body line`);
      const decoded = bodyLine.length > COLUMNS ? undefined : decodeBase64(bodyLine);
      if (decoded === undefined) throw invalidHeader(`malformed body line ${index + 1} of stanza "${type}"`);
      body.push(decoded);
      offset += bodyLine.length + 1;
      index++;
      if (bodyLine.length < COLUMNS) break;
    }
    stanzas.push({ type, args: stanzaArgs, body: Buffer.concat(body) });
  }
}

/** Whether the header's MAC is right for `fileKey`. */
export function headerMacMatches(header: ParsedHeader, fileKey: Uint8Array): boolean {
  return constantTimeEqual(hmacSha256(headerMacKey(fileKey), header.macInput), header.mac);
}

export function invalidHeader(reason: string): IntegrityError {
  return new IntegrityError(`invalid age header: ${reason}: the backup object is damaged or not an age file`);
}

function notAnAgeFile(text: string): IntegrityError {
  if (text.startsWith('-----BEGIN AGE ENCRYPTED FILE-----')) {
    return new IntegrityError('armored (PEM) age files are not supported: decode it to binary with `age -d` first');
  }
  if (text.startsWith('age-encryption.org/')) {
    return new IntegrityError('unsupported age format version: only age-encryption.org/v1 is supported');
  }
  return new IntegrityError('not an age v1 encrypted file: the backup object is damaged or was not encrypted with age');
}

/** The error for a stream whose start cannot be an age header. */
export function notAnAgeFileError(start: Buffer): IntegrityError {
  return notAnAgeFile(start.toString('latin1'));
}
