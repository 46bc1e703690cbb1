/** Small helpers shared by the benchmark driver and its engine modules. */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

/** Bytes as MB, one decimal below 100 MB. */
export function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(bytes < 100 * 1024 * 1024 ? 1 : 0);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The first line of `command --version` (or of other args), or `missing`. */
export function toolLine(command: string, args: string[] = ['--version']): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return result.status === 0 ? (result.stdout || result.stderr).trim().split('\n')[0]!.trim() : 'missing';
}

export function onPath(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v '${tool}'`]).status === 0;
}

/**
 * Runs a command to completion; resolves with its stdout, rejects with the last lines of its
 * stderr. For setup and checks, never for timed commands (those go through measure()).
 */
export function capture(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; what?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8').trim());
      else reject(new Error(`${options.what ?? command} failed (exit ${code}): ${Buffer.concat(err).toString('utf8').trim().split('\n').slice(-3).join(' | ')}`));
    });
    child.stdin.on('error', () => undefined); // a child that exits early fails on its own
    child.stdin.end(options.input ?? '');
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not read the bound port'))));
    });
  });
}

/** The uid/gid of a system user, from /etc/passwd. */
export function idOf(user: string): { uid: number; gid: number } | undefined {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === user) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  return undefined;
}

/** Single-quoted for bash. */
export function sq(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
