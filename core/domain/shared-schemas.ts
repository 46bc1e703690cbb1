import * as z from 'zod';

/** Schemas the CLI's job and the config file share. */

export const ageRecipientSchema = z.string().regex(/^age1[02-9ac-hj-np-z]{58}$/, 'an age X25519 recipient looks like age1 followed by 58 bech32 characters');

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Grandfather-father-son retention: how many backups to keep per period (DESIGN.md §7). */
export const retentionKeepSchema = z.strictObject({
  last: z.number().int().nonnegative().optional(),
  hourly: z.number().int().nonnegative().optional(),
  daily: z.number().int().nonnegative().optional(),
  weekly: z.number().int().nonnegative().optional(),
  monthly: z.number().int().nonnegative().optional(),
  yearly: z.number().int().nonnegative().optional(),
});
export type RetentionKeep = z.infer<typeof retentionKeepSchema>;

/** A URL with a password in it: what a config file or a request must never hold. */
export function urlCarriesPassword(value: string): boolean {
  try {
    return new URL(value).password !== '';
  } catch {
    return false;
  }
}
