import type { Catalog } from '../../../core/ports/catalog.js';
import type { Alert } from '../../../core/ports/notifier.js';
import { DynamoDbCatalog } from '../../../core/adapters/catalog/dynamodb-catalog.js';
import { notifiersFor } from '../../../core/adapters/notifiers/notifiers.js';
import { resolveAwsSecret } from '../../../core/adapters/secrets/aws-secret-resolve.js';
import { notifyAll, type NotifyOutcome } from '../../../core/usecases/notify-all.js';
import type { AwsSettings } from './settings.js';
import { logger } from './observability.js';

/** The clients every function uses: the run catalog and the alert targets. */
export function catalogOf(settings: AwsSettings): Catalog {
  return DynamoDbCatalog.fromUrl(settings.target.catalogUrl);
}

/** Sends an alert to SNS and every webhook; a target that fails is logged, never fatal. */
export function notifyOf(settings: AwsSettings): (alert: Alert) => Promise<NotifyOutcome> {
  const notifiers = notifiersFor(settings.environment.notifications, { topicArn: settings.topicArn, region: settings.region, resolve: resolveAwsSecret });
  return async (alert) => {
    const result = await notifyAll(notifiers, alert);
    for (const failure of result.failed) logger.error('alert not delivered', { alert: alert.kind, job: alert.job, notifier: failure.notifier, error: failure.error });
    return result;
  };
}
