/**
 * Peak RSS of a multi-gigabyte streamed upload through `S3StorageBackend.put` (and, against the
 * sink, of a download through `get`: parallel ranged reads emitted in order), at several sizes:
 * it must stay flat as the size grows (memory is part size × parts in flight, not object size).
 *
 * The data is generated (1 MiB chunks, fresh buffers, each one different), not dumped from a
 * database. Each size runs in its own Node process so every figure is that upload's own peak
 * (`maxRSS` from getrusage, plus RSS and ArrayBuffer memory sampled every 50 ms).
 *
 * Targets (`--target`):
 * - `sink` (default): a local S3-compatible *counting sink* in a separate process. It speaks
 *   the multipart API, checks every part's `x-amz-checksum-sha256` (400 BadDigest on a
 *   mismatch), computes the composite checksum on completion and answers HEAD, but discards the
 *   bytes. Used because moto keeps objects in memory and joins all parts into one in-memory
 *   buffer on CompleteMultipartUpload (several GiB of Python memory for a 3 GiB object).
 * - `moto`: the same uploads into a throwaway moto server, reporting moto's own peak RSS too.
 *
 *   npx esbuild bench/s3-upload-rss.ts --bundle --platform=node --format=esm --target=node20 \
 *     --outfile=dist/s3-upload-rss.mjs \
 *     "--banner:js=import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
 *   node dist/s3-upload-rss.mjs [--sizes 1,3] [--target sink|moto]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { S3StorageBackend } from '../core/adapters/storage/s3/s3-storage.js';
import { freePort, log, mb, onPath, sleep } from './support.js';

const GiB = 1024 ** 3;
const CHUNK_BYTES = 1024 * 1024;
const CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

interface UploadFigures {
  bytes: number;
  seconds: number;
  maxRssBytes: number;
  sampledRssBytes: number;
  sampledArrayBuffersBytes: number;
  sampledHeapUsedBytes: number;
  baselineRssBytes: number;
  /** Sampled peak RSS so far, each time another GiB has been read from the generator. */
  peakRssByGiB: number[];
}

/** `sizeBytes` of generated data: fresh 1 MiB buffers, each stamped with its index. */
function generated(sizeBytes: number, onGiB: () => void = () => undefined): Readable {
  const template = randomBytes(CHUNK_BYTES);
  let sent = 0;
  let index = 0;
  return new Readable({
    highWaterMark: CHUNK_BYTES,
    read() {
      if (sent >= sizeBytes) {
        this.push(null);
        return;
      }
      const size = Math.min(CHUNK_BYTES, sizeBytes - sent);
      const chunk = Buffer.allocUnsafe(size);
      template.copy(chunk, 0, 0, size);
      chunk.writeUInt32BE(index++ >>> 0, 0);
      sent += size;
      if (sent % GiB === 0) onGiB();
      this.push(chunk);
    },
  });
}

/** Child mode: one upload, figures as JSON on stdout. */
async function uploadOnce(endpoint: string, sizeBytes: number): Promise<void> {
  const baselineRssBytes = process.memoryUsage.rss();
  let sampledRssBytes = baselineRssBytes;
  let sampledArrayBuffersBytes = 0;
  let sampledHeapUsedBytes = 0;
  const timer = setInterval(() => {
    const usage = process.memoryUsage();
    sampledRssBytes = Math.max(sampledRssBytes, usage.rss);
    sampledArrayBuffersBytes = Math.max(sampledArrayBuffersBytes, usage.arrayBuffers);
    sampledHeapUsedBytes = Math.max(sampledHeapUsedBytes, usage.heapUsed);
  }, 50);
  const bucket = `bench-${Date.now().toString(36)}`;
  const admin = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: CREDENTIALS });
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  admin.destroy();
  const storage = S3StorageBackend.fromUrl(`s3://${bucket}/bench?endpoint=${encodeURIComponent(endpoint)}`, { credentials: CREDENTIALS, env: {} });
  const started = performance.now();
  const peakRssByGiB: number[] = [];
  const { sizeBytes: stored } = await storage.put(
    'generated.bin',
    generated(sizeBytes, () => peakRssByGiB.push(sampledRssBytes)),
  );
  const seconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  storage.client.destroy();
  const figures: UploadFigures = {
    bytes: stored,
    seconds,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    sampledRssBytes,
    sampledArrayBuffersBytes,
    sampledHeapUsedBytes,
    baselineRssBytes,
    peakRssByGiB,
  };
  process.stdout.write(JSON.stringify(figures) + '\n');
}

/** Child mode: one download through `get` (parallel ranges), hashed as restore does, figures as JSON. */
async function downloadOnce(endpoint: string, sizeBytes: number): Promise<void> {
  const baselineRssBytes = process.memoryUsage.rss();
  let sampledRssBytes = baselineRssBytes;
  let sampledArrayBuffersBytes = 0;
  let sampledHeapUsedBytes = 0;
  const timer = setInterval(() => {
    const usage = process.memoryUsage();
    sampledRssBytes = Math.max(sampledRssBytes, usage.rss);
    sampledArrayBuffersBytes = Math.max(sampledArrayBuffersBytes, usage.arrayBuffers);
    sampledHeapUsedBytes = Math.max(sampledHeapUsedBytes, usage.heapUsed);
  }, 50);
  const storage = S3StorageBackend.fromUrl(`s3://bench/bench?endpoint=${encodeURIComponent(endpoint)}`, { credentials: CREDENTIALS, env: {} });
  const started = performance.now();
  const hash = createHash('sha256');
  const peakRssByGiB: number[] = [];
  let read = 0;
  for await (const chunk of await storage.get(`served-${sizeBytes}`)) {
    hash.update(chunk as Buffer);
    const before = read;
    read += (chunk as Buffer).length;
    if (Math.floor(read / GiB) > Math.floor(before / GiB)) peakRssByGiB.push(sampledRssBytes);
  }
  hash.digest();
  const seconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  storage.client.destroy();
  const figures: UploadFigures = {
    bytes: read,
    seconds,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    sampledRssBytes,
    sampledArrayBuffersBytes,
    sampledHeapUsedBytes,
    baselineRssBytes,
    peakRssByGiB,
  };
  process.stdout.write(JSON.stringify(figures) + '\n');
}

/** Child mode: the counting sink. Prints its port, serves until killed. */
async function serveSink(port: number): Promise<void> {
  interface Upload {
    digests: Map<number, Buffer>;
    sizes: Map<number, number>;
    metadata: Record<string, string>;
  }
  const uploads = new Map<string, Upload>();
  const objects = new Map<string, { size: number; etag: string; checksum: string; metadata: Record<string, string> }>();
  let nextId = 1;
  const xml = (res: ServerResponse, body: string) => {
    res.writeHead(200, { 'content-type': 'application/xml' });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
  };
  const fail = (res: ServerResponse, status: number, code: string) => {
    res.writeHead(status, { 'content-type': 'application/xml' });
    res.end(`<Error><Code>${code}</Code><Message>${code}</Message></Error>`);
  };
  /** Hashes and counts a request body without keeping it. */
  const digestBody = (req: IncomingMessage) =>
    new Promise<{ digest: Buffer; size: number }>((resolve, reject) => {
      const hash = createHash('sha256');
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        size += chunk.length;
      });
      req.on('end', () => resolve({ digest: hash.digest(), size }));
      req.on('error', reject);
    });
  const metadataOf = (req: IncomingMessage) =>
    Object.fromEntries(Object.entries(req.headers).filter(([name]) => name.startsWith('x-amz-meta-')).map(([name, value]) => [name, String(value)]));

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://sink');
      const [, bucket = '', ...rest] = url.pathname.split('/');
      const key = `${bucket}/${decodeURIComponent(rest.join('/'))}`;
      const q = url.searchParams;
      if (req.method === 'PUT' && rest.join('') === '') return xml(res, '');
      if (req.method === 'POST' && q.has('uploads')) {
        const id = String(nextId++);
        uploads.set(id, { digests: new Map(), sizes: new Map(), metadata: metadataOf(req) });
        req.resume();
        return xml(res, `<InitiateMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${rest.join('/')}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
      }
      if (req.method === 'PUT' && q.has('partNumber')) {
        const upload = uploads.get(q.get('uploadId') ?? '');
        if (!upload) return fail(res, 404, 'NoSuchUpload');
        const { digest, size } = await digestBody(req);
        const claimed = req.headers['x-amz-checksum-sha256'];
        if (claimed !== digest.toString('base64')) return fail(res, 400, 'BadDigest');
        upload.digests.set(Number(q.get('partNumber')), digest);
        upload.sizes.set(Number(q.get('partNumber')), size);
        res.writeHead(200, { etag: `"${digest.toString('hex').slice(0, 32)}"`, 'x-amz-checksum-sha256': claimed });
        return res.end();
      }
      if (req.method === 'POST' && q.has('uploadId')) {
        const upload = uploads.get(q.get('uploadId') ?? '');
        req.resume();
        if (!upload) return fail(res, 404, 'NoSuchUpload');
        const numbers = [...upload.digests.keys()].sort((a, b) => a - b);
        const composite = createHash('sha256');
        for (const n of numbers) composite.update(upload.digests.get(n)!);
        const checksum = `${composite.digest('base64')}-${numbers.length}`;
        const size = numbers.reduce((sum, n) => sum + upload.sizes.get(n)!, 0);
        const etag = `"sink-${numbers.length}"`;
        objects.set(key, { size, etag, checksum, metadata: upload.metadata });
        uploads.delete(q.get('uploadId')!);
        return xml(res, `<CompleteMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${rest.join('/')}</Key><ETag>${etag}</ETag><ChecksumSHA256>${checksum}</ChecksumSHA256></CompleteMultipartUploadResult>`);
      }
      if (req.method === 'PUT') {
        const { digest, size } = await digestBody(req);
        const checksum = digest.toString('base64');
        if (req.headers['x-amz-checksum-sha256'] !== checksum) return fail(res, 400, 'BadDigest');
        objects.set(key, { size, etag: `"${digest.toString('hex').slice(0, 32)}"`, checksum, metadata: metadataOf(req) });
        res.writeHead(200, { etag: objects.get(key)!.etag, 'x-amz-checksum-sha256': checksum });
        return res.end();
      }
      const served = /\/served-(\d+)$/.exec(key);
      if (served && (req.method === 'HEAD' || req.method === 'GET')) return serveGenerated(req, res, Number(served[1]));
      if (req.method === 'HEAD') {
        const object = objects.get(key);
        if (!object) {
          res.writeHead(404);
          return res.end();
        }
        res.writeHead(200, { 'content-length': object.size, etag: object.etag, 'x-amz-checksum-sha256': object.checksum, ...object.metadata });
        return res.end();
      }
      if (req.method === 'DELETE') {
        uploads.delete(q.get('uploadId') ?? '');
        objects.delete(key);
        res.writeHead(204);
        return res.end();
      }
      if (req.method === 'GET' && q.has('uploads')) return xml(res, `<ListMultipartUploadsResult><Bucket>${bucket}</Bucket></ListMultipartUploadsResult>`);
      fail(res, 501, 'NotImplemented');
    })().catch(() => res.destroy());
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  process.stdout.write(`listening ${port}\n`);
}

/** Any byte range of a generated object (no checksum: the reader's memory is what is measured). */
async function serveGenerated(req: IncomingMessage, res: ServerResponse, sizeBytes: number): Promise<void> {
  req.resume();
  const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
  const start = range ? Number(range[1]) : 0;
  const end = range ? Math.min(Number(range[2]) + 1, sizeBytes) : sizeBytes;
  const headers = { 'content-length': end - start, etag: '"served"', 'accept-ranges': 'bytes' };
  if (req.method === 'HEAD') {
    res.writeHead(200, headers);
    return void res.end();
  }
  res.writeHead(range ? 206 : 200, range ? { ...headers, 'content-range': `bytes ${start}-${end - 1}/${sizeBytes}` } : headers);
  const template = servedTemplate();
  for (let offset = start; offset < end; ) {
    const from = offset % template.length;
    const slice = template.subarray(from, from + Math.min(end - offset, template.length - from));
    offset += slice.length;
    if (!res.write(slice)) await new Promise((resolve) => res.once('drain', resolve));
  }
  res.end();
}

let template: Buffer | undefined;
function servedTemplate(): Buffer {
  return (template ??= randomBytes(CHUNK_BYTES));
}

/** Peak RSS (VmHWM) of a process, in bytes. */
function peakRssOf(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

function self(args: string[]): ChildProcess {
  return spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
}

function output(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(Buffer.concat(out).toString('utf8')) : reject(new Error(`upload process exited ${code}`))));
  });
}

async function startTarget(target: string): Promise<{ endpoint: string; pid: number; stop(): void }> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child =
    target === 'moto'
      ? spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'ignore'] })
      : self(['--serve-sink', String(port)]);
  for (let i = 0; i < 200; i++) {
    const up = await fetch(`${endpoint}/`, { method: 'HEAD' }).then(
      () => true,
      () => false,
    );
    if (up) return { endpoint, pid: child.pid!, stop: () => child.kill('SIGTERM') };
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`${target} did not start on ${endpoint}`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  if (flag('--serve-sink')) return serveSink(Number(flag('--serve-sink')));
  if (flag('--upload')) return uploadOnce(flag('--endpoint')!, Number(flag('--upload')));
  if (flag('--download')) return downloadOnce(flag('--endpoint')!, Number(flag('--download')));

  const target = flag('--target') ?? 'sink';
  if (target !== 'sink' && target !== 'moto') throw new Error('--target is sink or moto');
  if (target === 'moto' && !onPath('moto_server')) throw new Error('moto_server is not on PATH (scripts/setup-aws.sh)');
  const sizes = (flag('--sizes') ?? '1,3').split(',').map(Number);
  log(`S3StorageBackend.put of generated data into ${target}, sizes ${sizes.join(', ')} GiB, one process per size`);
  const rows: string[] = [];
  const peaks: Record<string, number[]> = { put: [], get: [] };
  const timelines: string[] = [];
  // moto serves no generated objects: downloads are measured against the sink only.
  const operations = target === 'sink' ? (['put', 'get'] as const) : (['put'] as const);
  for (const operation of operations) {
    for (const gib of sizes) {
      const server = await startTarget(target);
      try {
        const mode = operation === 'put' ? '--upload' : '--download';
        const figures = JSON.parse(await output(self([mode, String(Math.round(gib * GiB)), '--endpoint', server.endpoint]))) as UploadFigures;
        const serverPeak = peakRssOf(server.pid);
        peaks[operation]!.push(figures.maxRssBytes);
        timelines.push(`${operation} ${gib} GiB, peak RSS so far after each GiB: ${figures.peakRssByGiB.map((bytes) => `${mb(bytes)} MB`).join(', ')}`);
        rows.push(
          [
            operation,
            `${gib} GiB`,
            `${(figures.bytes / figures.seconds / 1024 / 1024).toFixed(0)} MiB/s`,
            `${mb(figures.maxRssBytes)} MB`,
            `${mb(figures.sampledRssBytes)} MB`,
            `${mb(figures.sampledArrayBuffersBytes)} MB`,
            `${mb(figures.sampledHeapUsedBytes)} MB`,
            `${mb(figures.baselineRssBytes)} MB`,
            `${mb(serverPeak)} MB`,
          ].join('\t'),
        );
      } finally {
        server.stop();
      }
    }
  }
  process.stdout.write(['op\tsize\tthroughput\tpeak RSS (getrusage)\tpeak RSS (sampled)\tpeak ArrayBuffers\tpeak JS heap used\tRSS at start\ttarget server peak RSS', ...rows].join('\n') + '\n');
  process.stdout.write(timelines.join('\n') + '\n');
  for (const operation of operations) {
    const list = peaks[operation]!;
    if (list.length > 1) process.stdout.write(`${operation}: peak RSS ratio, largest / smallest size: ${(list[list.length - 1]! / list[0]!).toFixed(3)}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
