/**
 * The trace context a function hands to the runner task (DESIGN.md §9): the X-Ray header as
 * Lambda sets it, and the same ids as a W3C `traceparent` for OpenTelemetry in the runner.
 */
export function traceEnvironment(xrayHeader = process.env._X_AMZN_TRACE_ID): Record<string, string> {
  if (!xrayHeader) return {};
  const fields = Object.fromEntries(xrayHeader.split(';').map((part) => part.split('=') as [string, string]));
  const root = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/.exec(fields.Root ?? '');
  const parent = /^[0-9a-f]{16}$/.test(fields.Parent ?? '') ? fields.Parent : undefined;
  const environment: Record<string, string> = { _X_AMZN_TRACE_ID: xrayHeader };
  if (root && parent) environment.TRACEPARENT = `00-${root[1]}${root[2]}-${parent}-${fields.Sampled === '1' ? '01' : '00'}`;
  return environment;
}
