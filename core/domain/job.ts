import * as z from 'zod';
import { jobNameSchema } from './run.js';
import { ageRecipientSchema as ageRecipient, isTimeZone, retentionKeepSchema } from './shared-schemas.js';


/**
 * A job: a named backup definition (DESIGN.md §3). The CLI builds one from its flags; the
 * config file (with the scheduler) will build them from `vaultra.config.yaml`. Either way it is
 * validated here, once, at the edge.
 */
export const jobSchema = z.strictObject({
  name: jobNameSchema,
  /** A database URL (`postgres://…`, `sqlite:…`); may carry a password, so never print it raw. */
  source: z.string().min(1),
  /** Storage URLs; the same backup goes to each, from one dump (the first one holds the run record's location). */
  destinations: z
    .array(z.string().min(1))
    .min(1)
    .max(8, 'at most 8 destinations per backup')
    .refine((urls) => new Set(urls).size === urls.length, 'the same destination is named twice'),
  compression: z
    .strictObject({
      id: z.enum(['zstd', 'gzip', 'none']),
      level: z.number().int().optional(),
    })
    .default({ id: 'zstd' }),
  encryption: z
    .discriminatedUnion('mode', [
      z.strictObject({ mode: z.literal('recipients'), recipients: z.array(ageRecipient).min(1) }),
      /** The passphrase itself never enters a job: only the name of the variable holding it. */
      z.strictObject({ mode: z.literal('passphrase'), passphraseEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') }),
      z.strictObject({ mode: z.literal('default-identity') }),
      z.strictObject({ mode: z.literal('none') }),
    ])
    .default({ mode: 'default-identity' }),
  schedule: z
    .strictObject({
      cron: z.string().regex(/^(\S+\s+){4}\S+$/, 'a five-field cron expression'),
      timeZone: z.string().refine(isTimeZone, 'an IANA time zone such as Europe/Paris').default('UTC'),
    })
    .optional(),
  retention: retentionKeepSchema.optional(),
  timeoutMs: z.number().int().positive().optional(),
});
export type Job = z.infer<typeof jobSchema>;
export type JobInput = z.input<typeof jobSchema>;
