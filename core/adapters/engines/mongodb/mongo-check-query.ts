import * as z from 'zod';
import type { Document } from 'mongodb';
import type { MongoDriver } from './mongodb-client.js';

/**
 * A drill check's query on MongoDB (docs/drills.md): Extended JSON naming a collection and either
 * a `filter`, whose answer is the number of matching documents, or an aggregation `pipeline`,
 * whose answer is the first value of its first result document. `database` is needed only when
 * the restore holds several. The SQL engines' checks are SQL; this is their Mongo form:
 *
 * ```json
 * {"collection": "orders", "filter": {"placedAt": {"$gte": {"$date": "{{backupStartedAt}}"}}}}
 * {"collection": "orders", "pipeline": [{"$group": {"_id": null, "total": {"$sum": "$amount"}}}]}
 * ```
 */
const mongoCheckSchema = z
  .strictObject({
    database: z.string().min(1).optional(),
    collection: z.string().min(1),
    filter: z.record(z.string(), z.unknown()).optional(),
    pipeline: z.array(z.record(z.string(), z.unknown())).optional(),
  })
  .refine((check) => (check.filter === undefined) !== (check.pipeline === undefined), 'give either "filter" (counted) or "pipeline" (its first value), not both');
export type MongoCheckQuery = z.infer<typeof mongoCheckSchema>;

/** Stages that write: a check only reads, so that one check cannot change what the next one reads. */
const WRITING_STAGES = ['$out', '$merge'];

const FORM = 'a MongoDB check is JSON: {"collection": "…", "filter": {…}} (counts matches) or {"collection": "…", "pipeline": [ … ]} (its first value)';

/** Parses a check's query text (Extended JSON: `{"$date": …}`, `{"$oid": …}`); throws one line naming the expected form. */
export function parseMongoCheck(text: string, driver: MongoDriver): MongoCheckQuery {
  let parsed: unknown;
  try {
    parsed = driver.BSON.EJSON.parse(text, { relaxed: true });
  } catch (error) {
    throw new Error(`the check is not valid JSON (${(error as Error).message}): ${FORM}`);
  }
  const result = mongoCheckSchema.safeParse(parsed);
  if (!result.success) throw new Error(`${result.error.issues[0]?.message ?? 'unexpected shape'}: ${FORM}`);
  const writing = result.data.pipeline?.flatMap((stage) => Object.keys(stage)).find((key) => WRITING_STAGES.includes(key));
  if (writing) throw new Error(`a check only reads: its pipeline may not use ${writing}`);
  return result.data;
}

/**
 * The answer of a check as text, to compare with its `expect`: the first field of the first
 * result document (`_id` only when it is the only one), a date as ISO 8601, an ObjectId as hex,
 * numbers and booleans as JavaScript writes them, `''` for no document or null.
 */
export function checkValueText(document: Document | undefined, driver: MongoDriver): string {
  if (!document) return '';
  const keys = Object.keys(document);
  const key = keys.find((name) => name !== '_id') ?? keys[0];
  const value: unknown = key === undefined ? undefined : document[key];
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value instanceof driver.ObjectId) return value.toHexString();
  if (value instanceof driver.Long || value instanceof driver.Decimal128 || value instanceof driver.Int32 || value instanceof driver.Double) return value.toString();
  return driver.BSON.EJSON.stringify(value, { relaxed: true });
}
