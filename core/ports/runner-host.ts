/** The machine a runner works on: which host it is, and which of its processes are alive. */
export interface RunnerHost {
  readonly hostname: string;
  /** This process: a record naming it on this host is this process's own run, or a dead one's that had the same id. */
  readonly pid: number;
  /** Whether a process with this id exists on this host. Never asked about another host's processes. */
  isAlive(pid: number): boolean;
}
