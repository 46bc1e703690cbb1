import { ArnFormat, type Stack } from 'aws-cdk-lib';
import { parseAwsSecretReference } from '../../core/adapters/secrets/aws-secret-resolver.js';
import { secretScheme } from '../../core/domain/connection-secret.js';
import type { Environment } from '../../core/config/load-config.js';
import { notificationSecretReferences } from '../../core/config/notification-targets.js';

/**
 * The ARN pattern IAM needs for `secretsmanager:GetSecretValue` on a `secret+aws://` reference.
 * A name becomes `arn:…:secret:<name>-??????` (Secrets Manager appends six random characters to
 * every secret's ARN; `?` matches exactly one, so `db` does not also grant `db-old`); an ARN is
 * taken as written. Region: the reference's `?region=`, the ARN's, or the stack's.
 */
export function awsSecretArn(stack: Stack, reference: string): string {
  const { secretId, region } = parseAwsSecretReference(reference);
  if (secretId.startsWith('arn:')) return secretId;
  return stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${secretId}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME, ...(region ? { region } : {}) });
}

/** The distinct ARN patterns of the `secret+aws://` references among `references`; other schemes are not Secrets Manager's. */
export function awsSecretArns(stack: Stack, references: readonly string[]): string[] {
  // Deduplicated before formatting: each formatted ARN is a fresh token string.
  const distinct = [...new Set(references.filter((reference) => secretScheme(reference) === 'secret+aws'))];
  return distinct.map((reference) => awsSecretArn(stack, reference));
}

/**
 * The connection secrets of every job, disabled ones included: a disabled job's backups can still
 * be restored (into its source) and run on demand.
 */
export function jobSourceReferences(environment: Pick<Environment, 'jobs'>): string[] {
  return environment.jobs.map((job) => job.source);
}

/** The webhook URLs, signing keys, routing keys and SMTP password the notifiers resolve. */
export function webhookSecretReferences(environment: Pick<Environment, 'notifications'>): string[] {
  return notificationSecretReferences(environment.notifications);
}
