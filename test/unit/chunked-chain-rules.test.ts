/**
 * The rules of a chunked chain that need no dump: the snapshot index's lines both ways, which
 * type a scheduled chain run takes from what is stored (against an injected clock), a config
 * job's `chain` becoming its backup spec, and the dedup key's forms.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chunkLine, parseIndexLine, streamLine, indexHeaderLine } from '../../core/domain/snapshot-format.js';
import { chainRunType } from '../../core/usecases/snapshot-base.js';
import { backupSpecOf } from '../../core/usecases/runner-commands.js';
import { resolveConfig } from '../../core/config/environments.js';
import { dedupKeyFor } from '../../runner/dedup-key.js';
import { MemoryStorageBackend } from '../fakes/memory-storage.js';
import { writeChunkedRun, newPackName } from '../support/chunked-fixtures.js';

const DAY = 86_400_000;

describe('snapshot index lines', () => {
  it('read back what they write, names with tabs and slashes included', () => {
    const stream = { name: 'table/public.odd\tname "x"', role: 'table' };
    expect(parseIndexLine(streamLine(3, stream).trimEnd())).toEqual({ stream: { number: 3, ...stream } });
    const chunk = { stream: 3, id: 'ab'.repeat(32), pack: newPackName(true), offset: 12, storedLength: 34, rawLength: 56 };
    expect(parseIndexLine(chunkLine(chunk).trimEnd())).toEqual({ chunk });
    expect(parseIndexLine(indexHeaderLine().trimEnd())).toBeUndefined();
  });

  it('refuse what is not a line of this version', () => {
    expect(() => parseIndexLine('vaultra-snapshot-index\t2')).toThrow(/version 2/);
    expect(() => parseIndexLine(`chunk\t0\t${'z'.repeat(64)}\tpack-x\t0\t1\t1`)).toThrow(/7 fields/);
    expect(() => parseIndexLine(`chunk\t0\t${'a'.repeat(64)}\t${newPackName()}\t-1\t1\t1`)).toThrow(/not a count/);
    expect(() => parseIndexLine('mystery\t1')).toThrow(/unknown index record/);
  });
});

describe('the type a scheduled chain run takes', () => {
  const now = new Date('2031-03-10T03:00:00Z');
  const rhythm = { fullEveryMs: 7 * DAY, differentialEveryMs: DAY };
  const typeAfter = async (runs: { type: 'full' | 'differential' | 'incremental'; ageMs: number }[]) => {
    const storage = new MemoryStorageBackend();
    let previous: string | undefined;
    for (const run of runs) {
      const written = await writeChunkedRun(storage, 'shop', { [newPackName()]: Buffer.from('p') }, new Date(now.getTime() - run.ageMs), { type: run.type, ...(run.type === 'full' ? {} : { baseRunId: previous }) });
      previous = written.runId;
    }
    return chainRunType(storage, { job: 'shop', type: 'incremental', rhythm, now });
  };

  it('a full when there is none, or the last is older than fullEvery', async () => {
    expect(await typeAfter([])).toBe('full');
    expect(await typeAfter([{ type: 'full', ageMs: 8 * DAY }, { type: 'incremental', ageMs: DAY / 2 }])).toBe('full');
  });
  it('a differential once differentialEvery passed since the last full or differential', async () => {
    expect(await typeAfter([{ type: 'full', ageMs: 3 * DAY }, { type: 'incremental', ageMs: DAY / 2 }])).toBe('differential');
    expect(await typeAfter([{ type: 'full', ageMs: 3 * DAY }, { type: 'differential', ageMs: 2 * DAY }, { type: 'incremental', ageMs: DAY / 4 }])).toBe('differential');
  });
  it('else the chain type', async () => {
    expect(await typeAfter([{ type: 'full', ageMs: 3 * DAY }, { type: 'differential', ageMs: DAY / 2 }, { type: 'incremental', ageMs: DAY / 4 }])).toBe('incremental');
  });
});

describe("a config job's chain", () => {
  it('becomes the spec the runner gets', () => {
    const config = resolveConfig({
      version: 1,
      environments: {
        prod: {
          cloud: 'local',
          storage: { url: 'file:///srv/backups' },
          jobs: {
            shop: {
              source: 'env://SHOP_URL',
              schedule: { cron: '0 * * * *' },
              encryption: { kms: false, recipients: ['age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p'] },
              chain: { type: 'incremental', fullEvery: '7d', differentialEvery: '1d', jobs: 2 },
            },
          },
        },
      },
    });
    const job = config.environments.get('prod')!.jobs[0]!;
    const spec = backupSpecOf(job, { storageUrl: 'file:///srv/backups' });
    expect(spec).toMatchObject({ type: 'incremental', chain: { fullEveryMs: 7 * DAY, differentialEveryMs: DAY }, jobs: 2 });
  });
});

describe('the dedup key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vaultra-dedup-key-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const quiet = () => undefined;

  it('is created once beside the default identity, then read back the same', async () => {
    const env = { XDG_CONFIG_HOME: dir };
    const first = await dedupKeyFor(undefined, quiet, env);
    expect(first).toHaveLength(32);
    expect(await dedupKeyFor(undefined, quiet, env)).toEqual(first);
  });
  it('takes 64 hex digits as the key, and hashes a longer generated secret into one', async () => {
    const hex = 'ab'.repeat(32);
    expect((await dedupKeyFor('env://KEY', quiet, { KEY: hex })).toString('hex')).toBe(hex);
    const generated = await dedupKeyFor('env://KEY', quiet, { KEY: 'A1b2'.repeat(16) });
    expect(generated).toHaveLength(32);
    expect(generated.toString('hex')).not.toBe(hex);
  });
  it('refuses a short secret and a missing variable, in one line, without quoting them', async () => {
    await expect(dedupKeyFor('env://KEY', quiet, { KEY: 'short-secret' })).rejects.toThrow(/^\$KEY is not a dedup key: expected 64 hex digits/);
    await expect(dedupKeyFor('env://NOPE', quiet, {})).rejects.toThrow(/\$NOPE is not set/);
    const file = join(dir, 'bad.txt');
    writeFileSync(file, '# comment\nnot-a-key\n');
    await expect(dedupKeyFor(file, quiet, {})).rejects.toThrow(/dedup key file .*bad\.txt is not a dedup key/);
  });
});
