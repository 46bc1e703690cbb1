/**
 * An OTel attribute key as a Prometheus label name, the way the OpenTelemetry Collector's
 * Prometheus exporter makes it (`vaultra.job` → `vaultra_job`, `db.system` → `db_system`): what
 * PromQL, a textfile and a log-based metric's labels call it. Anything outside `[a-zA-Z0-9_]`
 * becomes `_`; a leading digit gets a `key_` prefix.
 */
export function prometheusLabelName(key: string): string {
  const name = key.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(name) ? `key_${name}` : name;
}
