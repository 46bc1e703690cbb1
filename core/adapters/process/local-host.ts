import { hostname } from 'node:os';
import type { RunnerHost } from '../../ports/runner-host.js';

/**
 * This machine, for telling dead runs from live ones. Liveness is `kill(pid, 0)`: it sends
 * nothing, and fails with ESRCH when no such process exists (EPERM means it exists, as another
 * user's). A pid reused by an unrelated process looks alive: such a run is settled only once
 * that process is gone too.
 */
export function localHost(): RunnerHost {
  return {
    hostname: hostname(),
    pid: process.pid,
    isAlive(pid: number): boolean {
      try {
        process.kill(pid, 0);
        return true;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'EPERM';
      }
    },
  };
}
