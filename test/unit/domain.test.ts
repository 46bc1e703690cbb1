import { describe, expect, it } from 'vitest';
import { newRunId, runIdSchema, runIdTime, jobNameSchema } from '../../core/domain/run.js';
import { manifestKey, parseManifestKey, runFolder } from '../../core/domain/object-layout.js';
import { redact, registerSecret } from '../../core/domain/redact.js';

describe('run ids', () => {
  it('are valid, sortable by time and carry their time', () => {
    // Prepare
    const earlier = newRunId(new Date('2026-11-22T03:15:02.999Z'));
    const later = newRunId(new Date('2026-11-22T03:15:03.000Z'));
    // Assess
    expect(runIdSchema.parse(earlier)).toMatch(/^20261122T031502.999Z-[0-9a-f]{6}$/);
    expect([later, earlier].sort()).toEqual([earlier, later]);
    expect(runIdTime(later).toISOString()).toBe('2026-11-22T03:15:03.000Z');
    expect(runIdTime(earlier).toISOString()).toBe('2026-11-22T03:15:02.999Z');
  });

  it('differ for runs started in the same second', () => {
    const at = new Date();
    expect(new Set(Array.from({ length: 50 }, () => newRunId(at))).size).toBe(50);
  });
});

describe('job names', () => {
  it.each(['shop', 'shop-eu.1', 'a_b'])('accepts %s', (name) => expect(jobNameSchema.safeParse(name).success).toBe(true));
  it.each(['', 'Shop', '../x', 'a/b', '-x', 'x'.repeat(64)])('refuses %j', (name) => expect(jobNameSchema.safeParse(name).success).toBe(false));
});

describe('object layout', () => {
  it('puts a run under <job>/<YYYY>/<MM>/<DD>/<runId> and finds it back from the manifest key', () => {
    const runId = '20260105T010203.042Z-abcdef';
    expect(runFolder('shop', runId)).toBe('shop/2026/01/05/20260105T010203.042Z-abcdef');
    expect(parseManifestKey(manifestKey('shop', runId))).toEqual({ job: 'shop', runId });
  });

  it('ignores keys that are not manifests of a run folder', () => {
    expect(parseManifestKey('shop/2026/01/05/20260105T010203.042Z-abcdef/data.pgdump.zst.age')).toBeUndefined();
    expect(parseManifestKey('shop/manifest.json')).toBeUndefined();
    expect(parseManifestKey('a/b/shop/2026/01/05/20260105T010203.042Z-abcdef/manifest.json')).toBeUndefined();
  });
});

describe('redact', () => {
  it('removes registered secrets and URL credentials', () => {
    registerSecret('hunter2-canary');
    const text = 'FATAL: password authentication failed for hunter2-canary at postgres://app:s3cret@db:5432/x; password=abc';
    const out = redact(text);
    expect(out).not.toContain('hunter2-canary');
    expect(out).not.toContain('s3cret');
    expect(out).not.toContain('abc');
    expect(out).toContain('postgres://app:***@db:5432/x');
  });

  it('does not shred text for very short secrets', () => {
    registerSecret('a');
    expect(redact('a backup')).toBe('a backup');
  });
});
