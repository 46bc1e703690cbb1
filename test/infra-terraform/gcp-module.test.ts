/**
 * infra/gcp, read as Terraform reads it (every .tf parsed): the wiring from vaultra.config.yaml
 * to Cloud Scheduler, the functions, the runner job, the bucket, the catalog, and identities
 * holding only the roles they need. What the locals evaluate to is in gcp-locals.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { firestoreCatalogIndexes } from '../../core/adapters/catalog/firestore-catalog.js';
import { FUNCTION_ENV, GCP_FUNCTION_ENV } from '../../core/platform/function-deployment.js';
import { allResources, dynamicBlocks, loadModule, nested, resource, type Block, type TerraformModule } from './support/terraform-module.js';

let gcp: TerraformModule;

beforeAll(async () => {
  gcp = await loadModule('infra/gcp');
});

const FUNCTION_URI = (entry: string) => `\${google_cloudfunctions2_function.vaultra["${entry}"].service_config[0].uri}`;

describe('the schedules', () => {
  it('has one Cloud Scheduler job per enabled backup job, in its time zone, posting its name to scheduledBackup with an OIDC token', () => {
    const backup = resource(gcp, 'google_cloud_scheduler_job', 'backup');
    expect(backup.for_each).toBe('${local.backup_schedules}');
    expect(backup.schedule).toBe('${each.value.cron}');
    expect(backup.time_zone).toBe('${each.value.time_zone}');
    const target = nested(backup, 'http_target');
    expect(target.http_method).toBe('POST');
    expect(target.uri).toBe(FUNCTION_URI('scheduledBackup'));
    expect(target.body).toBe('${base64encode(each.value.body)}');
    expect(nested(target, 'oidc_token')).toEqual({ service_account_email: '${google_service_account.scheduler.email}', audience: FUNCTION_URI('scheduledBackup') });
    expect(nested(backup, 'retry_config').retry_count).toBeGreaterThan(0);
  });

  it('iterates the enabled jobs only, with cron, time zone and {"job": <name>} from each', () => {
    const schedules = gcp.locals.backup_schedules as string;
    expect(schedules).toContain('for name, job in local.enabled_jobs');
    expect(schedules).toContain('cron      = job.schedule.cron');
    expect(schedules).toContain('time_zone = try(job.schedule.timeZone, "UTC")');
    expect(schedules).toContain('body      = jsonencode({ job = name })');
    expect(gcp.locals.enabled_jobs).toBe('${{ for name, job in local.jobs : name => job if try(job.enabled, true) }}');
  });

  it('runs reconcile every five minutes and the watchdog hourly, OIDC-authenticated, each against its own function', () => {
    const job = resource(gcp, 'google_cloud_scheduler_job', 'maintenance');
    expect(job.for_each).toBe('${local.maintenance_schedules}');
    expect(Object.keys(gcp.locals.maintenance_schedules as object).sort()).toEqual(['reconcile', 'watchdog']);
    expect(gcp.locals.maintenance_schedules).toMatchObject({ reconcile: { schedule: '*/5 * * * *' }, watchdog: { schedule: '0 * * * *' } });
    expect(job.schedule).toBe('${each.value.schedule}');
    expect(job.time_zone).toBe('UTC');
    const target = nested(job, 'http_target');
    const uri = '${google_cloudfunctions2_function.vaultra[each.key].service_config[0].uri}';
    expect(target.uri).toBe(uri);
    expect(nested(target, 'oidc_token')).toEqual({ service_account_email: '${google_service_account.scheduler.email}', audience: uri });
  });

  it('schedules nothing else', () => {
    // log_push: the log catch-ups of jobs with `logs` (log-schedules.test.ts); drill: scheduled drills (gcp-drill.test.ts).
    expect(Object.keys(gcp.resources.google_cloud_scheduler_job ?? {}).sort()).toEqual(['backup', 'drill', 'log_push', 'maintenance']);
  });
});

describe('the functions', () => {
  it('are the four entry points, gen2 on Node, from the zipped package', () => {
    const functions = resource(gcp, 'google_cloudfunctions2_function', 'vaultra');
    expect(functions.for_each).toBe('${local.functions}');
    expect(Object.keys(gcp.locals.functions as object).sort()).toEqual(['api', 'reconcile', 'scheduledBackup', 'watchdog']);
    const build = nested(functions, 'build_config');
    expect(build.entry_point).toBe('${each.key}');
    expect(build.runtime).toBe('${var.functions_runtime}');
    expect((gcp.variables.functions_runtime as Block).default).toMatch(/^nodejs(20|22)$/);
    expect(nested(nested(build, 'source'), 'storage_source')).toEqual({
      bucket: '${google_storage_bucket.functions_source.name}',
      object: '${google_storage_bucket_object.functions_source.name}',
    });
    expect(gcp.data.archive_file?.functions?.source_dir).toBe('${local.functions_source_dir}');
    expect(gcp.locals.functions_source_dir).toBe('${coalesce(var.functions_source_dir, "${path.module}/../../dist/functions-gcp")}');
  });

  it('are built by Cloud Build as the builder account, into their own image repository, once its grants exist', () => {
    const functions = resource(gcp, 'google_cloudfunctions2_function', 'vaultra');
    const build = nested(functions, 'build_config');
    expect(build.service_account).toBe('${google_service_account.builder.id}');
    expect(build.docker_repository).toBe('${google_artifact_registry_repository.functions.id}');
    expect(resource(gcp, 'google_artifact_registry_repository', 'functions').format).toBe('DOCKER');
    // Every grant the builder holds is in place before the first build starts.
    const builderGrants = allResources(gcp)
      .filter(({ type, block }) => type.endsWith('_iam_member') && block.member === 'serviceAccount:${google_service_account.builder.email}')
      .map(({ type, name }) => `\${${type}.${name}}`);
    expect(builderGrants.length).toBeGreaterThan(0);
    expect(functions.depends_on).toEqual(expect.arrayContaining(builderGrants));
  });

  it('get every variable of FUNCTION_ENV and GCP_FUNCTION_ENV, wired to the resources', () => {
    const service = nested(resource(gcp, 'google_cloudfunctions2_function', 'vaultra'), 'service_config');
    expect(service.environment_variables).toBe('${local.function_environment}');
    const variables = gcp.locals.function_environment as Record<string, string>;
    for (const name of [...Object.values(FUNCTION_ENV), ...Object.values(GCP_FUNCTION_ENV)]) expect(variables, name).toHaveProperty(name);
    expect(variables).toMatchObject({
      [FUNCTION_ENV.environmentName]: '${var.environment}',
      [FUNCTION_ENV.configJson]: '${local.config_json}',
      [FUNCTION_ENV.storageUrl]: '${local.storage_url}',
      [FUNCTION_ENV.catalogUrl]: '${local.catalog_url}',
      [FUNCTION_ENV.kmsKey]: 'gcp-kms:${google_kms_crypto_key.vaultra.id}',
      [FUNCTION_ENV.signingKey]: '${local.signing_key}',
      [GCP_FUNCTION_ENV.runJob]: '${google_cloud_run_v2_job.runner_jobs["runner"].id}',
      [GCP_FUNCTION_ENV.restoreJob]: '${google_cloud_run_v2_job.runner_jobs["restore"].id}',
      [GCP_FUNCTION_ENV.alertTopic]: '${google_pubsub_topic.alerts.id}',
    });
    expect(gcp.locals.storage_url).toBe('gs://${google_storage_bucket.backups.name}/${local.prefix}');
    expect(gcp.locals.catalog_url).toBe('firestore://${local.project}/${local.catalog_collection}?database=${google_firestore_database.catalog.name}');
    expect(gcp.locals.config_json).toBe('${jsonencode({ version = local.config.version, environments = { (var.environment) = local.env } })}');
  });

  it('run as the functions service account, reachable from inside the project only (the api as configured)', () => {
    const service = nested(resource(gcp, 'google_cloudfunctions2_function', 'vaultra'), 'service_config');
    expect(service.service_account_email).toBe('${google_service_account.functions.email}');
    expect(service.ingress_settings).toBe('${each.key == "api" ? var.api_ingress : "ALLOW_INTERNAL_ONLY"}');
    expect((gcp.variables.api_ingress as Block).default).toBe('ALLOW_INTERNAL_ONLY');
  });
});

describe('the runner job (and the restore job, the same block: write-only-clouds.test.ts)', () => {
  it('runs the pushed image once per execution as the runner service account, with the catalog and no retry', () => {
    const job = resource(gcp, 'google_cloud_run_v2_job', 'runner_jobs');
    expect(job.name).toBe('${local.name}-${each.key}');
    const execution = nested(job, 'template');
    expect(execution.task_count).toBe(1);
    const task = nested(execution, 'template');
    expect(task.service_account).toBe('${each.value.service_account}');
    expect((gcp.locals.runner_jobs as Record<string, Block>).runner).toEqual({ service_account: '${google_service_account.runner.email}' });
    expect(task.max_retries).toBe(0);
    expect(task.timeout).toBe('${local.runner_timeout_seconds}s');
    const container = nested(task, 'containers');
    expect(container.image).toBe('${var.runner_image}');
    expect(container.env).toEqual([
      { name: 'VAULTRA_CATALOG', value: '${local.catalog_url}' },
      { name: 'VAULTRA_DEDUP_KEY', value_source: [{ secret_key_ref: [{ secret: '${google_secret_manager_secret.dedup_key.secret_id}', version: '${google_secret_manager_secret_version.dedup_key.version}' }] }] },
    ]);
    expect(nested(container, 'resources').limits).toEqual({ cpu: '${tostring(local.runner_cpu)}', memory: '${local.runner_memory}' });
  });

  it('egresses through the configured VPC directly when gcp.network or gcp.subnetwork is set', () => {
    const [vpc] = dynamicBlocks(nested(nested(resource(gcp, 'google_cloud_run_v2_job', 'runner_jobs'), 'template'), 'template'), 'vpc_access');
    expect(vpc?.forEach).toBe('${local.network == null && local.subnetwork == null ? [] : [1]}');
    expect(nested(vpc!.content, 'network_interfaces')).toEqual({ network: '${local.network}', subnetwork: '${local.subnetwork}' });
  });
});

describe('the dedup key (chunked snapshots)', () => {
  it('is one Secret Manager secret per environment, written once with 64 random hex digits that never enter the state', () => {
    const secret = resource(gcp, 'google_secret_manager_secret', 'dedup_key');
    expect(secret.secret_id).toBe('${local.name}-dedup-key');
    const version = resource(gcp, 'google_secret_manager_secret_version', 'dedup_key');
    expect(version.secret).toBe('${google_secret_manager_secret.dedup_key.id}');
    // Write-only, at a fixed version: a later plan (where uuid() differs) rewrites nothing.
    expect(version.secret_data_wo).toBe('${replace("${uuid()}${uuid()}", "-", "")}');
    expect(version.secret_data_wo_version).toBe(1);
    expect(version).not.toHaveProperty('secret_data');
  });

  it('is read by the runner and restore accounts only, and the jobs are created after those grants', () => {
    const readers = Object.entries(gcp.resources.google_secret_manager_secret_iam_member ?? {}).filter(([, block]) => String(block.secret_id).includes('dedup_key'));
    expect(readers.map(([name, block]) => [name, block.role, block.member])).toEqual([
      ['runner_dedup_key', 'roles/secretmanager.secretAccessor', 'serviceAccount:${google_service_account.runner.email}'],
      ['restore_dedup_key', 'roles/secretmanager.secretAccessor', 'serviceAccount:${google_service_account.restore.email}'],
    ]);
    expect(resource(gcp, 'google_cloud_run_v2_job', 'runner_jobs').depends_on).toEqual(
      expect.arrayContaining(['${google_secret_manager_secret_iam_member.runner_dedup_key}', '${google_secret_manager_secret_iam_member.restore_dedup_key}']),
    );
    expect(gcp.outputs.dedup_key_secret?.value).toBe('${google_secret_manager_secret.dedup_key.id}');
  });

  it('needs no new storage or key grant: the runner lists, reads and creates under the prefix (no delete), retention reads, lists and deletes', () => {
    // A chunked run lists <job>/ and <job>/shared/, reads manifests and indexes, writes packs: all under the prefix. A failed run's packs are retention's pack sweep's to delete.
    expect(resource(gcp, 'google_storage_bucket_iam_member', 'runner_objects').role).toBe('${google_project_iam_custom_role.backup_writer.name}');
    expect(resource(gcp, 'google_project_iam_custom_role', 'backup_writer').permissions).toEqual(['storage.objects.create', 'storage.objects.get', 'storage.objects.list']);
    expect(resource(gcp, 'google_project_iam_custom_role', 'retention').permissions).toEqual(['storage.objects.get', 'storage.objects.list', 'storage.objects.delete']);
  });
});

describe('storage, key and catalog', () => {
  it('encrypts the backup bucket with the environment key, never public, versioned, never destroyed with the stack', () => {
    const bucket = resource(gcp, 'google_storage_bucket', 'backups');
    expect(nested(bucket, 'encryption').default_kms_key_name).toBe('${google_kms_crypto_key.vaultra.id}');
    expect(bucket.uniform_bucket_level_access).toBe(true);
    expect(bucket.public_access_prevention).toBe('enforced');
    expect(bucket.force_destroy).toBe(false);
    expect(nested(bucket, 'versioning').enabled).toBe('${local.versioning}');
    expect(nested(bucket, 'lifecycle').prevent_destroy).toBe(true);
    // Cloud Storage's own agent uses the key; the bucket waits for that grant.
    expect(resource(gcp, 'google_kms_crypto_key_iam_member', 'gcs_uses_key').member).toBe('serviceAccount:${data.google_storage_project_service_account.gcs.email_address}');
    expect(bucket.depends_on).toEqual(['${google_kms_crypto_key_iam_member.gcs_uses_key}']);
  });

  it('deletes old versions after noncurrentVersionExpirationDays and moves objects along storage.transitions', () => {
    const rules = dynamicBlocks(resource(gcp, 'google_storage_bucket', 'backups'), 'lifecycle_rule');
    const noncurrent = rules.find((rule) => String(rule.forEach).includes('noncurrent_version_days'));
    expect(nested(noncurrent!.content, 'condition')).toEqual({ days_since_noncurrent_time: '${lifecycle_rule.value}', with_state: 'ARCHIVED' });
    expect(nested(noncurrent!.content, 'action')).toEqual({ type: 'Delete' });
    const transitions = rules.find((rule) => rule.forEach === '${local.transitions}');
    expect(nested(transitions!.content, 'action')).toEqual({ type: 'SetStorageClass', storage_class: '${lifecycle_rule.value.storage_class}' });
    expect(nested(transitions!.content, 'condition')).toMatchObject({ age: '${lifecycle_rule.value.age_days}', matches_prefix: ['${local.prefix}/'] });
  });

  it('turns storage.objectLock into a retention policy (locked only when asked)', () => {
    const [retention] = dynamicBlocks(resource(gcp, 'google_storage_bucket', 'backups'), 'retention_policy');
    expect(retention?.forEach).toBe('${local.retention_seconds == null ? [] : [local.retention_seconds]}');
    expect(retention?.content).toEqual({ retention_period: '${retention_policy.value}', is_locked: '${var.lock_retention_policy}' });
    expect((gcp.variables.lock_retention_policy as Block).default).toBe(false);
  });

  it('rotates the key and never destroys it', () => {
    const key = resource(gcp, 'google_kms_crypto_key', 'vaultra');
    expect(key.rotation_period).toMatch(/^\d+s$/);
    expect(nested(key, 'lifecycle').prevent_destroy).toBe(true);
  });

  it('has an asymmetric EC P-256 signing key, never destroyed, whose chosen version signs (gcp-kms:<key>/cryptoKeyVersions/<n>)', () => {
    const key = resource(gcp, 'google_kms_crypto_key', 'signing');
    expect(key).toMatchObject({ purpose: 'ASYMMETRIC_SIGN', key_ring: '${google_kms_key_ring.vaultra.id}' });
    expect(nested(key, 'version_template').algorithm).toBe('EC_SIGN_P256_SHA256');
    expect(key).not.toHaveProperty('rotation_period');
    expect(nested(key, 'lifecycle').prevent_destroy).toBe(true);
    expect(gcp.locals.signing_key).toBe('gcp-kms:${google_kms_crypto_key.signing.id}/cryptoKeyVersions/${var.signing_key_version}');
    expect((gcp.variables.signing_key_version as Block).default).toBe(1);
    expect(gcp.outputs.signing_key?.value).toBe('${local.signing_key}');
  });

  it('creates a native Firestore database with one composite index per firestoreCatalogIndexes() entry', () => {
    const database = resource(gcp, 'google_firestore_database', 'catalog');
    expect(database.type).toBe('FIRESTORE_NATIVE');
    expect(database.delete_protection_state).toBe('DELETE_PROTECTION_ENABLED');
    const count = firestoreCatalogIndexes('runs').indexes.length;
    expect(Object.keys(gcp.resources.google_firestore_index ?? {}).sort()).toEqual(Array.from({ length: count }, (_, slot) => `runs_${slot + 1}`).sort());
    for (let slot = 1; slot <= count; slot++) {
      const index = resource(gcp, 'google_firestore_index', `runs_${slot}`);
      expect(index.collection).toBe('${local.catalog_collection}');
      expect(index.query_scope).toBe('COLLECTION');
      expect(dynamicBlocks(index, 'fields')).toEqual([{ forEach: `\${local.catalog_indexes[${slot - 1}]}`, content: { field_path: '${fields.value.field_path}', order: '${fields.value.order}' } }]);
    }
    expect(resource(gcp, 'google_firestore_field', 'run_not_indexed')).toMatchObject({ field: 'run', index_config: [{}] });
  });

  // Firestore answers concurrent index operations on one database with 409s the provider does
  // not all retry: the indexes and field settings are created one after another.
  it('creates the indexes and field settings one at a time, each after the one before', () => {
    const chain = [...Object.keys(gcp.resources.google_firestore_index ?? {}).sort((a, b) => Number(a.split('_')[1]) - Number(b.split('_')[1])).map((name) => `google_firestore_index.${name}`), 'google_firestore_field.run_not_indexed', 'google_firestore_field.lock_expiry'];
    expect(chain.length).toBeGreaterThan(2);
    const block = (address: string) => {
      const [type, name] = address.split('.') as [string, string];
      return resource(gcp, type, name);
    };
    expect(block(chain[0]!).depends_on).toBeUndefined();
    for (let position = 1; position < chain.length; position++) expect(block(chain[position]!).depends_on, chain[position]).toEqual([`\${${chain[position - 1]}}`]);
    for (const address of chain) {
      expect(block(address), address).not.toHaveProperty('for_each');
      expect(block(address), address).not.toHaveProperty('count');
    }
  });
});

describe('identities', () => {
  interface Grant {
    readonly resource: string;
    readonly role: string;
    readonly on: string;
    /** The bucket, project, key… the grant names, as written. */
    readonly target: string;
    readonly conditioned: boolean;
  }

  /** Every IAM member grant of the module, by the service account it names. */
  function grantsByAccount(module: TerraformModule): Map<string, Grant[]> {
    const grants = new Map<string, Grant[]>();
    for (const { type, name, block } of allResources(module)) {
      if (!type.endsWith('_iam_member')) continue;
      // `drill[0]`: the drill account exists only when a job schedules a drill.
      const account = /^serviceAccount:\$\{google_service_account\.(\w+)(?:\[0\])?\.email\}$/.exec(String(block.member))?.[1] ?? String(block.member);
      const on = type.replace(/^google_/, '').replace(/_iam_member$/, '');
      const list = grants.get(account) ?? [];
      const target = String(block.bucket ?? block.crypto_key_id ?? block.repository ?? block.topic ?? block.secret_id ?? block.name ?? block.project);
      list.push({ resource: `${type}.${name}`, role: String(block.role), on, target, conditioned: Array.isArray(block.condition) });
      grants.set(account, list);
    }
    return grants;
  }

  const roles = (grants: Grant[] | undefined) => (grants ?? []).map((grant) => `${grant.role} on ${grant.on}`).sort();

  it('gives the runner objects under the prefix (create, no delete), the catalog, the key (encrypt only), signing (and the signing public key), and exactly the job sources’ secrets', () => {
    expect(roles(grantsByAccount(gcp).get('runner'))).toEqual([
      '${google_project_iam_custom_role.backup_writer.name} on storage_bucket',
      'roles/cloudkms.cryptoKeyEncrypter on kms_crypto_key',
      'roles/cloudkms.publicKeyViewer on kms_crypto_key',
      'roles/cloudkms.signer on kms_crypto_key',
      'roles/datastore.user on project',
      'roles/secretmanager.secretAccessor on secret_manager_regional_secret',
      // The jobs' sources, and the dedup key.
      'roles/secretmanager.secretAccessor on secret_manager_secret',
      'roles/secretmanager.secretAccessor on secret_manager_secret',
    ]);
    expect(resource(gcp, 'google_secret_manager_secret_iam_member', 'runner_sources').for_each).toBe('${{ for key, secret in local.source_secrets : key => secret if secret.location == null }}');
    expect(resource(gcp, 'google_secret_manager_regional_secret_iam_member', 'runner_sources').for_each).toBe('${{ for key, secret in local.source_secrets : key => secret if secret.location != null }}');
  });

  it('gives the functions the catalog, the runner, restore and drill jobs, retention deletes under the prefix, the alert topic and the webhook secrets', () => {
    expect(roles(grantsByAccount(gcp).get('functions'))).toEqual([
      '${google_project_iam_custom_role.retention.name} on storage_bucket',
      'roles/datastore.user on project',
      'roles/pubsub.publisher on pubsub_topic',
      // The runner and restore jobs (one block each, runner.tf), and the drill jobs.
      'roles/run.jobsExecutorWithOverrides on cloud_run_v2_job',
      'roles/run.jobsExecutorWithOverrides on cloud_run_v2_job',
      'roles/run.viewer on cloud_run_v2_job',
      'roles/run.viewer on cloud_run_v2_job',
      'roles/secretmanager.secretAccessor on secret_manager_regional_secret',
      'roles/secretmanager.secretAccessor on secret_manager_secret',
    ]);
    expect(resource(gcp, 'google_project_iam_custom_role', 'retention').permissions).toEqual(['storage.objects.get', 'storage.objects.list', 'storage.objects.delete']);
    expect(resource(gcp, 'google_secret_manager_secret_iam_member', 'functions_webhooks').for_each).toBe('${{ for key, secret in local.webhook_secrets : key => secret if secret.location == null }}');
  });

  it('signs with the signing key only: the runner is its only signer; it, the restore and the drill account read its public key', () => {
    for (const name of ['runner_signs', 'runner_reads_signing_public_key']) {
      const member = resource(gcp, 'google_kms_crypto_key_iam_member', name);
      expect(member.crypto_key_id, name).toBe('${google_kms_crypto_key.signing.id}');
      expect(member.member, name).toBe('serviceAccount:${google_service_account.runner.email}');
    }
    const onSigningKey = Object.entries(gcp.resources.google_kms_crypto_key_iam_member ?? {}).filter(([, block]) => block.crypto_key_id === '${google_kms_crypto_key.signing.id}');
    expect(onSigningKey.map(([name, block]) => `${name} ${String(block.role)}`).sort()).toEqual([
      'drill_reads_signing_public_key roles/cloudkms.publicKeyViewer',
      'restore_reads_signing_public_key roles/cloudkms.publicKeyViewer',
      'runner_reads_signing_public_key roles/cloudkms.publicKeyViewer',
      'runner_signs roles/cloudkms.signer',
    ]);
  });

  it('lets the scheduler invoke the three scheduled functions and nothing else', () => {
    expect(roles(grantsByAccount(gcp).get('scheduler'))).toEqual(['roles/run.invoker on cloud_run_v2_service']);
    const invokes = resource(gcp, 'google_cloud_run_v2_service_iam_member', 'scheduler_invokes');
    expect(invokes.for_each).toBe('${toset(["scheduledBackup", "reconcile", "watchdog"])}');
    expect(invokes.name).toBe('${google_cloudfunctions2_function.vaultra[each.key].service_config[0].service}');
  });

  it('lets the builder read the functions’ source, write their images and its build logs, nothing else', () => {
    const grants = grantsByAccount(gcp).get('builder') ?? [];
    expect(grants.map((grant) => `${grant.role} on ${grant.on} ${grant.target}`).sort()).toEqual([
      'roles/artifactregistry.writer on artifact_registry_repository ${google_artifact_registry_repository.functions.name}',
      'roles/logging.logWriter on project ${local.project}',
      'roles/storage.objectViewer on storage_bucket ${google_storage_bucket.functions_source.name}',
    ]);
  });

  it('grants nothing else: the only other member is the api callers the user lists, and nobody gets a project-wide role or the backups unconditioned', () => {
    const grants = grantsByAccount(gcp);
    expect([...grants.keys()].sort()).toEqual(['${each.value}', 'runner', 'restore', 'scheduler', 'functions', 'builder', 'drill', 'serviceAccount:${data.google_storage_project_service_account.gcs.email_address}'].sort());
    expect(grants.get('${each.value}')?.map((grant) => grant.resource)).toEqual(['google_cloud_run_v2_service_iam_member.api_invokers']);
    // Build logs are the one exception: Cloud Logging has no narrower scope for writing entries.
    const unconditionedProjectRoles = [...grants.values()].flat().filter((grant) => grant.on === 'project' && !grant.conditioned);
    expect(unconditionedProjectRoles.map((grant) => `${grant.resource} ${grant.role}`)).toEqual(['google_project_iam_member.builder_logs roles/logging.logWriter']);
    for (const grant of [...grants.values()].flat()) if (grant.target === '${google_storage_bucket.backups.name}') expect(grant.conditioned, grant.resource).toBe(true);
    expect(resource(gcp, 'google_project_iam_member', 'runner_catalog').condition).toEqual([expect.objectContaining({ expression: '${local.catalog_condition}' })]);
    expect(gcp.locals.catalog_condition).toBe('resource.name == "projects/${local.project}/databases/${local.firestore_database}"');
    expect(gcp.locals.prefix_condition).toContain('resource.name.startsWith(\\"projects/_/buckets/${local.bucket_name}/objects/${local.prefix}/\\")');
  });

  it('names its service accounts <account_prefix>-<role> and its image repository <name>-functions, the ids gcp-locals.test.ts checks', () => {
    const accounts = gcp.resources.google_service_account ?? {};
    expect(Object.fromEntries(Object.entries(accounts).map(([name, block]) => [name, block.account_id]))).toEqual({
      runner: '${local.account_prefix}-runner',
      restore: '${local.account_prefix}-restore',
      functions: '${local.account_prefix}-functions',
      scheduler: '${local.account_prefix}-scheduler',
      builder: '${local.account_prefix}-builder',
      drill: '${local.account_prefix}-drill',
    });
    expect(resource(gcp, 'google_artifact_registry_repository', 'functions').repository_id).toBe('${local.name}-functions');
  });

  it('creates no service account key and makes nothing public', () => {
    const types = [...allResources(gcp).map((entry) => entry.type), ...Object.keys(gcp.data)];
    expect(types.filter((type) => type.includes('service_account_key'))).toEqual([]);
    for (const { type, name, block } of allResources(gcp)) {
      if (type.includes('iam')) expect(JSON.stringify(block), `${type}.${name}`).not.toMatch(/allUsers|allAuthenticatedUsers/);
    }
    expect(JSON.stringify((gcp.variables.api_invokers as Block).validation)).toContain('allUsers');
    expect(gcp.providers.google).not.toHaveProperty('credentials');
  });
});

describe('first apply ordering', () => {
  const REFERENCE = /\b(data\.google_[a-z0-9_]+\.[a-z0-9_]+|data\.archive_file\.[a-z0-9_]+|google_[a-z0-9_]+\.[a-z0-9_]+|local\.[a-z0-9_]+)/g;

  /** Every resource, data source and local by address, and what each refers to (references and depends_on alike). */
  function graph(module: TerraformModule) {
    const nodes = new Map<string, unknown>();
    for (const { type, name, block } of allResources(module)) nodes.set(`${type}.${name}`, block);
    for (const [type, byName] of Object.entries(module.data)) for (const [name, block] of Object.entries(byName)) nodes.set(`data.${type}.${name}`, block);
    for (const [name, value] of Object.entries(module.locals)) nodes.set(`local.${name}`, value);
    const edges = (address: string) => [...JSON.stringify(nodes.get(address) ?? null).matchAll(REFERENCE)].map((match) => match[1]!).filter((to) => to !== address && nodes.has(to));
    const reaches = (from: string, target: string, seen = new Set<string>()): boolean => {
      if (from === target) return true;
      if (seen.has(from)) return false;
      seen.add(from);
      return edges(from).some((next) => reaches(next, target, seen));
    };
    return { addresses: [...nodes.keys()].filter((address) => !address.startsWith('local.')), reaches };
  }

  it('waits for the APIs it enables: everything that calls an API comes after google_project_service.apis, directly or through what it refers to', () => {
    const { addresses, reaches } = graph(gcp);
    // archive_file zips a local folder and calls no API.
    const early = addresses.filter((address) => address !== 'google_project_service.apis' && address !== 'data.archive_file.functions' && !reaches(address, 'google_project_service.apis'));
    expect(early).toEqual([]);
  });

  // A service agent encrypts with the key on a resource's behalf: the resource must wait for the
  // agent's grant, and the agent must be looked up through the API that creates it (a
  // hand-formatted service-<number>@… address may not exist yet in a new project).
  it('lets every resource that uses the key as its CMEK wait for its service agent’s grant on the key', () => {
    const cmekUsers = allResources(gcp).filter(({ block }) => /"(default_kms_key_name|kms_key_name|encryption_key|crypto_key_name|kms_key)":"\$\{google_kms_crypto_key\.vaultra\.id\}"/.test(JSON.stringify(block)));
    expect(cmekUsers.map(({ type, name }) => `${type}.${name}`)).toEqual(['google_storage_bucket.backups']);
    const ownAccounts = /^serviceAccount:\$\{google_service_account\.\w+\.email\}$/;
    for (const { type, name, block } of cmekUsers) {
      const grants = ((block.depends_on as string[] | undefined) ?? []).map((reference) => /^\$\{google_kms_crypto_key_iam_member\.(\w+)\}$/.exec(reference)?.[1]).filter((grant): grant is string => grant !== undefined);
      expect(grants, `${type}.${name}`).not.toEqual([]);
      for (const grant of grants) {
        const member = String(resource(gcp, 'google_kms_crypto_key_iam_member', grant).member);
        expect(member).not.toMatch(ownAccounts);
        expect(member).toMatch(/^serviceAccount:\$\{data\.google_storage_project_service_account\.\w+\.email_address\}$/);
      }
    }
    expect(gcp.data.google_storage_project_service_account?.gcs?.depends_on).toEqual(['${google_project_service.apis}']);
  });
});

describe('alerting', () => {
  it('has the alert topic, an email channel per notifications.email and policies on function errors and failed runner executions', () => {
    expect(resource(gcp, 'google_pubsub_topic', 'alerts').name).toBe('${local.name}-alerts');
    const email = resource(gcp, 'google_monitoring_notification_channel', 'email');
    expect(email.for_each).toBe('${toset(local.emails)}');
    expect(email).toMatchObject({ type: 'email', labels: { email_address: '${each.value}' } });
    for (const name of ['function_errors', 'runner_failures']) {
      expect(resource(gcp, 'google_monitoring_alert_policy', name).notification_channels).toBe('${[for channel in google_monitoring_notification_channel.email : channel.id]}');
    }
    expect(gcp.locals.emails).toBe('${try(local.env.notifications.email, [])}');
  });
});

describe('module inputs', () => {
  it('reads the config itself and refuses an environment of another cloud', () => {
    expect(gcp.locals.config).toBe('${yamldecode(file(var.config_path))}');
    expect(gcp.locals.env).toBe('${local.config.environments[var.environment]}');
    expect(nested(gcp.variables.environment!, 'validation').condition).toBe('${try(yamldecode(file(var.config_path)).environments[var.environment].cloud, "") == "gcp"}');
    expect(gcp.variables.runner_image).not.toHaveProperty('default');
  });

  it('pins its providers', () => {
    const providers = nested(gcp.terraform[0]!, 'required_providers');
    expect(providers).toMatchObject({ google: { source: 'hashicorp/google', version: expect.stringMatching(/^~> \d+\.\d+$/) }, archive: { source: 'hashicorp/archive' } });
  });
});
