/**
 * The console's pure parts (vaultra tui): the add-a-job edit of the config text, the typed
 * confirmation of a restore, text entry, progress lines, windows and cells, the CLI lines each
 * screen names. The screens themselves are driven in a real terminal: test/integration/tui.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { withNewJob } from '../../runner/tui/add-job.js';
import { confirms, targetName } from '../../runner/tui/restore-confirmation.js';
import { typed } from '../../runner/tui/views/text-input.js';
import { describeProgress, progressBar } from '../../runner/tui/progress-state.js';
import { visibleWindow } from '../../runner/tui/views/visible-window.js';
import { clip, row, sparkline, wrapWords } from '../../runner/tui/cells.js';
import { cliFor } from '../../runner/tui/cli-equivalent.js';
import { footerText } from '../../runner/tui/keymap.js';
import type { ConsoleSources } from '../../runner/tui/console-data.js';
import { expectNoCanary, plantCanaries } from '../support/canary.js';

const CONFIG = `# production backups: keep this comment
version: 1
environments:
  laptop:
    cloud: local
    storage: { url: "file:///srv/backups" }   # where the runs go
    jobs:
      shop: # the web shop
        source: "sqlite:/srv/shop.db"
        schedule: { cron: "0 * * * *" }
  bare:
    cloud: local
    jobs: {}
`;

describe('withNewJob (the "add a job" form)', () => {
  it('adds the job under its environment and keeps every comment, quote and flow map of the file', () => {
    const text = withNewJob(CONFIG, { environment: 'laptop', name: 'reports', source: 'sqlite:/srv/reports.db', cron: '15 2 * * *', rpo: '26h' });

    // The yaml library keeps comments, quotes and flow maps; only the spaces before an end-of-line comment become one.
    expect(text.startsWith('# production backups: keep this comment\nversion: 1\n')).toBe(true);
    expect(text).toContain('storage: { url: "file:///srv/backups" } # where the runs go');
    expect(text).toContain('# the web shop');
    expect(text).toContain('source: "sqlite:/srv/shop.db"\n        schedule: { cron: "0 * * * *" }\n');
    expect(text).toContain('      # added by vaultra tui\n      reports:\n        source: sqlite:/srv/reports.db\n        schedule:\n          cron: 15 2 * * *\n        rpo: 26h\n');
    expect(parseDocument(text).toJS()).toMatchObject({ environments: { laptop: { jobs: { shop: { source: 'sqlite:/srv/shop.db' }, reports: { rpo: '26h' } } } } });
  });

  it('writes into an empty `jobs: {}` as a block, and leaves out an rpo not given', () => {
    const text = withNewJob(CONFIG, { environment: 'bare', name: 'notes', source: 'sqlite:/n.db', cron: '0 3 * * *' });
    expect(text).toContain('    jobs:\n      # added by vaultra tui\n      notes:\n        source: sqlite:/n.db\n        schedule:\n          cron: 0 3 * * *\n');
    expect(text).not.toContain('rpo');
  });

  it('refuses a job name taken, an environment the file lacks and a file that is not YAML, each in one line', () => {
    expect(() => withNewJob(CONFIG, { environment: 'laptop', name: 'shop', source: 'sqlite:/x.db', cron: '0 * * * *' })).toThrow('environment laptop already has a job "shop": choose another name');
    expect(() => withNewJob(CONFIG, { environment: 'prod', name: 'x', source: 'sqlite:/x.db', cron: '0 * * * *' })).toThrow('the config has no environment "prod": add the job to one it has');
    expect(() => withNewJob('version: 1\nenvironments: [', { environment: 'laptop', name: 'x', source: 'sqlite:/x.db', cron: '0 * * * *' })).toThrow(/^the config is not valid YAML \(.*\): fix it first, then add the job$/);
  });
});

describe('the typed confirmation of a restore', () => {
  it.each([
    ['sqlite:/srv/restore/copy.db', 'copy.db'],
    ['sqlite:./copy.db', 'copy.db'],
    ['dir:/srv/restore/uploads/', 'uploads'],
    ['postgres://app@localhost:5432/shop_copy', 'shop_copy'],
    ['postgres://app@localhost/?dbname=shop_copy', 'shop_copy'],
    ['mariadb://root:secret@127.0.0.1:3306/shop', 'shop'],
    ['mongodb://localhost:27017/events_copy?authSource=admin', 'events_copy'],
  ])('%s is confirmed by typing %s', (target, name) => {
    expect(targetName(target)).toBe(name);
    expect(confirms(` ${name} `, target)).toBe(true);
    expect(confirms('y', target)).toBe(false);
    expect(confirms(name.toUpperCase(), target)).toBe(name === name.toUpperCase());
  });
});

describe('text entry', () => {
  it('keeps printable characters, and submits at the enter inside a chunk typed fast or pasted', () => {
    expect(typed('sql', 'ite:/a.db')).toEqual({ value: 'sqlite:/a.db', submitted: false });
    expect(typed('', 'copy.db\r')).toEqual({ value: 'copy.db', submitted: true });
    expect(typed('a', '\x07b\x7fc')).toEqual({ value: 'abc', submitted: false });
  });
});

describe('progress, windows and cells', () => {
  it('says phase, bytes of the total, rate, elapsed and ETA; the bar fills with the share read', () => {
    const progress = { phase: 'restoring', bytes: 1024 * 1024, totalBytes: 4 * 1024 * 1024, startedAtMs: 10_000 };
    expect(describeProgress(progress, 12_000)).toBe('restoring: 1.0 MiB of 4.0 MiB (25 %) · 512 KiB/s · 2.0 s · ETA 6.0 s');
    expect(progressBar(progress, 22)).toBe('[#####...............]');
    expect(describeProgress({ phase: 'checking the signature', bytes: 0, startedAtMs: 10_000 }, 10_500)).toBe('checking the signature: 0 B · 0 B/s · 500 ms');
  });

  it('keeps the selection in view as it moves past the bottom', () => {
    expect(visibleWindow(50, 0, 10)).toEqual({ start: 0, end: 10 });
    expect(visibleWindow(50, 9, 10)).toEqual({ start: 0, end: 10 });
    expect(visibleWindow(50, 12, 10)).toEqual({ start: 3, end: 13 });
    expect(visibleWindow(3, 2, 10)).toEqual({ start: 0, end: 3 });
  });

  it('draws size trends, cut cells and rows no wider than the line', () => {
    expect(sparkline([10, 20, 30])).toBe('▁▅█');
    expect(sparkline([5, 5])).toBe('██');
    expect(clip('abcdef', 4)).toBe('abc…');
    expect(row(['shop', '✓ ok', 'a long last cell'], [6, 6], 20)).toBe('shop    ✓ ok    a l…');
    expect(wrapWords('cli: vaultra restore R --target sqlite:/a/very/long/path.db --force', 24)).toEqual(['cli: vaultra restore R', '--target', 'sqlite:/a/very/long/path', '.db --force']);
    expect(footerText('overview')).toBe('↑↓ move · enter history · b backup now · c config · r refresh · q quit');
  });
});

describe('the CLI equivalents the screens name', () => {
  const sources = { configPath: 'ops/vaultra.config.yaml', environment: { name: 'laptop' }, storageUrl: 'file:///srv/backups' } as unknown as ConsoleSources;

  it('are the commands that do the same', () => {
    expect(cliFor.status(sources)).toBe('vaultra status --config ops/vaultra.config.yaml --env laptop');
    expect(cliFor.history(sources, 'shop')).toBe('vaultra list --all --job shop --from file:///srv/backups');
    expect(cliFor.verify(sources, 'shop', '20261206T214406.057Z-715576')).toBe('vaultra verify 20261206T214406.057Z-715576 --job shop --from file:///srv/backups');
    expect(cliFor.backup(sources, 'shop')).toBe('vaultra run shop --config ops/vaultra.config.yaml --env laptop');
    expect(cliFor.restore(sources, { job: 'shop', runId: 'R', target: 'sqlite:/srv/my copy.db', tables: ['orders', 'items'], selectBy: 'tables', force: true, dryRun: false })).toBe(
      "vaultra restore R --job shop --from file:///srv/backups --target 'sqlite:/srv/my copy.db' --tables orders,items --force",
    );
    expect(cliFor.restore(sources, { job: 'uploads', runId: 'R', target: 'dir:/srv/restore', tables: ['config'], selectBy: 'paths', force: false, dryRun: true })).toBe(
      'vaultra restore R --job uploads --from file:///srv/backups --target dir:/srv/restore --paths config --dry-run',
    );
  });

  it('never show the password of a target URL typed with one', () => {
    const canaries = plantCanaries('canary-tui-password');
    const line = cliFor.restore(sources, { job: 'shop', runId: 'R', target: `postgres://app:${canaries.password}@db/shop_copy`, tables: [], selectBy: 'tables', force: false, dryRun: true });
    expectNoCanary(canaries, 'the restore screen', line);
    expect(line).toContain("--target 'postgres://app:***@db/shop_copy' --dry-run");
  });
});
