/**
 * The base64 age uses everywhere in its header: standard alphabet, no padding, canonical only.
 * Node's decoder is lenient (padding, whitespace, stray characters, non-zero trailing bits),
 * so decoding re-encodes and compares: any string that is not the one canonical encoding of
 * its bytes is rejected, which keeps the header free of malleability.
 */
const UNPADDED_STD_BASE64 = /^[A-Za-z0-9+/]*$/;

export function encodeBase64(bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x3d /* = */) end--;
  return text.slice(0, end);
}

/** The bytes `text` encodes, or `undefined` when it is not canonical unpadded standard base64. */
export function decodeBase64(text: string): Buffer | undefined {
  if (text.length % 4 === 1 || !UNPADDED_STD_BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return encodeBase64(bytes) === text ? bytes : undefined;
}
