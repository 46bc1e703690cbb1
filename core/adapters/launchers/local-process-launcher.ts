import { spawn } from 'node:child_process';
import { TASK_RUN_ENV, type JobLauncher, type LaunchedTask, type LaunchRequest } from '../../ports/job-launcher.js';
import { LaunchFailedError } from '../../errors.js';

export interface LocalTaskExit {
  readonly taskId: string;
  readonly job: string;
  readonly runId: string;
  readonly exitCode: number | undefined;
  /** `signal SIGKILL` when the process was killed. */
  readonly stoppedReason?: string;
  readonly stoppedAt: string;
  /** The runner's stdout (its `--json` result) and stderr, for logs. */
  readonly stdout: string;
  readonly stderr: string;
}

export interface LocalProcessLauncherOptions {
  /** The runner's entry, e.g. `dist/vaultra.mjs`. */
  readonly runnerPath: string;
  /** The runner's environment besides each request's own (credentials, PATH). */
  readonly baseEnvironment?: NodeJS.ProcessEnv;
  /** Called when a task ends, as the platform's task-stopped event would be. */
  readonly onExit?: (exit: LocalTaskExit) => void;
}

/**
 * Runs the runner as a local child process: the launcher of a laptop or a single VM, and the
 * stand-in for Fargate in the end-to-end test. It starts the very command line a container
 * would get and reports the exit the way the platform does.
 */
export class LocalProcessLauncher implements JobLauncher {
  private readonly exits = new Map<string, Promise<LocalTaskExit>>();
  private sequence = 0;

  constructor(private readonly options: LocalProcessLauncherOptions) {}

  async launch(request: LaunchRequest): Promise<LaunchedTask> {
    const taskId = `local:${process.pid}:${++this.sequence}`;
    const child = spawn(process.execPath, [this.options.runnerPath, ...request.command], {
      env: { ...(this.options.baseEnvironment ?? process.env), ...request.environment, [TASK_RUN_ENV.job]: request.job, [TASK_RUN_ENV.runId]: request.runId },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const started = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) => reject(new LaunchFailedError(`cannot start the runner: ${error.message}`, false, { cause: error })));
    });
    const exit = new Promise<LocalTaskExit>((resolve) => {
      child.once('close', (code, signal) => {
        const result: LocalTaskExit = {
          taskId,
          job: request.job,
          runId: request.runId,
          exitCode: code ?? undefined,
          ...(signal ? { stoppedReason: `signal ${signal}` } : {}),
          stoppedAt: new Date().toISOString(),
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
        };
        this.options.onExit?.(result);
        resolve(result);
      });
    });
    this.exits.set(taskId, exit);
    await started;
    return { taskId };
  }

  /** Resolves when the task has ended. */
  completion(taskId: string): Promise<LocalTaskExit> {
    const exit = this.exits.get(taskId);
    if (!exit) throw new Error(`no local task ${taskId}`);
    return exit;
  }
}
