import type { z } from 'zod';
import { ConfigError, oneLine } from '../errors.js';
import { redact } from './redact.js';

/**
 * Parses external input with a strict schema, once, at the edge. The error names the field and
 * the value received (redacted), e.g. `job.compression.id: "lz4" is not one of zstd, gzip, none`.
 */
export function parseAtEdge<S extends z.ZodType>(schema: S, value: unknown, label: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = [label, ...issue.path.map(String)].join('.');
  const received = issue.path.reduce<unknown>((node, key) => (node as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey], value);
  const shown = received === undefined ? '' : ` (got ${redact(showValue(received)).slice(0, 80)})`;
  // Keys and values come from the input: one line, control characters escaped.
  throw new ConfigError(oneLine(`${path}: ${issue.message}${shown}`));
}

/**
 * A received value for an error line. Input parsed from YAML may be circular or hold a BigInt,
 * which `JSON.stringify` throws on: the error about the input must not become an internal one.
 */
function showValue(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : String(value);
  }
}
