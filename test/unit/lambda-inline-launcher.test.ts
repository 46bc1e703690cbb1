/**
 * The inline launcher with a real child process: a stand-in runner script that reports the
 * argv and environment it was given, or waits to be stopped.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LambdaInlineLauncher } from '../../core/adapters/launchers/lambda-inline-launcher.js';

describe('LambdaInlineLauncher', () => {
  let dir = '';
  let reporter = '';
  let sleeper = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-inline-launcher-'));
    reporter = join(dir, 'report.mjs');
    await writeFile(reporter, 'process.stdout.write(JSON.stringify({ argv: process.argv.slice(2), env: process.env }));\n');
    sleeper = join(dir, 'sleep.mjs');
    await writeFile(sleeper, "process.on('SIGTERM', () => { process.stderr.write('terminated'); process.exit(143); }); setInterval(() => {}, 1000);\n");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const request = { job: 'shop', runId: '20261204T030000.000Z-abcdef', command: ['backup', '--spec', '{"source":"secret+aws://x"}'], environment: { VAULTRA_CATALOG: 'dynamodb://t?region=eu-west-1' } };

  it('awaits the run, gives the runner the tools first on PATH (once, though Lambda lists them last), HOME and TMPDIR under the scratch folder, and drops the function\'s own VAULTRA_ variables', async () => {
    let stdout = '';
    const launcher = new LambdaInlineLauncher({
      runnerPath: reporter,
      toolsBinDir: '/opt/bin',
      scratchDir: dir,
      functionEnvironment: { PATH: '/usr/bin:/opt/bin', AWS_REGION: 'eu-west-1', VAULTRA_CONFIG_JSON: '{"big":true}' },
      injectedEnvironment: { VAULTRA_DEDUP_KEY: 'k'.repeat(64) },
      output: (stream, chunk) => {
        if (stream === 'stdout') stdout += chunk.toString('utf8');
      },
    });
    const { taskId } = await launcher.launch(request);
    // Resolved only once the run ended: the report is there at once.
    expect(launcher.completion(taskId)).toMatchObject({ job: 'shop', runId: request.runId, taskId, exitCode: 0 });
    const seen = JSON.parse(stdout) as { argv: string[]; env: Record<string, string> };
    expect(seen.argv).toEqual(request.command);
    expect(seen.env).toMatchObject({
      PATH: '/opt/bin:/usr/bin',
      HOME: join(dir, 'vaultra-home'),
      TMPDIR: join(dir, 'vaultra-tmp'),
      AWS_REGION: 'eu-west-1',
      VAULTRA_DEDUP_KEY: 'k'.repeat(64),
      VAULTRA_CATALOG: request.environment.VAULTRA_CATALOG,
      VAULTRA_JOB: 'shop',
      VAULTRA_RUN_ID: request.runId,
    });
    expect(seen.env.VAULTRA_CONFIG_JSON).toBeUndefined();
  });

  it('stops the runner with SIGTERM when the invocation is about to time out, and reports why', async () => {
    let stderr = '';
    const launcher = new LambdaInlineLauncher({ runnerPath: sleeper, scratchDir: dir, functionEnvironment: { PATH: process.env.PATH ?? '' }, output: (_stream, chunk) => (stderr += chunk.toString('utf8')) });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const { taskId } = await launcher.launch(request, controller.signal);
    expect(launcher.completion(taskId)).toMatchObject({ exitCode: 143, stoppedReason: 'stopped: the Lambda invocation was about to time out' });
    expect(stderr).toBe('terminated');
  });

  it('refuses to start a runner that is not there, as a launch failure', async () => {
    const launcher = new LambdaInlineLauncher({ runnerPath: join(dir, 'missing.mjs'), nodePath: join(dir, 'no-node'), scratchDir: dir, functionEnvironment: {} });
    await expect(launcher.launch(request)).rejects.toThrow(/cannot start the inline runner/);
  });
});
