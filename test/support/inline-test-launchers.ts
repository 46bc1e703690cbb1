/**
 * The launchers the inline e2e tests (aws-inline, aws-inline-on-demand) give the inline functions:
 * the real `LambdaInlineLauncher` with the PostgreSQL server's own client tools standing in for
 * the layer, and a recording mock of Fargate's RunTask (no emulator runs ECS tasks).
 */
import { LambdaInlineLauncher } from '../../core/adapters/launchers/lambda-inline-launcher.js';
import type { JobLauncher, LaunchRequest } from '../../core/ports/job-launcher.js';
import { vaultraBin } from './cli.js';
import { testClockEnvironment } from './test-clock.js';

/** The runner as the inline functions start it, its output appended to `onOutput`. */
export function inlineTestLauncher(options: { readonly toolsBinDir: string; readonly home: string; readonly env: Readonly<Record<string, string>>; readonly onOutput: (text: string) => void }): LambdaInlineLauncher {
  return new LambdaInlineLauncher({
    runnerPath: vaultraBin,
    // The layer's stand-in: the server's own client tools, first on PATH as /opt/bin is in Lambda.
    toolsBinDir: options.toolsBinDir,
    scratchDir: options.home,
    functionEnvironment: { ...options.env, PATH: process.env.PATH ?? '', ...testClockEnvironment() },
    output: (_stream, chunk) => options.onOutput(chunk.toString('utf8')),
  });
}

/** Fargate as a recording mock: each RunTask request is pushed to `launches` and answered with a task ARN. */
export function recordingFargateLauncher(launches: LaunchRequest[]): JobLauncher {
  return {
    launch: (request) => {
      launches.push(request);
      return Promise.resolve({ taskId: `arn:aws:ecs:eu-west-1:123456789012:task/vaultra/${launches.length}` });
    },
  };
}
