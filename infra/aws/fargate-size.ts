import { ConfigError } from '../../core/errors.js';

/** Fargate's memory choices per CPU size (Linux): [min, max, step] in MiB. */
const MEMORY_BY_CPU: Readonly<Record<number, readonly [number, number, number]>> = {
  256: [512, 2048, 512], // 1536 excepted below
  512: [1024, 4096, 1024],
  1024: [2048, 8192, 1024],
  2048: [4096, 16384, 1024],
  4096: [8192, 30720, 1024],
  8192: [16384, 61440, 4096],
  16384: [32768, 122880, 8192],
};

/** The least memory any Fargate task has (256 CPU units, 512 MiB). */
export const FARGATE_MIN_MEMORY_MIB = 512;

/**
 * Refuses, at synth, a CPU/memory pair Fargate would refuse when the task starts (for a job's
 * override, that is the night of its backup). `label` names the config field in the message.
 */
export function checkFargateSize(cpu: number, memoryMiB: number, label: string): void {
  const range = MEMORY_BY_CPU[cpu];
  if (range === undefined) throw new ConfigError(`${label}: Fargate has no ${cpu} CPU size (one of ${Object.keys(MEMORY_BY_CPU).join(', ')})`);
  const [min, max, step] = range;
  const offStep = (memoryMiB - min) % step !== 0 || (cpu === 256 && memoryMiB === 1536);
  if (memoryMiB < min || memoryMiB > max || offStep) {
    throw new ConfigError(`${label}: Fargate runs ${cpu} CPU units with ${min} to ${max} MiB of memory in steps of ${step}${cpu === 256 ? ' (512, 1024 or 2048)' : ''}, got ${memoryMiB} MiB`);
  }
}
