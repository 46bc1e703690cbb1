/**
 * A throwaway moto server (`moto[server]` from PyPI, installed by scripts/setup-aws.sh): S3
 * (versioning, Object Lock, checksums), DynamoDB, KMS, Secrets Manager, SNS and more, in one
 * in-memory process on 127.0.0.1 and a free port. Clients point their endpoint at `endpoint`
 * with any credentials.
 */
import { fileURLToPath } from 'node:url';
import { which } from './exec.js';
import { answersHttp, startEmulator } from './emulator-process.js';
import { freePort } from './postgres-server.js';

export interface MotoConnection {
  /** `http://127.0.0.1:<port>`: the endpoint for every AWS client. */
  readonly endpoint: string;
  readonly region: string;
  /** Credentials moto accepts (any); also set as AWS_* in `env`. */
  readonly env: Readonly<Record<string, string>>;
}

export interface MotoServer extends MotoConnection {
  stop(): Promise<void>;
}

export interface StartMotoOptions {
  /**
   * Start moto through moto-cfn-fidelity.py, which closes two gaps of moto's CloudFormation that
   * `cdk deploy` of the Vaultra stack runs into (no AWS::SecretsManager::Secret; every KMS key
   * made symmetric). @default false
   */
  readonly cloudFormationFixes?: boolean;
}

/** moto-cfn-fidelity.py, run by the python3 moto is installed for. */
const CFN_FIDELITY_SHIM = fileURLToPath(new URL('./moto-cfn-fidelity.py', import.meta.url));

export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const command = which('moto_server');
  if (!command) throw new Error('moto_server not found on PATH; run scripts/setup-system.sh (scripts/setup-aws.sh installs moto[server])');
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const listen = ['-H', '127.0.0.1', '-p', String(port)];
  const emulator = await startEmulator({
    name: 'moto',
    ...(options.cloudFormationFixes ? { command: 'python3', args: () => [CFN_FIDELITY_SHIM, ...listen] } : { command, args: () => listen }),
    ready: answersHttp(`${endpoint}/moto-api/`),
  });
  const region = 'us-east-1';
  const env = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: region, AWS_ENDPOINT_URL: endpoint };
  return { endpoint, region, env, stop: () => emulator.stop() };
}
