import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunTracer, TraceAttributes } from '../../core/ports/run-tracer.js';
import { PhaseTimings, phasesField } from '../../core/usecases/phase-timings.js';
import { LocalRunLogWriter } from '../../core/adapters/run-log/local-run-log-writer.js';
import { LocalRunLogReader } from '../../core/adapters/run-log/local-run-log-reader.js';
import { localRunLogPath, RUN_LOG_MAX_BYTES } from '../../core/adapters/run-log/local-run-log-file.js';
import { registerSecret } from '../../core/domain/redact.js';
import type { RunRecord } from '../../core/domain/run.js';
import { phasesNotedIn, RunOutputLog, type OutputStream, type RunLogSink } from '../../runner/run-output-log.js';
import { logLineText, phaseLines } from '../../runner/run-record-lines.js';
import { runLines } from '../../runner/tui/views/run-view.js';
import { cliFor } from '../../runner/tui/cli-equivalent.js';
import type { ConsoleSources } from '../../runner/tui/console-data.js';
import type { LocatedBackup } from '../../core/usecases/locate-backup.js';

/** A clock the test moves by hand: every duration below is exact, whatever the machine's speed or date. */
function manualClock(startIso = '2026-11-22T03:15:00.000Z') {
  let nowMs = Date.parse(startIso);
  return { now: () => new Date(nowMs), advance: (ms: number) => void (nowMs += ms) };
}

/** A tracer that records the spans reaching it: the timing wrapper must pass each on unchanged. */
function recordingTracer(seen: { name: string; attributes: TraceAttributes }[]): RunTracer {
  return { span: (name, attributes, fn) => (seen.push({ name, attributes }), fn({ setAttributes: () => undefined, addEvent: () => undefined, fail: () => undefined })) };
}

const RUN: RunRecord = { runId: '20261122T031500.000Z-abcdef', job: 'shop', kind: 'backup', status: 'failed', startedAt: '2026-11-22T03:15:00.000Z' };

describe('phase timings (the injected clock)', () => {
  it('records each phase by its span name, in the order they started, and passes spans and results through', async () => {
    // Prepare
    const clock = manualClock();
    const seen: { name: string; attributes: TraceAttributes }[] = [];
    const timings = new PhaseTimings(clock.now);
    const tracer = timings.tracing(recordingTracer(seen));
    // Act
    const claimed = await tracer.span('claim', { 'vaultra.run_id': RUN.runId }, async () => (clock.advance(4), 'claimed'));
    await tracer.span('dump, compress, encrypt, upload', {}, async () => clock.advance(812));
    await tracer.span('catalog', {}, async () => clock.advance(3));
    await tracer.span('catalog', {}, async () => clock.advance(2));
    // Assess
    expect(claimed).toBe('claimed');
    expect(seen).toEqual([{ name: 'claim', attributes: { 'vaultra.run_id': RUN.runId } }, { name: 'dump, compress, encrypt, upload', attributes: {} }, { name: 'catalog', attributes: {} }, { name: 'catalog', attributes: {} }]);
    expect(timings.phasesMs()).toEqual({ claim: 4, 'dump, compress, encrypt, upload': 812, catalog: 5 });
    expect(Object.keys(timings.phasesMs())).toEqual(['claim', 'dump, compress, encrypt, upload', 'catalog']);
    expect(phasesField(timings)).toEqual({ phasesMs: timings.phasesMs() });
  });

  it('counts a failed phase until it failed, rethrows its error unchanged, and never records a negative duration', async () => {
    const clock = manualClock();
    const timings = new PhaseTimings(clock.now);
    const tracer = timings.tracing(recordingTracer([]));
    const failure = new Error('pg_dump exited 1');
    await expect(tracer.span('start dump', {}, async () => (clock.advance(31), Promise.reject(failure)))).rejects.toBe(failure);
    await tracer.span('sign', {}, async () => clock.advance(-1_000)); // the clock set back meanwhile
    expect(timings.phasesMs()).toEqual({ 'start dump': 31, sign: 0 });
  });

  it('leaves phasesMs out of a record when nothing was timed', () => {
    expect(phasesField(new PhaseTimings(manualClock().now))).toEqual({});
    expect(phasesField(undefined)).toEqual({});
  });

  it('prints one aligned line per phase with its share of the phases\' time', () => {
    expect(phaseLines({ phasesMs: { claim: 4, 'dump, compress, encrypt, upload': 1_500, commit: 496 } })).toEqual([
      'claim                              4 ms    0 %',
      'dump, compress, encrypt, upload   1.5 s   75 %',
      'commit                           496 ms   25 %',
    ]);
    expect(phaseLines({})).toEqual([]);
  });
});

describe('the local run log', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const fresh = () => (dir = mkdtempSync(join(tmpdir(), 'vaultra-run-log-')));

  it('keeps each line with its time beside the catalog record, redacted, and reads back the newest lines first-to-last', async () => {
    // Prepare
    fresh();
    const clock = manualClock();
    registerSecret('canary-run-log-secret');
    // Act
    const writer = new LocalRunLogWriter(dir, RUN, clock.now);
    writer.write('vaultra: connecting to postgres://app:hunter2@db/shop\n');
    clock.advance(1_250);
    writer.write('vaultra: warning: canary-run-log-secret in a tool\'s output\n\n   \nvaultra: error: pg_dump failed');
    writer.close();
    // Assess
    const path = localRunLogPath(dir, 'shop', RUN.runId);
    expect(path).toBe(join(dir, 'shop', `${RUN.runId}.log`));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('canary-run-log-secret');
    const reader = new LocalRunLogReader(dir);
    expect(await reader.read(RUN, { limit: 10 })).toEqual([
      { at: '2026-11-22T03:15:00.000Z', text: 'vaultra: connecting to postgres://app:***@db/shop' },
      { at: '2026-11-22T03:15:01.250Z', text: "vaultra: warning: *** in a tool's output" },
      { at: '2026-11-22T03:15:01.250Z', text: 'vaultra: error: pg_dump failed' },
    ]);
    expect((await reader.read(RUN, { limit: 1 }))?.map(logLineText)).toEqual(['03:15:01.250  vaultra: error: pg_dump failed']);
    expect(await reader.read({ ...RUN, runId: '20261122T031500.000Z-000000' }, { limit: 10 })).toBeUndefined();
  });

  it('is bounded: past its size it keeps its first lines, says how many it left out, and keeps the last ones (the error line among them)', async () => {
    fresh();
    const writer = new LocalRunLogWriter(dir, RUN, manualClock().now);
    const line = `vaultra: retrying ${'x'.repeat(980)}`;
    for (let i = 0; i < 1_000; i += 1) writer.write(`${line} ${i}\n`);
    writer.write('vaultra: error: gave up after 1000 retries');
    writer.close();
    const size = statSync(localRunLogPath(dir, 'shop', RUN.runId)).size;
    expect(size).toBeLessThanOrEqual(RUN_LOG_MAX_BYTES + 21 * 1_100);
    const reader = new LocalRunLogReader(dir);
    expect((await reader.read(RUN, { limit: 10_000 }))![0]!.text).toBe(`${line} 0`);
    const lines = (await reader.read(RUN, { limit: 21 }))!.map((entry) => entry.text);
    expect(lines[0]).toMatch(/^… \d+ line\(s\) left out: a run log keeps its first 256 KiB and its last 20 lines$/);
    expect(lines.at(-2)).toBe(`${line} 999`);
    expect(lines.at(-1)).toBe('vaultra: error: gave up after 1000 retries');
  });

  it('copies what the run prints, as lines: a progress bar\'s redraws left out, stdout only when asked, held until the log is attached', () => {
    // Prepare: streams of our own, standing for process.stderr and process.stdout
    const clock = manualClock();
    const written: string[] = [];
    const reached: string[] = [];
    const stream = (): OutputStream => ({ write: ((chunk: string | Uint8Array) => (reached.push(String(chunk)), true)) as OutputStream['write'] });
    const [stderr, stdout] = [stream(), stream()];
    const originalWrite = stderr.write;
    const sink: RunLogSink = { write: (text, at) => void written.push(`${at.toISOString().slice(17)} ${text}`), close: () => void written.push('(closed)') };
    // Act
    const log = new RunOutputLog({ stderr, now: clock.now });
    stderr.write('vaultra: created identity x\n');
    clock.advance(2_000);
    log.attach(sink);
    for (let mib = 1; mib <= 1_000; mib += 1) stderr.write(`\r\x1b[2Kbackup ${mib}.0 MiB · 2 MiB/s`);
    stderr.write('\r\x1b[2Kvaultra: retrying PUT (attempt 2)\n');
    stdout.write('{ "json": "for programs" }\n');
    log.note('commit: done in 14 ms');
    stderr.write(Buffer.from('vaultra: error: the last line, unfinished'));
    log.stop();
    // Assess: a line held until the log was attached keeps the time it was printed; everything still reached the streams.
    expect(written).toEqual(['00.000Z vaultra: created identity x', '02.000Z vaultra: retrying PUT (attempt 2)', '02.000Z commit: done in 14 ms', '02.000Z vaultra: error: the last line, unfinished', '(closed)']);
    expect(reached).toHaveLength(1 + 1_000 + 3);
    expect(stderr.write).toBe(originalWrite);
  });

  it('holds nothing once discarded (a run whose log the platform keeps), and gives the stream back', () => {
    const reached: string[] = [];
    const stderr: OutputStream = { write: ((chunk: string) => (reached.push(chunk), true)) as OutputStream['write'] };
    const original = stderr.write;
    const log = new RunOutputLog({ stderr, now: manualClock().now });
    stderr.write('vaultra: before the catalog was known\n');
    log.discard();
    log.note('commit: done in 14 ms');
    const written: string[] = [];
    log.attach({ write: (text) => void written.push(text), close: () => undefined });
    expect(written).toEqual([]);
    expect(stderr.write).toBe(original);
    expect(reached).toEqual(['vaultra: before the catalog was known\n']);
  });

  it('notes each phase as it starts and ends, with how long it took, and a failure as a failure', async () => {
    const clock = manualClock();
    const written: string[] = [];
    const log = new RunOutputLog({ stderr: { write: (() => true) as OutputStream['write'] }, now: clock.now });
    log.attach({ write: (text) => void written.push(text), close: () => undefined });
    const tracer = phasesNotedIn(log, recordingTracer([]), clock.now);
    await tracer.span('claim', {}, async () => clock.advance(4));
    await expect(tracer.span('start dump', {}, async () => (clock.advance(1_500), Promise.reject(new Error('no such file'))))).rejects.toThrow('no such file');
    log.stop();
    expect(written).toEqual(['claim …', 'claim: done in 4 ms', 'start dump …', 'start dump: failed after 1.5 s']);
  });
});

describe("the console's run screen: timings and log blocks", () => {
  const failed: RunRecord = { ...RUN, durationMs: 40, error: { kind: 'not-found', message: 'SQLite database /srv/gone.db does not exist' }, phasesMs: { 'open tools': 98, claim: 115, 'start dump': 27 } };

  it('shows the timings per phase and the last log lines, each with its time of day', () => {
    const lines = runLines(failed, { log: [{ at: '2026-11-22T03:15:00.120Z', text: 'start dump: failed after 27 ms' }, { at: '2026-11-22T03:15:00.140Z', text: 'vaultra: error: SQLite database /srv/gone.db does not exist' }] });
    expect(lines.slice(lines.indexOf('timings'))).toEqual([
      'timings',
      '  open tools   98 ms   41 %',
      '  claim       115 ms   48 %',
      '  start dump   27 ms   11 %',
      '',
      'log (last 2 line(s), all with vaultra show --log)',
      '  03:15:00.120  start dump: failed after 27 ms',
      '  03:15:00.140  vaultra: error: SQLite database /srv/gone.db does not exist',
    ]);
  });

  it('says when no log is kept for the run, or why it could not be read, and leaves the rest of the screen as it is', () => {
    expect(runLines(failed, {}).at(-1)).toBe('log: none kept here (the runner keeps the log of each backup, restore, verify and drill it runs, beside a local catalog)');
    expect(runLines(failed, { logError: 'reading the log of run R in /srv/x.log failed: EACCES; check the folder\'s permissions' }).slice(-2)).toEqual(['log', "  could not be read: reading the log of run R in /srv/x.log failed: EACCES; check the folder's permissions"]);
    // Still loading: no log block yet.
    expect(runLines(failed, undefined).at(-1)).toBe('  start dump   27 ms   11 %');
  });

  it("shows who signed the manifest and whether the verify's trust accepts it, an untrusted signer with the reason", () => {
    // A real manifest of the v1 fixture store: what the screen reads from storage.
    const manifest = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/v1/store/sqlite-shop/2026/12/06/20261206T134506.916Z-ac1235/manifest.json'), 'utf8')) as LocatedBackup['manifest'];
    const backup = { runId: '20261206T134506.916Z-ac1235', job: 'sqlite-shop', manifest } as LocatedBackup;
    const succeeded: RunRecord = { ...RUN, status: 'succeeded' };
    const keyId = 'ed25519:MCowBQYDK2VwAyEA++j7cqzYgzPLXSHd3BkEKtBS+oDiCXtAdPfTxQhQK9Q=';
    const trusted = runLines(succeeded, { backup, signature: { verified: true, keyId, trustedAs: 'your signing key /home/me/.config/vaultra/signing-key.pem', manifestSha256: 'a'.repeat(64) } });
    expect(trusted).toContainEqual(expect.stringMatching(/^ {2}signature\s+✔ verified, trusted as your signing key \/home\/me\/\.config\/vaultra\/signing-key\.pem$/));
    expect(trusted).toContainEqual(expect.stringMatching(new RegExp(`^ {2}signed by\\s+${keyId.replace(/[+/=]/g, '\\$&')}$`)));
    const untrusted = runLines(succeeded, { backup, signature: { verified: false, reason: 'it is signed by ed25519:…fTxQhQK9Q=, which is not a trusted signer', manifestSha256: 'a'.repeat(64) } });
    expect(untrusted).toContainEqual(expect.stringMatching(/^ {2}signature\s+✘ NOT trusted: it is signed by ed25519:…fTxQhQK9Q=, which is not a trusted signer$/));
    expect(untrusted.some((line) => line.includes('signed by  '))).toBe(false);
  });

  it('names vaultra show --log as the CLI of a run without a stored backup', () => {
    const sources = { environment: { name: 'laptop' }, storageUrl: 'file:///srv/backups', catalogSpec: 'dynamodb://runs' } as unknown as ConsoleSources;
    expect(cliFor.runLog(sources, 'shop', RUN.runId)).toBe(`vaultra show ${RUN.runId} --job shop --log --from file:///srv/backups --catalog dynamodb://runs`);
  });
});
