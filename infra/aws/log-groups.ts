import { type IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ConfigError } from '../../core/errors.js';

/** The retention periods CloudWatch Logs accepts; any other number fails at deploy time. */
const CLOUDWATCH_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** `runner.logRetentionDays` as CloudWatch takes it; refuses, at synth, a value CloudWatch would refuse at deploy. */
export function logRetention(days: number): RetentionDays {
  if (!CLOUDWATCH_RETENTION_DAYS.includes(days)) {
    const above = CLOUDWATCH_RETENTION_DAYS.find((allowed) => allowed > days);
    throw new ConfigError(`runner.logRetentionDays: CloudWatch Logs keeps logs for one of ${CLOUDWATCH_RETENTION_DAYS.join(', ')} days, got ${days}${above ? ` (nearest above: ${above})` : ''}`);
  }
  return days as RetentionDays;
}

export interface EncryptedLogGroupProps {
  readonly key: IKey;
  readonly retentionDays: number;
}

/** A log group encrypted with the environment's key (the key policy lets CloudWatch Logs use it). */
export function encryptedLogGroup(scope: Construct, id: string, props: EncryptedLogGroupProps): LogGroup {
  return new LogGroup(scope, id, { encryptionKey: props.key, retention: logRetention(props.retentionDays) });
}
