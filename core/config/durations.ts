import * as z from 'zod';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `90m`, `26h`, `7d`: the durations a config file speaks in (minutes and up: schedules are coarse). */
export const durationSchema = z
  .string()
  .regex(/^[1-9]\d{0,5}[mhd]$/, 'a duration such as 90m, 26h or 7d')
  .transform((text) => Number(text.slice(0, -1)) * UNIT_MS[text.at(-1) as keyof typeof UNIT_MS]);

/** `26h` for 93,600,000: the shortest exact spelling, for messages and generated resources. */
export function formatDurationMs(ms: number): string {
  for (const unit of ['d', 'h', 'm'] as const) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${Math.round(ms / 1000)}s`;
}
