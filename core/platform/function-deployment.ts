/**
 * The contract between the Terraform modules (infra/gcp, infra/azure) and the functions
 * (functions/gcp, functions/azure): the variables every module sets. Storage, catalog and key
 * arrive as the same URLs the CLI takes, so the functions need no cloud-specific wiring for them.
 */
export const FUNCTION_ENV = {
  /** The environment's name in vaultra.config.yaml. */
  environmentName: 'VAULTRA_ENVIRONMENT',
  /** `{"version":1,"environments":{"<name>":{…}}}`: the environment's raw config (Terraform: jsonencode of the YAML). */
  configJson: 'VAULTRA_CONFIG_JSON',
  /** `gs://bucket/prefix` or `azblob://account/container/prefix`. */
  storageUrl: 'VAULTRA_STORAGE_URL',
  /** `firestore://project/collection` or `aztable://account/table`. */
  catalogUrl: 'VAULTRA_CATALOG_URL',
  /** `gcp-kms:projects/…/cryptoKeys/…` or `azure-keyvault:https://…/keys/…`: the `--kms` key of jobs with `encryption.kms`. */
  kmsKey: 'VAULTRA_KMS_KEY',
  /** `gcp-kms:projects/…/cryptoKeyVersions/<n>` or `azure-keyvault:https://…/keys/…/<version>`: signs every manifest. */
  signingKey: 'VAULTRA_SIGNING_KEY',
} as const;

/** GCP-only variables. */
export const GCP_FUNCTION_ENV = {
  /** `projects/<p>/locations/<region>/jobs/<job>`: the Cloud Run job that runs the runner. */
  runJob: 'VAULTRA_CLOUD_RUN_JOB',
  /**
   * `projects/<p>/locations/<region>/jobs/<job>`: the Cloud Run job restores and verifies run on,
   * as the restore service account (the runner job's account is write-only). Absent from a
   * deployment made before it existed: restores and verifies are then refused.
   */
  restoreJob: 'VAULTRA_CLOUD_RUN_RESTORE_JOB',
  /**
   * Scheduled drills: JSON `{ "<job>": "projects/<p>/locations/<region>/jobs/<drill job>" }`, each
   * drilled job's Cloud Run job (the runner beside its scratch server, as the drill service account,
   * which may decrypt backups). Absent when no job schedules a drill.
   */
  drillJobs: 'VAULTRA_CLOUD_RUN_DRILL_JOBS',
  /** `projects/<p>/topics/<t>`: alerts are also published here. */
  alertTopic: 'VAULTRA_ALERT_TOPIC',
} as const;

/** Azure-only variables. */
export const AZURE_FUNCTION_ENV = {
  subscriptionId: 'VAULTRA_AZURE_SUBSCRIPTION_ID',
  resourceGroup: 'VAULTRA_AZURE_RESOURCE_GROUP',
  /** The Container Apps job that runs the runner. */
  containerAppsJob: 'VAULTRA_CONTAINER_APPS_JOB',
  /**
   * The Container Apps job restores and verifies run on, as the restore identity (the runner
   * job's identity is write-only). Absent from a deployment made before it existed: restores and
   * verifies are then refused.
   */
  containerAppsRestoreJob: 'VAULTRA_CONTAINER_APPS_RESTORE_JOB',
  /** Client id of the user-assigned managed identity the functions use (DefaultAzureCredential). */
  managedIdentityClientId: 'AZURE_CLIENT_ID',
} as const;
