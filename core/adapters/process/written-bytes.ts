import { readFileSync } from 'node:fs';

/**
 * How many bytes a process has written so far, from Linux's `/proc/<pid>/io` (`wchar`): the
 * progress of a dump tool writing straight into zstd, bytes Node never sees. `undefined` where the
 * platform cannot tell — no such file (macOS, Windows, a `/proc` mounted with `hidepid`) — or
 * when `VAULTRA_PROC_PROGRESS=0` turns the reading off (so the fallback is testable on Linux).
 * Callers then show the bytes they count themselves.
 */
export function bytesWrittenBy(pid: number | undefined, env: NodeJS.ProcessEnv = process.env): number | undefined {
  if (pid === undefined || env.VAULTRA_PROC_PROGRESS === '0') return undefined;
  try {
    const written = /^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1];
    return written === undefined ? undefined : Number(written);
  } catch {
    return undefined;
  }
}
