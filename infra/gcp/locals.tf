# Everything this module derives from vaultra.config.yaml. Only variables and functions here, no
# resource: test/infra-terraform evaluates this file with `terraform console` against the shipped
# config, without providers.

locals {
  config = yamldecode(file(var.config_path))
  env    = local.config.environments[var.environment]

  project    = local.env.gcp.project
  region     = local.env.region
  network    = try(local.env.gcp.network, null)
  subnetwork = try(local.env.gcp.subnetwork, null)

  name = "vaultra-${var.environment}"
  # Names with a length limit: a name too long is cut and given a hash of the environment's name,
  # so two long environment names never share one. Service account ids are 6-30 characters (the
  # longest suffix is 10), bucket names 3-63.
  account_prefix   = length(local.name) <= 20 ? local.name : "${trimsuffix(substr(local.name, 0, 15), "-")}-${substr(sha1(var.environment), 0, 4)}"
  bucket_base_name = length("${local.project}-${local.name}") <= 60 ? "${local.project}-${local.name}" : "${trimsuffix(substr("${local.project}-${local.name}", 0, 55), "-")}-${substr(sha1(var.environment), 0, 4)}"

  # The functions' copy of the config: this environment only, as the file has it. They validate it
  # again on a cold start (core/config/environments.ts), defaults and all.
  config_json = jsonencode({ version = local.config.version, environments = { (var.environment) = local.env } })

  # A job is its environment's defaults with its own fields on top (a shallow merge, as in core).
  jobs         = { for name, job in local.env.jobs : name => merge(try(local.env.defaults, {}), job) }
  enabled_jobs = { for name, job in local.jobs : name => job if try(job.enabled, true) }

  # One Cloud Scheduler job per enabled backup job: its cron in its time zone, posting its name.
  backup_schedules = {
    for name, job in local.enabled_jobs : name => {
      cron      = job.schedule.cron
      time_zone = try(job.schedule.timeZone, "UTC")
      body      = jsonencode({ job = name })
    }
  }
  # A job with `logs` also gets a log catch-up schedule: `logs.every` (a duration dividing an hour
  # or a day, core/config/log-schedule.ts) as a cron in UTC, posting {"job", "kind": "log"}.
  log_every_minutes = {
    for name, job in local.enabled_jobs : name => tonumber(substr(job.logs.every, 0, length(job.logs.every) - 1)) * local.duration_unit_seconds[substr(job.logs.every, -1, 1)] / 60
    if try(job.logs.every, null) != null
  }
  log_schedules = {
    for name, minutes in local.log_every_minutes : name => {
      cron = minutes < 60 ? (minutes == 1 ? "* * * * *" : "*/${minutes} * * * *") : minutes < 1440 ? (minutes == 60 ? "0 * * * *" : "0 */${minutes / 60} * * *") : "0 0 * * *"
      body = jsonencode({ job = name, kind = "log" })
    }
  }
  # Scheduled drills (docs/drills.md, "In the cloud"): each enabled job with `drill.schedule` gets a
  # Cloud Scheduler job on the drill's cron in its time zone, posting {"job", "kind": "drill"}, and a
  # Cloud Run job of its own (drill.tf), named here so the functions get the same names
  # (VAULTRA_CLOUD_RUN_DRILL_JOBS). A name past Cloud Run's 63 characters is cut and given a hash.
  drilled_jobs = { for name, job in local.enabled_jobs : name => job.drill if try(job.drill.schedule, null) != null }
  drill_schedules = {
    for name, drill in local.drilled_jobs : name => {
      cron      = drill.schedule.cron
      time_zone = try(drill.schedule.timeZone, "UTC")
      body      = jsonencode({ job = name, kind = "drill" })
    }
  }
  drill_job_names = {
    for name, drill in local.drilled_jobs : name => length("${local.name}-drill-${name}") <= 63 ? "${local.name}-drill-${name}" : "${trimsuffix(substr("${local.name}-drill-${name}", 0, 58), "-")}-${substr(sha1(name), 0, 4)}"
  }
  # Each drill job's size: `drill.cpu` / `drill.memoryMiB` (core's defaults 1024 / 2048) on Cloud
  # Run's CPU steps, as the runner's. Cloud Run limits each container of a job, not the task as
  # Fargate does: the runner and the scratch server each get this limit. The server's data
  # directory lives in its container's in-memory filesystem, so the memory must hold the restore.
  drill_cpu_units  = { for name, drill in local.drilled_jobs : name => try(drill.cpu, 1024) }
  drill_memory_mib = { for name, drill in local.drilled_jobs : name => try(drill.memoryMiB, 2048) }
  drill_cpu        = { for name, units in local.drill_cpu_units : name => try([for cpu in [1, 2, 4, 6, 8] : cpu if cpu * 1024 >= units && cpu * 4096 >= local.drill_memory_mib[name]][0], 8) }
  drill_sizes = {
    for name, cpu in local.drill_cpu : name => {
      cpu    = tostring(cpu)
      memory = "${min(max(local.drill_memory_mib[name], cpu >= 6 ? 4096 : cpu >= 4 ? 2048 : 512), cpu * 4096)}Mi"
    }
  }
  # The scratch server beside the runner, as core/config/drill-sidecar.ts (drillSidecarOf) makes it:
  # the official image of `drill.server` (postgres:<major>), listening on the task's loopback only,
  # trust authentication (nothing outside the task reaches it; no password exists). `args`, not
  # `command`: the image's entrypoint initializes the cluster first.
  # test/infra-terraform/gcp-drill.test.ts holds the two together.
  drill_sidecars = {
    for name, drill in local.drilled_jobs : name => {
      image = drill.server
      args  = ["postgres", "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]
      env   = { POSTGRES_HOST_AUTH_METHOD = "trust" }
      port  = 5432
    } if try(drill.server, null) != null
  }
  # The runner tells the server it is done through a file on an in-memory volume both mount (drill.tf).
  drill_done_volume = "drill-done"
  drill_done_folder = "/vaultra-drill"
  drill_done_file   = "${local.drill_done_folder}/runner-done"

  maintenance_schedules = {
    reconcile = { schedule = "*/5 * * * *", description = "finalize finished runs", retry_count = 0 }
    watchdog  = { schedule = "0 * * * *", description = "RPO and stuck-run check", retry_count = 1 }
  }

  # Durations are `90m`, `26h`, `7d` (core/config/durations.ts); a job's timeout defaults to 2h.
  duration_unit_seconds = { m = 60, h = 3600, d = 86400 }
  job_timeout_seconds = {
    for name, job in local.jobs : name => tonumber(substr(try(job.timeout, "2h"), 0, length(try(job.timeout, "2h")) - 1)) * local.duration_unit_seconds[substr(try(job.timeout, "2h"), -1, 1)]
  }
  # The runner job's own limit: the longest job timeout plus time to record the failure. Cloud Run
  # tasks run 24 hours at most. The watchdog fails a run at its job's own timeout.
  # A log push (`logs.timeout`, default 1h) runs on the same runner job: its limit counts too.
  log_timeout_seconds = {
    for name, job in local.jobs : name => tonumber(substr(try(job.logs.timeout, "1h"), 0, length(try(job.logs.timeout, "1h")) - 1)) * local.duration_unit_seconds[substr(try(job.logs.timeout, "1h"), -1, 1)]
    if try(job.logs, null) != null
  }
  # A drill job's limit: its job's timeout (the drill's own, start-drill.ts) plus time to record the failure.
  drill_timeout_seconds  = { for name, drill in local.drilled_jobs : name => min(local.job_timeout_seconds[name] + 600, 86400) }
  runner_timeout_seconds = min(max(concat(values(local.job_timeout_seconds), values(local.log_timeout_seconds))...) + 600, 86400)

  # Cloud Run's RunJob overrides carry arguments, environment and timeout but no resources: the
  # job is sized for the largest job of the environment. Cloud Run jobs take 1, 2, 4, 6 or 8 CPUs,
  # at most 4 GiB per CPU, and at least 2 GiB with 4 CPUs, 4 GiB with 6 or more.
  runner_cpu_units  = max(concat([try(local.env.runner.cpu, 1024)], [for job in local.jobs : try(job.runtime.cpu, 0)])...)
  runner_memory_mib = max(concat([try(local.env.runner.memoryMiB, 2048)], [for job in local.jobs : try(job.runtime.memoryMiB, 0)])...)
  runner_cpu        = try([for cpu in [1, 2, 4, 6, 8] : cpu if cpu * 1024 >= local.runner_cpu_units && cpu * 4096 >= local.runner_memory_mib][0], 8)
  runner_memory     = "${min(max(local.runner_memory_mib, local.runner_cpu >= 6 ? 4096 : local.runner_cpu >= 4 ? 2048 : 512), local.runner_cpu * 4096)}Mi"

  # Storage: the bucket, its prefix, lifecycle and retention.
  storage     = merge({ prefix = "vaultra", transitions = [], noncurrentVersionExpirationDays = 30 }, try(local.env.storage, {}))
  prefix      = local.storage.prefix
  bucket_name = coalesce(try(local.env.storage.bucket, null), local.bucket_base_name)
  # The config names S3 classes (one schema for every cloud): each maps to the GCS class of the same temperature.
  gcs_storage_classes = {
    STANDARD_IA         = "NEARLINE"
    ONEZONE_IA          = "NEARLINE"
    INTELLIGENT_TIERING = "NEARLINE"
    GLACIER_IR          = "COLDLINE"
    GLACIER             = "ARCHIVE"
    DEEP_ARCHIVE        = "ARCHIVE"
  }
  transitions = [
    for transition in local.storage.transitions : {
      age_days      = transition.afterDays
      storage_class = local.gcs_storage_classes[transition.storageClass]
    }
  ]
  noncurrent_version_days = local.storage.noncurrentVersionExpirationDays
  # storage.objectLock becomes the bucket's retention policy. GCS refuses a retention policy on a
  # versioned bucket: with one, versioning is off (the policy already keeps every object).
  retention_seconds = try(local.env.storage.objectLock.days * 86400, null)
  versioning        = local.retention_seconds == null

  # Catalog: runs are documents of `runs` in a database of their own, so IAM can name it.
  firestore_database = local.name
  catalog_collection = "runs"
  # firestoreCatalogIndexes() of core/adapters/catalog/firestore-catalog.ts, in Terraform.
  catalog_equality_filters = [["job"], ["kind"], ["status"], ["job", "kind"], ["job", "status"], ["kind", "status"], ["job", "kind", "status"]]
  catalog_indexes = concat(
    [for equal in local.catalog_equality_filters : concat([for field in equal : { field_path = field, order = "ASCENDING" }], [{ field_path = "startedKey", order = "DESCENDING" }])],
    [[{ field_path = "job", order = "ASCENDING" }, { field_path = "succeededKey", order = "DESCENDING" }]],
  )

  # Secrets: the job sources (the runner reads them) and the notifiers' URLs, keys and SMTP password (the functions
  # do). `secret+gcp://projects/<p>/secrets/<s>[/versions/<v>]` or the regional
  # `projects/<p>/locations/<l>/secrets/<s>…`; other schemes are not Secret Manager's.
  secret_pattern    = "^secret\\+gcp://projects/([^/]+)(?:/locations/([^/]+))?/secrets/([^/]+)(?:/versions/[^/]+)?$"
  source_references = distinct([for job in local.jobs : job.source if startswith(job.source, "secret+gcp://")])
  webhook_references = distinct([
    for reference in flatten(concat([for webhook in try(local.env.notifications.webhooks, []) : [try(webhook.url, ""), try(webhook.signingSecret, ""), try(webhook.routingKey, ""), values(try(webhook.jobs, {}))]], [try(local.env.notifications.smtp.password, "")])) : reference if startswith(reference, "secret+gcp://")
  ])
  # Keyed `<project>[/<location>]/<secret>`: two versions of one secret are one grant.
  source_secrets  = { for key, parsed in { for reference in local.source_references : join("/", compact(regex(local.secret_pattern, reference))) => regex(local.secret_pattern, reference)... } : key => { project = parsed[0][0], location = parsed[0][1], secret = parsed[0][2] } }
  webhook_secrets = { for key, parsed in { for reference in local.webhook_references : join("/", compact(regex(local.secret_pattern, reference))) => regex(local.secret_pattern, reference)... } : key => { project = parsed[0][0], location = parsed[0][1], secret = parsed[0][2] } }

  emails = try(local.env.notifications.email, [])
}
