import type { Alert } from '../../core/ports/notifier.js';

/** A backup's failure as the orchestration raises it: what every notifier delivers (PagerDuty pages on it, healthchecks pings `/fail`). */
export const failedBackup: Alert = {
  kind: 'run-failed',
  severity: 'critical',
  environment: 'prod',
  job: 'shop-postgres',
  runId: '20261122T031502.123Z-3f9c2a',
  runKind: 'backup',
  title: 'shop-postgres: backup failed (pg_dump exited 1)',
  detail: 'pg_dump could not connect. Check the connection secret, then run `vaultra backup` again.',
  at: '2026-11-22T03:16:40.000Z',
  facts: { duration: '1 min 38 s', task: 'arn:aws:ecs:eu-west-1:123456789012:task/vaultra/abc' },
};
