/**
 * Deterministic text that looks like a `pg_dump` of a table (COPY rows: ids, names, emails,
 * timestamps, amounts, free text), for chunking tests and measurements that need realistic bytes
 * without a server. Same seed, same bytes.
 */
export function dumpText(bytes: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(bytes + 512);
  let state = seed >>> 0 || 1;
  const next = (): number => {
    // xorshift32: fast and reproducible.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima', 'mike', 'november', 'oscar', 'papa', 'quebec', 'romeo', 'sierra', 'tango'];
  let at = out.write('COPY public.orders (id, customer, email, created_at, amount, note) FROM stdin;\n', 0, 'latin1');
  for (let id = 1; at < bytes; id++) {
    const name = `${words[Math.floor(next() * words.length)]}_${Math.floor(next() * 100000)}`;
    const day = 1 + Math.floor(next() * 28);
    const note = Array.from({ length: 2 + Math.floor(next() * 8) }, () => words[Math.floor(next() * words.length)]).join(' ');
    const line = `${id}\t${name}\t${name}@example.com\t2026-0${1 + Math.floor(next() * 9)}-${String(day).padStart(2, '0')} 1${Math.floor(next() * 10)}:${Math.floor(next() * 60)}:00+00\t${(next() * 10000).toFixed(2)}\t${note}\n`;
    at += out.write(line, at, 'latin1');
  }
  return out.subarray(0, bytes);
}
