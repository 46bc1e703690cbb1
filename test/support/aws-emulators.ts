/**
 * The AWS emulators the S3, KMS, Secrets Manager and SNS contract suites run on, each with what
 * it is known to prove or not. A suite runs once per emulator (`describe.each(eachAwsEmulator())`)
 * and branches only where an emulator's behaviour differs, naming which one proves what.
 *
 * DynamoDB, ECS, Lambda and CloudFormation stay on moto: LocalStack does not serve them here
 * (DynamoDB needs a download, Lambda a Docker executor, ECS the paid tier).
 */
import type { MotoConnection } from './moto-server.js';
import { requireLocalStack, requireMoto } from './requirements.js';

export interface AwsEmulator {
  readonly name: 'moto' | 'LocalStack';
  /** The run's server, or `undefined` after registering the skip (locally) or failure (CI). */
  readonly require: () => MotoConnection | undefined;
  /** The default account of its plain credentials. */
  readonly account: string;
  /** Refuses an UploadPart/PutObject whose `x-amz-checksum-sha256` does not match the bytes (S3's BadDigest); moto stores them. */
  readonly verifiesChecksums: boolean;
  /**
   * Refuses a caller from another account the use of a key, as AWS does with the default key
   * policy (only the owning account is trusted). Neither emulator evaluates key policies: moto
   * refuses because it keeps keys per account (another account cannot find the ARN); LocalStack
   * resolves the ARN in the owning account and allows the call.
   */
  readonly refusesOtherAccounts: boolean;
}

export const AWS_EMULATORS: readonly AwsEmulator[] = [
  { name: 'moto', require: requireMoto, account: '123456789012', verifiesChecksums: false, refusesOtherAccounts: true },
  { name: 'LocalStack', require: requireLocalStack, account: '000000000000', verifiesChecksums: true, refusesOtherAccounts: false },
];

/** `describe.each(eachAwsEmulator())('… on %s', (_name, emulator) => …)`: one suite per emulator, titled by its name. */
export function eachAwsEmulator(): (readonly [string, AwsEmulator])[] {
  return AWS_EMULATORS.map((emulator) => [emulator.name, emulator] as const);
}
