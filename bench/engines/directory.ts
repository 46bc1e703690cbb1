/**
 * Directories (`dir:`): a generated tree of many files of mixed sizes — mostly small ones
 * (configs, sources), some medium, a few large — each either compressible text or random
 * bytes (already-compressed media), spread over two levels of folders, with an empty folder
 * and a symbolic link. Sizes and kinds come from a seeded generator, so every size's tree has
 * the same shape.
 *
 *   shell backup    tar --create <Vaultra's flags> -C dir . | zstd -3 -T0 -q > file
 *   shell restore   mkdir t && zstd -d -c file | tar --extract <Vaultra's flags> -C t
 *
 * Both sides get the flags Vaultra gives GNU tar (imported from tar-tool.ts and directory-restore.ts)
 * and LC_ALL=C (tar-tool.ts), so the comparison is Vaultra's own overhead. The trees (and the
 * restores) live in /dev/shm when it has room (see treesFolder); the dump files and Vaultra's
 * store stay in the work folder, as for the other engines.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statfsSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tarExtractFlags } from '../../core/adapters/engines/directory/directory-restore.js';
import { TAR_CREATE_FLAGS } from '../../core/adapters/engines/directory/tar-tool.js';
import { log, mb, sq, toolLine } from '../support.js';
import type { BenchEngine, Dataset, EngineHost } from './engine.js';

const CREATE_FLAGS = TAR_CREATE_FLAGS.map(sq);
// A default restore: no --preserve-special, so the archived owners are not restored.
const EXTRACT_FLAGS = tarExtractFlags({ root: process.getuid?.() === 0, preserveSpecial: false, restoreOwners: false }).map(sq);

export const directoryEngine: BenchEngine = {
  name: 'directory',
  title: 'directory',
  defaultSizeMb: 512,
  sizeMeaning: 'file bytes',
  tools: ['tar'],
  targets: { backup: 1.2, restore: 1.2 },
  async start(work: string, plan: { readonly sizesMb: readonly number[] }): Promise<EngineHost> {
    const tar = toolLine('tar');
    if (!/GNU tar/.test(tar)) throw new Error(`the tar on PATH is not GNU tar (${tar})`);
    // Both data sets, and two restores of the larger one, with room to spare.
    const needed = (plan.sizesMb.reduce((a, b) => a + b, 0) + 2 * Math.max(...plan.sizesMb)) * 1024 * 1024 * 1.5;
    const base = treesFolder(work, needed);
    const path = (name: string) => join(base, name);
    return {
      serverVersion: `${fsType(base)} at ${base}`,
      versions: { tar },
      pipelines: {
        backup: 'tar --create --format=posix … . | zstd -3 -T0 > file',
        vaultraBackup: 'walk (contents list) + tar → zstd -3 -T0 → age → file://',
        restore: 'mkdir && zstd -d -c file | tar --extract …',
        vaultraRestore: 'sha256 → age -d → zstd -d | tar --extract (kernel pipe) into a temp folder → size check → rename',
      },
      env: () => ({ ...process.env }),
      async generate(name: string, targetMb: number): Promise<Dataset> {
        const stats = generateTree(path(name), targetMb * 1024 * 1024);
        return { name, bytes: stats.bytes, fingerprint: fingerprint(path(name)) };
      },
      sourceUrl: (dataset) => `dir:${path(dataset.name)}`,
      targetUrl: (target) => `dir:${path(target)}`,
      shellBackup: (dataset, file) => `LC_ALL=C tar ${CREATE_FLAGS.join(' ')} --directory=${sq(path(dataset.name))} . | zstd -3 -T0 -q > ${sq(file)}`,
      shellRestore: (_dataset, file, target) => `mkdir ${sq(path(target))} && zstd -d -c ${sq(file)} | LC_ALL=C tar ${EXTRACT_FLAGS.join(' ')} --directory=${sq(path(target))}`,
      fingerprint: async (target) => fingerprint(path(target)),
      async drop(target: string) {
        rmSync(path(target), { recursive: true, force: true });
      },
      async settle() {
        spawnSync('sync');
      },
      keep: () => `trees in ${base}`,
      async stop() {
        rmSync(base, { recursive: true, force: true });
      },
    };
  },
};

// ---------------------------------------------------------------------------------------------

/**
 * Where the trees live: in RAM (/dev/shm) when it is a tmpfs with room, else in `work`. On the
 * shared machines' ext4 volume (mounted with `discard`) the kernel time of extracting the same
 * archive grows from one round to the next (1.4 → 4.5 s of sys time over 7 rounds of
 * extract + rm -rf + sync), which swamps the pipeline under test; the PostgreSQL and MariaDB
 * servers run without fsync for the same reason: this measures CPU and pipes, not the disk.
 */
function treesFolder(work: string, neededBytes: number): string {
  const shm = '/dev/shm';
  try {
    const stats = statfsSync(shm);
    if (fsType(shm) === 'tmpfs' && stats.bavail * stats.bsize > neededBytes) return mkdtempSync(join(shm, 'vaultra-bench-trees-'));
  } catch {
    // no /dev/shm: use the work folder
  }
  const base = join(work, 'trees');
  mkdirSync(base);
  return base;
}

function fsType(path: string): string {
  return spawnSync('stat', ['-f', '-c', '%T', path], { encoding: 'utf8' }).stdout.trim() || 'unknown';
}

/** mulberry32: a small seeded generator, so every run (and size) builds the same kind of tree. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['alpha', 'bravo', 'shipping', 'invoice', 'customer', 'priority', 'standard', 'express', 'return', 'warehouse', 'discount', 'payment', 'pending', 'review', 'account', 'delivery', 'support', 'order', 'refund', 'update'];

/** 4 MB of log-like text, to cut text files from (each at its own offset). */
function textPool(random: () => number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < 4 * 1024 * 1024; i++) {
    const pick = () => WORDS[Math.floor(random() * WORDS.length)]!;
    const line = `2026-11-${String(1 + (i % 28)).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00Z ${pick()} ${pick()} id=${Math.floor(random() * 1e9)} ${pick()} ${pick()} ${pick()} took=${Math.floor(random() * 5000)}ms\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join(''));
}

/**
 * Fills `root` with about `targetBytes` of files: 80% small (256 B–8 KB), 18% medium (8–128
 * KB), 2% large (128 KB–2 MB) by count (about 9/33/58% by bytes), random content for 10/40/50%
 * of them; 40 files per folder, 20 folders per top-level folder.
 */
function generateTree(root: string, targetBytes: number): { files: number; bytes: number } {
  const random = prng(20261122);
  const pool = textPool(random);
  mkdirSync(root);
  let files = 0;
  let bytes = 0;
  let shown = 0;
  let folder = '';
  const between = (lo: number, hi: number) => Math.floor(lo + random() * (hi - lo));
  while (bytes < targetBytes) {
    if (files % 40 === 0) {
      const top = join(root, `d${String(Math.floor(files / 800)).padStart(3, '0')}`);
      folder = join(top, `s${String(Math.floor(files / 40) % 20).padStart(2, '0')}`);
      mkdirSync(folder, { recursive: true });
    }
    const roll = random();
    const [size, randomShare] = roll < 0.8 ? [between(256, 8 * 1024), 0.1] : roll < 0.98 ? [between(8 * 1024, 128 * 1024), 0.4] : [between(128 * 1024, 2 * 1024 * 1024), 0.5];
    let content: Buffer;
    if (random() < randomShare) content = randomBytes(size);
    else {
      const header = Buffer.from(`# file ${files}\n`);
      const start = between(0, pool.length - size);
      content = Buffer.concat([header, pool.subarray(start, start + Math.max(0, size - header.length))]);
    }
    writeFileSync(join(folder, `f${String(files).padStart(6, '0')}.${content[0] === 0x23 ? 'log' : 'bin'}`), content);
    files++;
    bytes += content.length;
    if (bytes - shown > targetBytes / 4) {
      log(`  ${root.split('/').at(-1)}: ${mb(bytes)} MB, ${files} files`);
      shown = bytes;
    }
  }
  mkdirSync(join(root, 'empty'));
  symlinkSync('d000/s00', join(root, 'latest'));
  return { files, bytes };
}

/** Files, folders, links and bytes of a tree, and one digest over every path, mode, link target and content. */
function fingerprint(root: string): Record<string, number | string> {
  const hash = createHash('sha256');
  const counts = { files: 0, folders: 0, symlinks: 0, bytes: 0 };
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      const path = rel ? `${rel}/${name}` : name;
      const info = lstatSync(full);
      hash.update(`${path}\0${info.mode}\0`);
      if (info.isSymbolicLink()) {
        counts.symlinks++;
        hash.update(readlinkSync(full));
      } else if (info.isDirectory()) {
        counts.folders++;
        walk(full, path);
      } else {
        counts.files++;
        counts.bytes += info.size;
        hash.update(readFileSync(full));
      }
    }
  };
  walk(root, '');
  return { ...counts, digest: hash.digest('hex').slice(0, 16) };
}
