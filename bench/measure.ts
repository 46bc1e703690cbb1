/**
 * Runs one command and measures it: wall time, and for every process of its tree the peak RSS
 * (VmHWM from /proc, polled every 50 ms: VmHWM only grows, so the last sample is within 50 ms
 * of the process's true peak) and CPU time. When GNU time is installed the command runs under
 * `/usr/bin/time`, which adds the exact CPU time of the whole tree.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface ProcessFigures {
  /** Peak RSS in KiB (the largest of all processes with this name). */
  peakRssKb: number;
  /** CPU time in ms (summed over processes with this name; may miss each one's last 50 ms). */
  cpuMs: number;
  count: number;
}

export interface Measurement {
  wallMs: number;
  exitCode: number | null;
  stdout: string;
  stderrTail: string;
  /** The process under test: `node` (vaultra) or `bash` (the shell pipeline). */
  main?: ProcessFigures & { name: string };
  /** Its descendants by process name: pg_dump, zstd, psql, pg_restore… */
  children: Record<string, ProcessFigures>;
  /** From GNU time: exact user+system CPU of the whole tree, in seconds. */
  treeCpu?: { userS: number; sysS: number };
}

const TIME = '/usr/bin/time';
export const hasGnuTime = existsSync(TIME);
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
const POLL_MS = 50;

interface Sample {
  name: string;
  depth: number;
  hwmKb: number;
  cpuTicks: number;
}

export async function measure(command: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd: string; timeFile: string; timeoutMs?: number }): Promise<Measurement> {
  const argv = hasGnuTime ? [TIME, '-f', '%U %S', '-o', options.timeFile, '--', command, ...args] : [command, ...args];
  const started = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  current = child.pid;
  const samples = new Map<number, Sample>();
  const rootPid = child.pid!;
  // Under GNU time the process under test is time's child (depth 1); else the spawned process itself.
  const mainDepth = hasGnuTime ? 1 : 0;
  const poll = () => sampleTree(rootPid, samples);
  poll();
  const timer = setInterval(poll, POLL_MS);
  const out: Buffer[] = [];
  let err = Buffer.alloc(0);
  child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => {
    err = Buffer.concat([err, chunk]);
    if (err.length > 16384) err = err.subarray(err.length - 8192);
  });
  const killer = options.timeoutMs ? setTimeout(() => killGroup(rootPid), options.timeoutMs) : undefined;
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  const wallMs = performance.now() - started;
  clearInterval(timer);
  clearTimeout(killer);
  current = undefined;

  const children: Record<string, ProcessFigures> = {};
  let main: Measurement['main'];
  for (const sample of samples.values()) {
    if (sample.depth < mainDepth) continue;
    const figures = { peakRssKb: sample.hwmKb, cpuMs: (sample.cpuTicks * 1000) / CLK_TCK, count: 1 };
    if (sample.depth === mainDepth && !main) {
      main = { name: sample.name, ...figures };
      continue;
    }
    const seen = children[sample.name];
    if (!seen) children[sample.name] = figures;
    else {
      seen.peakRssKb = Math.max(seen.peakRssKb, figures.peakRssKb);
      seen.cpuMs += figures.cpuMs;
      seen.count++;
    }
  }
  let treeCpu: Measurement['treeCpu'];
  if (hasGnuTime && existsSync(options.timeFile)) {
    const [user, sys] = readFileSync(options.timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
    if (Number.isFinite(user) && Number.isFinite(sys)) treeCpu = { userS: user!, sysS: sys! };
    rmSync(options.timeFile, { force: true });
  }
  return { wallMs, exitCode, stdout: Buffer.concat(out).toString('utf8'), stderrTail: err.toString('utf8').trim(), main, children, treeCpu };
}

let current: number | undefined;

/** Kills the command being measured (its whole process group), if any: for Ctrl-C. */
export function killCurrent(): void {
  if (current) killGroup(current);
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    // gone
  }
}

/** One pass over /proc: the tree under `root` (this kernel has no /proc/<pid>/task/<tid>/children). */
function sampleTree(root: number, samples: Map<number, Sample>): void {
  const parents = new Map<number, number[]>();
  const stats = new Map<number, { name: string; cpuTicks: number }>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(')');
    const name = stat.slice(stat.indexOf('(') + 1, close);
    // Fields after the name: state ppid … utime (14th field overall) stime (15th).
    const fields = stat.slice(close + 2).split(' ');
    const ppid = Number(fields[1]);
    stats.set(pid, { name, cpuTicks: Number(fields[11]) + Number(fields[12]) });
    const list = parents.get(ppid);
    if (list) list.push(pid);
    else parents.set(ppid, [pid]);
  }
  const walk = (pid: number, depth: number) => {
    const stat = stats.get(pid);
    if (!stat) return;
    const hwmKb = readHwm(pid);
    const previous = samples.get(pid);
    if (previous && previous.name === stat.name) {
      previous.hwmKb = Math.max(previous.hwmKb, hwmKb);
      previous.cpuTicks = Math.max(previous.cpuTicks, stat.cpuTicks);
    } else {
      // First sight, or the pid exec'd into another program (runuser, time, bash -c …).
      samples.set(pid, { name: stat.name, depth, hwmKb, cpuTicks: stat.cpuTicks });
    }
    for (const kid of parents.get(pid) ?? []) walk(kid, depth + 1);
  };
  walk(root, 0);
}

function readHwm(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(join('/proc', String(pid), 'status'), 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}
