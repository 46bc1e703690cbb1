import { describe, expect, it } from 'vitest';
import { placeInlineRun } from '../../core/usecases/inline-placement.js';
import { environmentOf, jobOf } from '../../core/config/environments.js';
import { parseConfig } from '../../core/config/load-config.js';
import type { RunRecord } from '../../core/domain/run.js';

const job = jobOf(
  environmentOf(
    parseConfig(`
version: 1
environments:
  prod:
    cloud: aws
    region: eu-west-1
    jobs:
      shop: { source: "secret+aws://prod/shop", schedule: { cron: "0 3 * * *" }, runtime: inline, timeout: 10m, inline: { maxShare: 0.4 } }
`),
    'prod',
  ),
  'shop',
);
const FRESH_MS = 14 * 60_000 + 59_000;
const lastBackup = (durationMs: number | undefined): RunRecord => ({ runId: '20261204T030000.000Z-abcdef', job: 'shop', kind: 'backup', status: 'succeeded', startedAt: '2026-12-04T03:00:00.000Z', ...(durationMs === undefined ? {} : { durationMs }) });
/** A catalog that knows one thing: the job's last successful backup. */
const catalogWith = (run: RunRecord | undefined) => ({ latestSuccessful: () => Promise.resolve(run) });

describe('placeInlineRun', () => {
  it('runs inline when there is no successful backup yet, or the last one took at most its share of 15 minutes', async () => {
    expect(await placeInlineRun(catalogWith(undefined), { job, remainingMs: FRESH_MS })).toEqual({ where: 'inline' });
    expect(await placeInlineRun(catalogWith(lastBackup(360_000)), { job, remainingMs: FRESH_MS })).toEqual({ where: 'inline' });
    expect(await placeInlineRun(catalogWith(lastBackup(undefined)), { job, remainingMs: FRESH_MS })).toEqual({ where: 'inline' });
  });

  it('goes to Fargate once the last backup took longer than the share, saying by how much', async () => {
    expect(await placeInlineRun(catalogWith(lastBackup(360_001)), { job, remainingMs: FRESH_MS })).toEqual({
      where: 'fargate',
      reason: 'last-backup-too-long',
      message: "the last successful backup (20261204T030000.000Z-abcdef) took 360 s, more than the inline share of Lambda's 15 minutes (360 s)",
    });
  });

  it('goes to Fargate when the invocation has less left than the job\'s timeout and the finishing minute, without asking the catalog', async () => {
    const asked: string[] = [];
    const placement = await placeInlineRun({ latestSuccessful: (name) => (asked.push(name), Promise.resolve(undefined)) }, { job, remainingMs: 10 * 60_000 + 59_999 });
    expect(placement).toMatchObject({ where: 'fargate', reason: 'invocation-too-short' });
    expect(asked).toEqual([]);
    expect(await placeInlineRun(catalogWith(undefined), { job, remainingMs: 11 * 60_000 })).toEqual({ where: 'inline' });
  });
});
