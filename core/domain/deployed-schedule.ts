/**
 * One schedule as a cloud deployment holds it, in the platform's own expression form: what
 * `vaultra schedule` compares against the config file. `name` is the logical name the deploy
 * tooling gives it — the job's name for its backups, `Logs-<job>` for its log catch-ups — with
 * any platform prefix (`vaultra-<env>-` on Cloud Scheduler) removed.
 */
export interface DeployedSchedule {
  readonly name: string;
  /** `cron(15 2 * * ? *)` and `rate(15 minutes)` on AWS, a five-field cron on GCP and Azure, `every 15m` for an Azure log catch-up. */
  readonly expression: string;
  /** IANA time zone the expression is read in. */
  readonly timeZone: string;
  /** Whether the platform fires it (a paused Cloud Scheduler job or a DISABLED schedule does not). */
  readonly enabled: boolean;
}
