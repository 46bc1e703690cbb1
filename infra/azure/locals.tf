# Everything this module derives from vaultra.config.yaml. Only variables and functions here, no
# resource: test/infra-terraform evaluates this file with `terraform console` against the shipped
# config, without providers.

locals {
  config = yamldecode(file(var.config_path))
  env    = local.config.environments[var.environment]

  location             = local.env.region
  resource_group_name  = local.env.azure.resourceGroup
  storage_account_name = local.env.azure.storageAccount
  container_name       = try(local.env.azure.container, "vaultra")
  subnet_id            = try(local.env.azure.subnetId, null)

  name = "vaultra-${var.environment}"
  # Container Apps job names are at most 32 characters (the suffix is 7): a name too long is cut
  # and given a hash of the environment's name, so two long environment names never share one.
  short_name                     = length(local.name) <= 24 ? local.name : "${trimsuffix(substr(local.name, 0, 19), "-")}-${substr(sha1(var.environment), 0, 4)}"
  key_vault_name                 = coalesce(var.key_vault_name, "kv${substr(local.storage_account_name, 0, 22)}")
  functions_storage_account_name = coalesce(var.functions_storage_account_name, "${substr(local.storage_account_name, 0, 22)}fn")
  catalog_table                  = "vaultraruns"

  # The functions' copy of the config: this environment only, as the file has it. They validate it
  # again on a cold start (core/config/environments.ts), defaults and all.
  config_json = jsonencode({ version = local.config.version, environments = { (var.environment) = local.env } })

  # A job is its environment's defaults with its own fields on top (a shallow merge, as in core).
  # The schedules are not resources here: the function app's dispatcher timer evaluates every
  # enabled job's cron in its time zone from VAULTRA_CONFIG_JSON.
  jobs         = { for name, job in local.env.jobs : name => merge(try(local.env.defaults, {}), job) }
  enabled_jobs = { for name, job in local.jobs : name => job if try(job.enabled, true) }

  # Durations are `90m`, `26h`, `7d` (core/config/durations.ts); a job's timeout defaults to 2h.
  duration_unit_seconds = { m = 60, h = 3600, d = 86400 }
  job_timeout_seconds = {
    for name, job in local.jobs : name => tonumber(substr(try(job.timeout, "2h"), 0, length(try(job.timeout, "2h")) - 1)) * local.duration_unit_seconds[substr(try(job.timeout, "2h"), -1, 1)]
  }
  # The runner job's own limit: the longest job timeout plus time to record the failure. The
  # watchdog fails a run at its job's own timeout.
  # A log push (`logs.timeout`, default 1h) runs on the same runner job: its limit counts too.
  log_timeout_seconds = {
    for name, job in local.jobs : name => tonumber(substr(try(job.logs.timeout, "1h"), 0, length(try(job.logs.timeout, "1h")) - 1)) * local.duration_unit_seconds[substr(try(job.logs.timeout, "1h"), -1, 1)]
    if try(job.logs, null) != null
  }
  runner_timeout_seconds = max(concat(values(local.job_timeout_seconds), values(local.log_timeout_seconds))...) + 600

  # Sized for the largest job of the environment (the default of every start). Consumption
  # Container Apps take 0.25 to 2 vCPU in steps of 0.25, with twice as many GiB of memory.
  runner_cpu_units  = max(concat([try(local.env.runner.cpu, 1024)], [for job in local.jobs : try(job.runtime.cpu, 0)])...)
  runner_memory_mib = max(concat([try(local.env.runner.memoryMiB, 2048)], [for job in local.jobs : try(job.runtime.memoryMiB, 0)])...)
  runner_cpu        = min(ceil(max(local.runner_cpu_units / 1024, local.runner_memory_mib / 2048) * 4) / 4, 2)
  runner_memory     = "${local.runner_cpu * 2}Gi"
  # A job's runtime overrides that size per run, and Container Apps refuses any pair outside its
  # table when the run starts: what core/config/container-apps-sizes.ts refuses, refused here too
  # (the runner job's precondition), so `terraform plan` fails instead of every run of the job.
  consumption_cpu_units = [256, 512, 1024, 2048]
  runtime_size_problems = concat(
    [
      for name, job in local.jobs : "jobs.${name}.runtime: on azure a runtime is a Container Apps Consumption pair, cpu/memoryMiB one of 256/512, 512/1024, 1024/2048, 2048/4096 (got ${jsonencode(job.runtime)})"
      if !(try(job.runtime.cpu, null) == null && try(job.runtime.memoryMiB, null) == null) && !(contains(local.consumption_cpu_units, try(job.runtime.cpu, 0)) && try(job.runtime.memoryMiB, 0) == 2 * try(job.runtime.cpu, 0))
    ],
    # A log push's own size (`logs.runtime`, default 256/512, a Consumption pair).
    [
      for name, job in local.jobs : "jobs.${name}.logs.runtime: on azure a runtime is a Container Apps Consumption pair, cpu/memoryMiB one of 256/512, 512/1024, 1024/2048, 2048/4096 (got ${jsonencode(job.logs.runtime)})"
      if try(job.logs.runtime, null) != null && !(contains(local.consumption_cpu_units, try(job.logs.runtime.cpu, 0)) && try(job.logs.runtime.memoryMiB, 0) == 2 * try(job.logs.runtime.cpu, 0))
    ],
    try(local.env.runner.cpu, 1024) <= 2048 && try(local.env.runner.memoryMiB, 2048) <= 4096 ? [] : ["runner: on azure the runner takes at most cpu 2048 and memoryMiB 4096 (got ${jsonencode(local.env.runner)})"],
  )

  # Storage: the container, the prefix, lifecycle and immutability.
  storage = merge({ prefix = "vaultra", transitions = [], noncurrentVersionExpirationDays = 30 }, try(local.env.storage, {}))
  prefix  = local.storage.prefix
  # The config names S3 classes (one schema for every cloud): each maps to the Blob tier of the
  # same temperature; a tier's transition is the earliest the config asks for it.
  blob_tiers = {
    STANDARD_IA         = "cool"
    ONEZONE_IA          = "cool"
    INTELLIGENT_TIERING = "cool"
    GLACIER_IR          = "cold"
    GLACIER             = "archive"
    DEEP_ARCHIVE        = "archive"
  }
  tier_after_days = {
    for tier in ["cool", "cold", "archive"] : tier => try(min([for transition in local.storage.transitions : transition.afterDays if local.blob_tiers[transition.storageClass] == tier]...), null)
  }
  noncurrent_version_days = local.storage.noncurrentVersionExpirationDays
  immutability_days       = try(local.env.storage.objectLock.days, null)

  # Secrets: the job sources (the runner reads them) and the notifiers' URLs, keys and SMTP password (the functions
  # do): `secret+azure://<vault name or host>/<secret>[/<version>]`. Other schemes are not Key
  # Vault's. Role assignments are per secret, keyed `<vault>/<secret>`.
  secret_pattern     = "^secret\\+azure://([^/.]+)[^/]*/([A-Za-z0-9-]+)(?:/[0-9a-f]{32})?$"
  source_references  = distinct([for job in local.jobs : job.source if startswith(job.source, "secret+azure://")])
  webhook_references = distinct([for reference in flatten(concat([for webhook in try(local.env.notifications.webhooks, []) : [try(webhook.url, ""), try(webhook.signingSecret, ""), try(webhook.routingKey, ""), values(try(webhook.jobs, {}))]], [try(local.env.notifications.smtp.password, "")])) : reference if startswith(reference, "secret+azure://")])
  source_secrets     = { for key, parsed in { for reference in local.source_references : lower(join("/", regex(local.secret_pattern, reference))) => regex(local.secret_pattern, reference)... } : key => { vault = lower(parsed[0][0]), secret = parsed[0][1] } }
  webhook_secrets    = { for key, parsed in { for reference in local.webhook_references : lower(join("/", regex(local.secret_pattern, reference))) => regex(local.secret_pattern, reference)... } : key => { vault = lower(parsed[0][0]), secret = parsed[0][1] } }
  # The vaults other than the environment's own, looked up by name.
  referenced_vaults = toset([for secret in values(merge(local.source_secrets, local.webhook_secrets)) : secret.vault if secret.vault != lower(local.key_vault_name)])
  # The secrets of the environment's own vault: the module creates each with a placeholder value, so
  # the role assignments scoped to it exist on the first apply (keyvault.tf).
  own_vault_secrets = { for key, secret in merge(local.source_secrets, local.webhook_secrets) : key => secret if secret.vault == lower(local.key_vault_name) }

  # The dedup key's secret in the environment's vault (dedup-key.tf), and the name the runner job's
  # configuration gives it (Container Apps secret names: lower case, digits and '-'). Key Vault
  # names are case-insensitive: a config secret of that name in any case would be overwritten.
  dedup_key_secret_name = "vaultra-dedup-key"
  dedup_key_job_secret  = "dedup-key"
  dedup_key_name_taken  = contains([for secret in values(local.own_vault_secrets) : lower(secret.secret)], local.dedup_key_secret_name)

  emails = try(local.env.notifications.email, [])

  # Scheduled restore drills (docs/drills.md, drill-jobs.tf): one Container Apps job per enabled
  # job with drill.schedule, named as core/adapters/launchers/container-apps-drill-job.ts names it
  # (the dispatcher starts it by that name): `<short name>-drill-<job>` when that is a valid
  # Container Apps job name, else `<short name>-d<6 hex of sha1(job)>`.
  drill_jobs = { for name, job in local.enabled_jobs : name => job if try(job.drill.schedule, null) != null }
  drill_job_names = {
    for name, job in local.drill_jobs : name => (
      length("${local.short_name}-drill-${name}") <= 32 && can(regex("^[a-z][a-z0-9-]*[a-z0-9]$", "${local.short_name}-drill-${name}")) && !strcontains("${local.short_name}-drill-${name}", "--")
      ? "${local.short_name}-drill-${name}"
      : "${local.short_name}-d${substr(sha1(name), 0, 6)}"
    )
  }
  # A drill's size (drill.cpu / drill.memoryMiB, default 1024 / 2048) is the whole execution's: with
  # a scratch server (drill.server) the server gets half the CPU (in Container Apps' 0.25 steps) and
  # the runner the rest, each with twice as many GiB, so the sum stays a Consumption pair.
  drill_sizes = {
    for name, job in local.drill_jobs : name => {
      cpu        = try(job.drill.cpu, 1024) / 1024
      server_cpu = try(job.drill.server, null) == null ? 0 : floor(try(job.drill.cpu, 1024) / 2048 * 4) / 4
    }
  }
  drill_size_problems = [
    for name, job in local.drill_jobs : "jobs.${name}.drill: on azure a drill's cpu/memoryMiB is a Container Apps Consumption pair, one of ${try(job.drill.server, null) == null ? "256/512, " : ""}512/1024, 1024/2048, 2048/4096${try(job.drill.server, null) == null ? "" : " (the runner and its scratch server share it)"} (got ${try(job.drill.cpu, 1024)}/${try(job.drill.memoryMiB, 2048)})"
    if !(contains(try(job.drill.server, null) == null ? local.consumption_cpu_units : [512, 1024, 2048], try(job.drill.cpu, 1024)) && try(job.drill.memoryMiB, 2048) == 2 * try(job.drill.cpu, 1024))
  ]
  # The scratch server beside the runner (what core/config/drill-sidecar.ts describes for every
  # cloud): the official image of drill.server, trust authentication for loopback connections only.
  # It listens on every interface so the platform's TCP startup probe, which comes from outside
  # the replica, reaches it; anything but the runner on 127.0.0.1 finds no pg_hba entry.
  # Container Apps ends an execution only when all its containers have exited, so the server stops
  # itself once the drill is over: its scratch database came and went (the drill drops it on
  # success, failure and interrupt), or no drill created one within 15 minutes (the drill failed
  # before restoring). SIGTERM, a smart shutdown: a background job of `sh -c` ignores SIGINT until
  # the program sets its own handler. It always exits 0: the runner's exit is the execution's outcome.
  drill_server_port     = 5432
  drill_server_database = "vaultra_drill"
  drill_server_script   = <<-EOT
    printf 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' > /tmp/vaultra-hba.conf
    docker-entrypoint.sh postgres -c listen_addresses='*' -c hba_file=/tmp/vaultra-hba.conf -c fsync=off &
    server=$!
    seen=0
    waited=0
    while kill -0 "$server" 2>/dev/null; do
      sleep 5
      found=$(psql -h 127.0.0.1 -p ${local.drill_server_port} -U postgres -d postgres -XAtc "select count(*) from pg_database where datname = '${local.drill_server_database}'" 2>/dev/null) || continue
      if [ "$found" = 1 ]; then
        seen=1
      elif [ "$seen" = 1 ]; then
        break
      else
        waited=$((waited + 5))
        [ "$waited" -lt 900 ] || break
      fi
    done
    kill -TERM "$server" 2>/dev/null
    wait "$server"
    exit 0
  EOT
}
