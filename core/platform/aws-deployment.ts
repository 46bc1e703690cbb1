/**
 * The contract between the CDK stack (infra/aws) and the functions (functions/aws): the names of
 * the environment variables the stack sets and the functions read. Neither imports the other;
 * both import this.
 */
export const AWS_FUNCTION_ENV = {
  /** The environment's name in vaultra.config.yaml (`prod`). */
  environmentName: 'VAULTRA_ENVIRONMENT',
  /** The environment's config, bundled into each function at synth time as JSON (esbuild `define`). */
  configJson: 'VAULTRA_CONFIG_JSON',
  tableName: 'VAULTRA_TABLE',
  bucketName: 'VAULTRA_BUCKET',
  topicArn: 'VAULTRA_TOPIC_ARN',
  /** The environment's KMS key: bucket encryption and the age `vaultra-kms` stanza. */
  keyArn: 'VAULTRA_KMS_KEY_ARN',
  /** The environment's asymmetric signing key (ECC_NIST_P256, SIGN_VERIFY): the runner signs every manifest with it. */
  signingKeyArn: 'VAULTRA_SIGNING_KEY_ARN',
  clusterArn: 'VAULTRA_CLUSTER_ARN',
  taskDefinitionArn: 'VAULTRA_TASK_DEFINITION_ARN',
  /**
   * The task role restores and verifies run as (RunTask `overrides.taskRoleArn`): it may decrypt
   * backups. Backups run as the task definition's own role, which cannot.
   */
  restoreTaskRoleArn: 'VAULTRA_RESTORE_TASK_ROLE_ARN',
  /**
   * Scheduled drills: JSON `{ "<job>": "<task definition ARN>" }`, each job's drill task (the
   * runner beside its scratch server, under the drill role, which may decrypt backups).
   */
  drillTaskDefinitions: 'VAULTRA_DRILL_TASK_DEFINITIONS',
  /** The runner container's name in the task definition. */
  containerName: 'VAULTRA_CONTAINER_NAME',
  /** Comma-separated subnet and security group ids for the task's awsvpc network. */
  subnetIds: 'VAULTRA_SUBNET_IDS',
  securityGroupIds: 'VAULTRA_SECURITY_GROUP_IDS',
  /** `ENABLED` when the task runs in a public subnet and needs a public IP to reach AWS APIs. */
  assignPublicIp: 'VAULTRA_ASSIGN_PUBLIC_IP',
  /**
   * Inline runs only (docs/inline-runs.md): the dedup key's secret, which the inline function reads
   * and hands its runner as `VAULTRA_DEDUP_KEY`, as ECS injects it into a runner container.
   */
  dedupKeySecretArn: 'VAULTRA_DEDUP_KEY_SECRET_ARN',
  /** Inline runs only: the task-finished function, which the inline backup function hands each ended run to for settling. */
  taskFinishedFunction: 'VAULTRA_TASK_FINISHED_FUNCTION',
  /** Inline runs only, on the api function: where it hands inline jobs' on-demand backups, and their restores and verifies. */
  inlineBackupFunction: 'VAULTRA_INLINE_BACKUP_FUNCTION',
  inlineRestoreFunction: 'VAULTRA_INLINE_RESTORE_FUNCTION',
} as const;

/** The runner container's name in the Fargate task definition. */
export const RUNNER_CONTAINER_NAME = 'runner';

/**
 * The names the stack gives what callers outside it reach (`vaultra tui`: the api function it
 * invokes, the task definitions whose awslogs settings say where a run's log is).
 */
export const awsNames = {
  apiFunction: (environment: string) => `vaultra-${environment}-api`,
  runnerTaskFamily: (environment: string) => `vaultra-${environment}-runner`,
  drillTaskFamily: (environment: string, job: string) => `vaultra-${environment}-drill-${job}`,
} as const;

/** CloudWatch metric namespace the functions publish under (Powertools Metrics, EMF). */
export const METRICS_NAMESPACE = 'Vaultra';

/** Metric names, per job dimension `job` (and `environment`), used by the dashboard and alarms. */
export const METRIC = {
  runSucceeded: 'RunSucceeded',
  runFailed: 'RunFailed',
  runSkipped: 'RunSkipped',
  durationSeconds: 'RunDurationSeconds',
  bytesRaw: 'BytesRaw',
  bytesStored: 'BytesStored',
  secondsSinceLastSuccess: 'SecondsSinceLastSuccess',
  /** Jobs with `logs`: seconds of the server's change log not yet archived (the watchdog's lag). */
  logArchiveLagSeconds: 'LogArchiveLagSeconds',
  /** Log catch-ups, counted apart from backups: one every few minutes would drown the backup counts and page through their alarm. */
  logPushSucceeded: 'LogPushSucceeded',
  logPushFailed: 'LogPushFailed',
  /** An inline job's backup sent to Fargate instead (its last backup took too long, or the invocation had too little time left). */
  inlineFailover: 'InlineFailover',
} as const;

/** Function entry files, relative to the repository root: infra names handlers by path, never by import. */
export const AWS_FUNCTION_ENTRIES = {
  scheduledBackup: 'functions/aws/scheduled-backup.ts',
  taskFinished: 'functions/aws/task-finished.ts',
  watchdog: 'functions/aws/watchdog.ts',
  api: 'functions/aws/api.ts',
  /** Inline jobs' scheduled backups, run inside the function with the tools layer. */
  inlineBackup: 'functions/aws/inline-backup.ts',
  /** Restores and verifies of inline jobs, run inside the function under the restore identity. */
  inlineRestore: 'functions/aws/inline-restore.ts',
} as const;

/** Where the inline functions' asset holds the runner CLI bundle, relative to the task root. */
export const INLINE_RUNNER_PATH = 'runner/vaultra.mjs';
