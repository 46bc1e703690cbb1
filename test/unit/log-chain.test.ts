import { describe, expect, it } from 'vitest';
import { baseLogDetails, baseLogPositionOf, compareLogPositions, logRangeSchema, type LogRange } from '../../core/domain/log-archive.js';
import { baseFor, chainTo, gapsAfter, reachableWindows, reachOf, type ArchivedRange, type BaseAt } from '../../core/domain/log-chain.js';
import { unreachableMessage } from '../../core/usecases/plan-point-in-time.js';

const T0 = Date.UTC(2031, 0, 1, 10, 0, 0);
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

function binlogRange(runId: string, start: string, end: string, coveredMinute: number, extra: Partial<LogRange> = {}): ArchivedRange {
  return { runId, range: { kind: 'binlog', format: 'binlog-tar/v1', start, end, coveredUntil: at(coveredMinute).toISOString(), events: 1, ...extra } };
}

const base = (runId: string, start: string, minute: number, consistent = start): BaseAt => ({ runId, position: { kind: 'binlog', start, consistent, consistentAt: at(minute) } });

describe('log positions', () => {
  it('orders binlog files by their number, then offset; WAL LSNs and oplog timestamps as pairs', () => {
    expect(compareLogPositions('binlog', 'binlog.000009:900', 'binlog.000010:4')).toBeLessThan(0);
    expect(compareLogPositions('binlog', 'binlog.000010:400', 'binlog.000010:40')).toBeGreaterThan(0);
    expect(compareLogPositions('wal', '0/FF000000', '1/0')).toBeLessThan(0);
    expect(compareLogPositions('wal', '0/3000060', '0/3000060')).toBe(0);
    expect(compareLogPositions('oplog', '1765000000:9', '1765000001:1')).toBeLessThan(0);
  });

  it('refuses a range whose positions are not of its kind', () => {
    const range = binlogRange('r', 'binlog.000001:4', 'binlog.000001:400', 1).range;
    expect(logRangeSchema.safeParse(range).success).toBe(true);
    expect(logRangeSchema.safeParse({ ...range, end: '0/3000060' }).success).toBe(false);
  });

  it("round-trips a base's position through a manifest's details, and ignores malformed ones", () => {
    const position = { kind: 'wal' as const, start: '0/2000028', consistent: '0/2000100', consistentAt: at(3), timeline: 1 };
    expect(baseLogPositionOf(baseLogDetails(position))).toEqual(position);
    expect(baseLogPositionOf({ ...baseLogDetails(position), logStart: 'nonsense' })).toBeUndefined();
    expect(baseLogPositionOf({ gtidPurged: '0-1-5' })).toBeUndefined();
  });
});

describe('the archive chain', () => {
  const ranges = [
    binlogRange('l1', 'binlog.000001:400', 'binlog.000001:900', 5),
    binlogRange('l2', 'binlog.000001:900', 'binlog.000002:300', 10),
    binlogRange('l3', 'binlog.000002:300', 'binlog.000002:300', 15, { events: 0 }),
    binlogRange('l4', 'binlog.000002:300', 'binlog.000003:120', 20),
  ];

  it('follows ranges that start where the last ended, empty ones moving time on', () => {
    const reach = reachOf(base('b1', 'binlog.000001:400', 1), ranges);
    expect(reach.chain.map((r) => r.runId)).toEqual(['l1', 'l2', 'l4']);
    expect(reach.from).toEqual(at(1));
    expect(reach.until).toEqual(at(20));
    expect(chainTo(reach, at(7)).map((r) => r.runId)).toEqual(['l1', 'l2']);
  });

  it('starts inside the range that holds the base position (pushes ran before the base)', () => {
    const reach = reachOf(base('b2', 'binlog.000001:700', 3), ranges);
    expect(reach.chain[0]!.runId).toBe('l1');
    expect(reach.until).toEqual(at(20));
  });

  it('finds the path around two pushes that overlapped', () => {
    const raced = [
      binlogRange('a', 'binlog.000001:400', 'binlog.000001:500', 5),
      binlogRange('b', 'binlog.000001:400', 'binlog.000001:600', 6),
      binlogRange('c', 'binlog.000001:500', 'binlog.000001:900', 9),
    ];
    const reach = reachOf(base('b1', 'binlog.000001:400', 1), raced);
    expect(reach.chain.map((r) => r.runId)).toEqual(['a', 'c']);
    expect(reach.until).toEqual(at(9));
  });

  it('stops at a gap, reports it, and refuses times inside it naming the nearest reachable ones', () => {
    const gapped = [
      binlogRange('l1', 'binlog.000001:400', 'binlog.000001:900', 5),
      binlogRange('l5', 'binlog.000004:4', 'binlog.000004:800', 30, { gapFrom: 'binlog.000001:900', firstEventAt: at(26).toISOString() }),
    ];
    const old = base('b1', 'binlog.000001:400', 1);
    const fresh = base('b2', 'binlog.000004:4', 25);
    const reaches = [reachOf(fresh, gapped), reachOf(old, gapped)];
    expect(reaches[1]!.until).toEqual(at(5));
    expect(baseFor(reaches, at(12))).toBeUndefined();
    expect(baseFor(reaches, at(27))!.base.runId).toBe('b2');
    const gaps = gapsAfter(old, gapped);
    expect(gaps).toEqual([expect.objectContaining({ after: 'binlog.000001:900', resumesAt: 'binlog.000004:4', runId: 'l5', cause: 'purged' })]);
    const message = unreachableMessage('shop', at(12), reachableWindows(reaches));
    expect(message).toContain('falls in a gap');
    expect(message).toContain('2031-01-01T10:05:00Z before it');
    expect(message).toContain('2031-01-01T10:25:00Z after it');
    expect(unreachableMessage('shop', at(45), reachableWindows(reaches))).toContain('after the last archived log');
    expect(unreachableMessage('shop', at(-5), reachableWindows(reaches))).toContain('before the first base');
  });

  it('a physical base reaches nothing until the log brings it to its consistent point', () => {
    const wal = (runId: string, start: string, end: string, minute: number): ArchivedRange => ({ runId, range: { kind: 'wal', format: 'wal-tar/v1', start, end, coveredUntil: at(minute).toISOString(), events: 1, timeline: 1 } });
    const physical: BaseAt = { runId: 'p', position: { kind: 'wal', start: '0/2000028', consistent: '0/2000100', consistentAt: at(2), timeline: 1 } };
    expect(reachOf(physical, []).from).toBeUndefined();
    // WAL segments are re-read whole: a range may start before the last one ended.
    const reach = reachOf(physical, [wal('w1', '0/2000000', '0/2000080', 3), wal('w2', '0/2000000', '0/3000010', 8)]);
    expect(reach.chain.map((r) => r.runId)).toEqual(['w2']);
    expect(reach.from).toEqual(at(2));
    expect(reach.until).toEqual(at(8));
  });
});
