import path from 'node:path';
import { AWS_FUNCTION_ENV, INLINE_RUNNER_PATH } from '../../../core/platform/aws-deployment.js';
import { LambdaInlineLauncher } from '../../../core/adapters/launchers/lambda-inline-launcher.js';
import { resolveAwsSecret } from '../../../core/adapters/secrets/aws-secret-resolve.js';
import { TOOLS_LAYER_BIN, toolsLayerEnvironment } from '../../../core/platform/tools-layer.js';

/** The runner's variable that carries the dedup key (infra/aws/dedup-key.ts sets it on ECS). */
const DEDUP_KEY_VARIABLE = 'VAULTRA_DEDUP_KEY';

/**
 * The inline launcher of a deployed inline function: the runner bundle beside the handler, the
 * layer's tools, and the dedup key read once per instance from its secret (the function's role
 * may read it; on Fargate the execution role does and ECS injects it). Without the secret's ARN
 * (an environment deployed before inline runs) the runner falls back as it does anywhere.
 */
export async function inlineLauncherFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<LambdaInlineLauncher> {
  const secretArn = env[AWS_FUNCTION_ENV.dedupKeySecretArn];
  const dedupKey = secretArn ? await resolveAwsSecret(`secret+aws://${secretArn}`) : undefined;
  return new LambdaInlineLauncher({
    runnerPath: path.join(env.LAMBDA_TASK_ROOT ?? '/var/task', INLINE_RUNNER_PATH),
    toolsBinDir: TOOLS_LAYER_BIN,
    // The layer's own needs besides PATH: libmariadb's plugins, a CA bundle where Lambda keeps it.
    functionEnvironment: { ...env, ...toolsLayerEnvironment(env) },
    ...(dedupKey ? { injectedEnvironment: { [DEDUP_KEY_VARIABLE]: dedupKey } } : {}),
  });
}
