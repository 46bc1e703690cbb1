/**
 * Run by {@link measureStorageMemory} in a fresh Node process: puts `<size> MiB` of generated
 * data into the storage URL through the adapter's `put`, reads it back with `get`, deletes it,
 * and prints peak RSS (VmHWM, kept by the kernel: nothing is missed between samples) and
 * throughput as one JSON line. Usage: `node probe.mjs <storage-url> <size-MiB>`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { openStorage } from '../../core/adapters/storage/storage-registry.js';

const MiB = 1024 * 1024;
const statusMiB = (field: string): number => Number(/\d+/.exec(readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(`${field}:`))!)![0]) / 1024;

const [url, size] = process.argv.slice(2);
const sizeBytes = Number(size) * MiB;
const storage = await openStorage(url!);
const template = randomBytes(MiB);
let sent = 0;
const body = new Readable({
  read() {
    if (sent >= sizeBytes) return void this.push(null);
    const chunk = Buffer.from(template); // a fresh buffer each time: a stream must not reuse what it pushed
    chunk.writeUInt32LE(sent / MiB, 0);
    sent += chunk.length;
    this.push(chunk);
  },
});
const baselineMiB = statusMiB('VmRSS');
let started = performance.now();
await storage.put('object', body);
const uploadSeconds = (performance.now() - started) / 1000;
const uploadPeakMiB = statusMiB('VmHWM') - baselineMiB;
started = performance.now();
let read = 0;
for await (const chunk of await storage.get('object')) read += (chunk as Buffer).length;
const readSeconds = (performance.now() - started) / 1000;
if (read !== sizeBytes) throw new Error(`read ${read} of ${sizeBytes} bytes`);
await storage.delete('object');
const r = (x: number) => Math.round(x);
console.log(JSON.stringify({ baselineMiB: r(baselineMiB), uploadPeakMiB: r(uploadPeakMiB), readPeakMiB: r(statusMiB('VmHWM') - baselineMiB), uploadMiBps: r(Number(size) / uploadSeconds), readMiBps: r(Number(size) / readSeconds) }));
