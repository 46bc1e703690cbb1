import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { TASK_RUN_ENV, type JobLauncher, type LaunchedTask, type LaunchRequest } from '../../ports/job-launcher.js';
import { LaunchFailedError } from '../../errors.js';

export interface LambdaInlineLauncherOptions {
  /** The runner CLI bundle shipped in the function's asset (`/var/task/runner/vaultra.mjs`). */
  readonly runnerPath: string;
  /** The layer's tools, put first on the runner's PATH. @default /opt/bin */
  readonly toolsBinDir?: string;
  /** The only writable place of a Lambda: the runner's HOME and TMPDIR go under it. @default /tmp */
  readonly scratchDir?: string;
  /**
   * The function's own environment (its role's credentials, region, the layer's library path);
   * the launcher drops the function's deployment variables (`VAULTRA_*`) from it. @default process.env
   */
  readonly functionEnvironment?: NodeJS.ProcessEnv;
  /**
   * What the platform would inject into a runner container from a secret (on ECS, the dedup key
   * as `VAULTRA_DEDUP_KEY`): environment, never argv.
   */
  readonly injectedEnvironment?: Readonly<Record<string, string>>;
  /** The Node binary that runs the runner. @default process.execPath (the function's own Node) */
  readonly nodePath?: string;
  /**
   * Where the runner's output goes, chunk by chunk as it comes. @default the function's own
   * stdout and stderr, i.e. its log, as a container's output goes to its log group
   */
  readonly output?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /** Wall clock for the stop time in the task report. @default () => new Date() */
  readonly now?: () => Date;
}

/** How an inline run ended, in the shape of finish-run's `TaskReport` (what an ECS task-stopped event says). */
export interface InlineRunExit {
  readonly job: string;
  readonly runId: string;
  readonly taskId: string;
  readonly exitCode: number | undefined;
  readonly stoppedReason?: string;
  readonly stoppedAt: string;
}

/** The run's grace between SIGTERM (the runner records a failure, aborts uploads) and SIGKILL. */
const TERMINATE_GRACE_MS = 10_000;

/**
 * Runs the runner inside the Lambda function itself (docs/inline-runs.md): the same command line a
 * Fargate task gets, as a child process of the function, with the tools layer first on PATH and
 * HOME and TMPDIR under /tmp. Unlike the container launchers, `launch` resolves only when the run
 * has ENDED: a Lambda is frozen as soon as its handler returns, so the handler must await the run.
 * The runner claims and records the run itself, as on Fargate; `completion` hands the caller the
 * exit (an `InlineRunExit`), to settle the run the way the task-stopped event does.
 * The runner's output goes to the function's log as it comes (`output`). Aborting `signal` (middy, shortly before the Lambda timeout) sends
 * SIGTERM, then SIGKILL after a grace.
 */
export class LambdaInlineLauncher implements JobLauncher {
  private readonly reports = new Map<string, InlineRunExit>();

  constructor(private readonly options: LambdaInlineLauncherOptions) {}

  async launch(request: LaunchRequest, signal?: AbortSignal): Promise<LaunchedTask> {
    // Names the log stream the runner's output went to, and the run.
    const taskId = `inline:${process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? process.pid}:${request.runId}`;
    const child = spawn(this.options.nodePath ?? process.execPath, [this.options.runnerPath, ...request.command], {
      env: this.runnerEnvironment(request),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = this.options.output ?? ((stream, chunk) => process[stream].write(chunk));
    child.stdout.on('data', (chunk: Buffer) => output('stdout', chunk));
    child.stderr.on('data', (chunk: Buffer) => output('stderr', chunk));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', (error) => reject(new LaunchFailedError(`cannot start the inline runner ${this.options.runnerPath}: ${error.message}`, false, { cause: error })));
      child.once('close', (code, stopSignal) => resolve({ code, signal: stopSignal }));
    });
    const stop = () => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), TERMINATE_GRACE_MS).unref();
    };
    signal?.addEventListener('abort', stop, { once: true });
    try {
      const { code, signal: stopSignal } = await exited;
      this.reports.set(taskId, {
        job: request.job,
        runId: request.runId,
        taskId,
        exitCode: code ?? undefined,
        ...stoppedReasonOf(stopSignal, signal?.aborted ?? false),
        stoppedAt: (this.options.now ?? (() => new Date()))().toISOString(),
      });
    } finally {
      signal?.removeEventListener('abort', stop);
    }
    return { taskId };
  }

  /** How the run of `taskId` ended; defined once `launch` has resolved. */
  completion(taskId: string): InlineRunExit {
    const report = this.reports.get(taskId);
    if (!report) throw new Error(`no inline run ${taskId} has ended`);
    this.reports.delete(taskId);
    return report;
  }

  /** The tools' folder first, once (Lambda's own PATH lists /opt/bin last). */
  private pathWithToolsFirst(path: string | undefined): string {
    const tools = this.options.toolsBinDir ?? '/opt/bin';
    return [tools, ...(path ?? '').split(':').filter((dir) => dir !== '' && dir !== tools)].join(':');
  }

  private runnerEnvironment(request: LaunchRequest): NodeJS.ProcessEnv {
    const scratch = this.options.scratchDir ?? '/tmp';
    const home = path.join(scratch, 'vaultra-home');
    const tmp = path.join(scratch, 'vaultra-tmp');
    for (const folder of [home, tmp]) mkdirSync(folder, { recursive: true, mode: 0o700 });
    const inherited = Object.fromEntries(Object.entries(this.options.functionEnvironment ?? process.env).filter(([name]) => !name.startsWith('VAULTRA_')));
    return {
      ...inherited,
      PATH: this.pathWithToolsFirst(inherited.PATH),
      HOME: home,
      TMPDIR: tmp,
      XDG_CONFIG_HOME: path.join(home, '.config'),
      XDG_STATE_HOME: path.join(home, '.state'),
      NO_COLOR: '1',
      ...this.options.injectedEnvironment,
      ...request.environment,
      [TASK_RUN_ENV.job]: request.job,
      [TASK_RUN_ENV.runId]: request.runId,
    };
  }
}

/** Why a run stopped, when it did not simply exit: the invocation's end, or a signal from elsewhere. */
function stoppedReasonOf(stopSignal: NodeJS.Signals | null, aborted: boolean): { stoppedReason?: string } {
  if (aborted) return { stoppedReason: 'stopped: the Lambda invocation was about to time out' };
  return stopSignal ? { stoppedReason: `killed by ${stopSignal}` } : {};
}
