/**
 * A throwaway LocalStack (`localstack-core`, installed by scripts/setup-aws.sh into its own
 * Python ≥ 3.12 virtualenv) without Docker: S3 (checksums enforced, Object Lock), KMS (key
 * policies), Secrets Manager, SNS→SQS, STS and more, on 127.0.0.1 and a free port, state under a
 * temp folder. It does not serve DynamoDB, Lambda or ECS here: those stay on moto.
 *
 * The settings are the ones TESTING.md found to work without Docker: hypercorn (the default
 * server binds 0.0.0.0), `OVERRIDE_IN_DOCKER=0` (the sandbox has /.dockerenv), no DNS server, no
 * analytics events, no certificate download. SIGTERM can hang: `stop()` falls back to SIGKILL.
 */
import { existsSync } from 'node:fs';
import { answersHttp, startEmulator } from './emulator-process.js';
import type { MotoConnection } from './moto-server.js';
import { freePort } from './postgres-server.js';

/** Where scripts/setup-aws.sh puts LocalStack's virtualenv (override with VAULTRA_LOCALSTACK_VENV). */
export const LOCALSTACK_VENV = process.env.VAULTRA_LOCALSTACK_VENV ?? '/opt/vaultra/localstack-2026.3.0';

/** LocalStack's default account: the one any non-numeric access key acts in. */
export const LOCALSTACK_ACCOUNT = '000000000000';

/** An AWS emulator's endpoint, region and credentials: the same shape as moto's. */
export type LocalStackConnection = MotoConnection;

export interface LocalStackServer extends LocalStackConnection {
  stop(): Promise<void>;
}

export async function startLocalStack(): Promise<LocalStackServer> {
  const python = `${LOCALSTACK_VENV}/bin/python`;
  if (!existsSync(python)) throw new Error(`LocalStack is not installed at ${LOCALSTACK_VENV}; run scripts/setup-aws.sh`);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const emulator = await startEmulator({
    name: 'localstack',
    command: python,
    args: () => ['-m', 'localstack.runtime.main'],
    env: {
      GATEWAY_LISTEN: `127.0.0.1:${port}`,
      GATEWAY_SERVER: 'hypercorn',
      OVERRIDE_IN_DOCKER: '0',
      DNS_ADDRESS: '0',
      DISABLE_EVENTS: '1',
      SKIP_SSL_CERT_DOWNLOAD: '1',
      // Only what the suites use: fewer providers to load.
      SERVICES: 's3,kms,secretsmanager,sns,sqs,sts,iam',
    },
    // LocalStack keeps its state under FILESYSTEM_ROOT: the emulator's own temp folder.
    filesystemRootVariable: 'FILESYSTEM_ROOT',
    ready: answersHttp(`${endpoint}/_localstack/health`),
  });
  const region = 'us-east-1';
  const env = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: region, AWS_ENDPOINT_URL: endpoint };
  return { endpoint, region, env, stop: () => emulator.stop() };
}
