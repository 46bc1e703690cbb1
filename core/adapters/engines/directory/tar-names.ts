/**
 * File names as bytes. A POSIX file name is any byte string without `/` and NUL, so names are
 * read as Buffers (never decoded on the way to `lstat`), and shown as text only at the edge:
 * valid UTF-8 as is, anything else in tar's own `escape` style. The two spellings are the same
 * function of the bytes, whether the name came from `readdir` or from a `tar --list`.
 */

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A name as text: UTF-8 when it is valid UTF-8, else tar's escape style (`bad\377name`). */
export function displayName(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return escapeBytes(bytes);
  }
}

/** tar's `escape` quoting style in the C locale: printable ASCII as is, `\\`, `\n`…, else `\ooo`. */
export function escapeBytes(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) {
    const named = NAMED_ESCAPES[byte];
    if (named) text += `\\${named}`;
    else if (byte >= 0x20 && byte < 0x7f) text += String.fromCharCode(byte);
    else text += `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return text;
}

const NAMED_ESCAPES: Record<number, string> = { 0x5c: '\\', 0x07: 'a', 0x08: 'b', 0x0c: 'f', 0x0a: 'n', 0x0d: 'r', 0x09: 't', 0x0b: 'v' };
const UNESCAPES: Record<string, number> = { '\\': 0x5c, a: 0x07, b: 0x08, f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09, v: 0x0b };

/**
 * The bytes of a name as `LC_ALL=C tar --list` prints it (`--quoting-style=escape`, the
 * default): `\\`, `\n`, `\t`…, and `\ooo` for every other non-printable byte (all bytes ≥ 0x80
 * in the C locale), so one member is one line whatever its name holds.
 */
export function unescapeTarName(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char !== 0x5c || i + 1 >= text.length) {
      bytes.push(char & 0xff);
      continue;
    }
    const next = text[i + 1]!;
    const octal = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4))?.[0];
    if (octal) {
      bytes.push(parseInt(octal, 8) & 0xff);
      i += octal.length;
    } else if (next in UNESCAPES) {
      bytes.push(UNESCAPES[next]!);
      i += 1;
    } else {
      bytes.push(0x5c);
    }
  }
  return Buffer.from(bytes);
}

/** The path components of a member name (`./a/b/` → `['a', 'b']`), as bytes. */
export function componentsOf(member: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= member.length; i++) {
    if (i === member.length || member[i] === 0x2f) {
      const part = member.subarray(start, i);
      if (part.length > 0 && !(part.length === 1 && part[0] === 0x2e)) parts.push(part);
      start = i + 1;
    }
  }
  return parts;
}

/** Whether extracting a member of this name would write outside the folder it is extracted in. */
export function escapesRoot(member: Buffer): boolean {
  return member[0] === 0x2f || componentsOf(member).some((part) => part.length === 2 && part[0] === 0x2e && part[1] === 0x2e);
}
