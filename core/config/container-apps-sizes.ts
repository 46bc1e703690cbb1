/**
 * The runner sizes an Azure environment may ask for. The Container Apps launcher overrides the
 * job's size per run with the job's `runtime` (CPU units / 1024 → cores, MiB / 1024 → Gi), and
 * Container Apps refuses, at start time, any pair outside its table: on the Consumption plan the
 * cores go from 0.25 to 2 in steps of 0.25 and the memory is exactly twice the cores in GiB
 * (learn.microsoft.com/azure/container-apps/containers#allocations). infra/azure creates a
 * Consumption-only environment, whose ceiling is 2 cores / 4 GiB (4 / 8 needs a workload-profiles
 * environment). Checked when the config is read, so a bad size fails `terraform plan` and the
 * tests instead of every scheduled run of that job.
 */

/** The CPU units (1024 = one core) of the pairs the config can express on Consumption. */
export const CONTAINER_APPS_CPU_UNITS = [256, 512, 1024, 2048] as const;

/** Two cores: the most a Consumption-only environment gives one replica. */
const MAX_CPU_UNITS = 2048;

/** Memory of a Consumption pair: 2 GiB per core, i.e. twice the CPU units in MiB. */
export function containerAppsMemoryMiB(cpuUnits: number): number {
  return cpuUnits * 2;
}

interface RuntimeSize {
  readonly cpu?: number | undefined;
  readonly memoryMiB?: number | undefined;
}

/**
 * Why `runtime` (a job's, after its environment's defaults) is not a size Container Apps takes,
 * or undefined when it is. No override at all is fine: the job then runs at the size Terraform
 * gave the runner job. Half an override is not: the launcher would pair it with the other half of
 * the job's own size, which is a valid pair only by chance.
 */
export function containerAppsSizeProblem(runtime: RuntimeSize): string | undefined {
  const { cpu, memoryMiB } = runtime;
  if (cpu === undefined && memoryMiB === undefined) return undefined;
  const pairs = CONTAINER_APPS_CPU_UNITS.map((units) => `${units}/${containerAppsMemoryMiB(units)}`).join(', ');
  const expected = `on azure a runtime is a Container Apps Consumption pair, cpu/memoryMiB one of ${pairs} (cores 0.25-2, memory twice the cores)`;
  if (cpu === undefined || memoryMiB === undefined) return `${expected}: give both cpu and memoryMiB (got ${JSON.stringify(runtime)})`;
  if (!(CONTAINER_APPS_CPU_UNITS as readonly number[]).includes(cpu) || memoryMiB !== containerAppsMemoryMiB(cpu)) {
    return `${expected} (got cpu ${cpu}, memoryMiB ${memoryMiB})`;
  }
  return undefined;
}

/**
 * Why an azure environment's `runner` size is beyond the Consumption ceiling, or undefined.
 * Terraform rounds a size between the pairs up to the next pair (infra/azure/locals.tf); above
 * 2 cores / 4 GiB it has nothing to round to.
 */
export function containerAppsRunnerProblem(runner: Required<RuntimeSize>): string | undefined {
  if (runner.cpu <= MAX_CPU_UNITS && runner.memoryMiB <= containerAppsMemoryMiB(MAX_CPU_UNITS)) return undefined;
  return `on azure the runner takes at most cpu ${MAX_CPU_UNITS} and memoryMiB ${containerAppsMemoryMiB(MAX_CPU_UNITS)} (2 cores, 4 GiB: the Consumption ceiling of Container Apps) (got cpu ${runner.cpu}, memoryMiB ${runner.memoryMiB})`;
}
