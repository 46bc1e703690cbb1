import { KeyError } from '../../errors.js';

/**
 * An ECDSA signature in IEEE P1363 form (r ‖ s, fixed width: what Key Vault and JOSE return) as
 * DER `SEQUENCE { INTEGER r, INTEGER s }` (what AWS KMS, Cloud KMS and openssl use, and what
 * signature files hold). Only P-256 sizes occur, so every length fits DER's short form.
 */
export function p1363ToDer(signature: Uint8Array, componentBytes = 32): Buffer {
  if (signature.length !== componentBytes * 2) throw new KeyError(`an ECDSA P-256 signature is ${componentBytes * 2} bytes (r ‖ s), got ${signature.length}`);
  const r = derInteger(signature.subarray(0, componentBytes));
  const s = derInteger(signature.subarray(componentBytes));
  return Buffer.concat([Buffer.from([0x30, r.length + s.length]), r, s]);
}

/** A non-negative big-endian integer as DER: no leading zero bytes, one 0x00 when the top bit is set. */
function derInteger(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = Buffer.from(bytes.subarray(start));
  const body = trimmed[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
  return Buffer.concat([Buffer.from([0x02, body.length]), body]);
}
