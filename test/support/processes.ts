import { readdirSync, readFileSync } from 'node:fs';

/** One process as /proc (Linux) shows it. */
export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  readonly argv: readonly string[];
  /** Start time in clock ticks since boot: with the pid, identifies one process for good. */
  readonly startTime: string;
}

/** The process, or undefined when it has exited or is a zombie (gone, for our purposes). */
export function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    if (fields[0] === 'Z') return undefined;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { pid, ppid: Number(fields[1]), comm: stat.slice(stat.indexOf('(') + 1, close), argv, startTime: fields[19] ?? '' };
  } catch {
    return undefined; // exited while we looked
  }
}

export function processTable(): ProcessInfo[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProcess(Number(name)))
    .filter((p): p is ProcessInfo => p !== undefined);
}

/** Every live descendant of `root`. */
export function descendantsOf(root: number, table = processTable()): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  const parents = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of table) {
      if (parents.has(p.ppid) && !parents.has(p.pid)) {
        parents.add(p.pid);
        found.push(p);
        grew = true;
      }
    }
  }
  return found;
}

/** Still the same process (pid reuse cannot fool it: the start time must match too). */
export function stillRunning(p: ProcessInfo): boolean {
  return readProcess(p.pid)?.startTime === p.startTime;
}

/** The dump itself, not `pg_dump --version`. */
export function isRunningDump(p: ProcessInfo): boolean {
  return p.comm === 'pg_dump' && p.argv.includes('--format=custom');
}

/** Bytes a process has written so far (`wchar` of /proc/<pid>/io). */
export function bytesWritten(pid: number): number {
  try {
    return Number(/wchar:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
