/**
 * `vaultra tui` driven in a real terminal (tmux: send-keys, capture-pane) through the built CLI
 * (`npm run build` first), against a real local store and catalog: three jobs of a local
 * environment, their runs made by `vaultra run` on real SQLite databases. Nothing here reads an
 * age or a date off the screen, so the day the suite runs does not matter.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra, vaultraBin } from '../support/cli.js';
import { requireTools } from '../support/requirements.js';
import { createSqliteFixture, sqliteExec, sqliteFingerprints } from '../support/sqlite-fixtures.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';
import { TmuxTerminal } from '../support/tmux.js';

describe('vaultra tui (a real terminal)', () => {
  const tools = requireTools('tmux', 'sqlite3', 'zstd', 'age-keygen');
  if (!tools) return;

  let root = '';
  let ws: Workspace;
  let config = '';
  let terminal: TmuxTerminal | undefined;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-tui-'));
    ws = makeWorkspace(root, 'ws');
    await createSqliteFixture(join(root, 'shop.db'));
    await sqliteExec(join(root, 'notes.db'), "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('a'), ('b');");
    const recipient = (await runVaultra(['keygen', '--out', ws.identity], { env: ws.env })).stdout.trim().split('\n').pop()!;
    config = join(root, 'vaultra.config.yaml');
    writeFileSync(
      config,
      `# the console's test config: three local jobs
version: 1
environments:
  laptop:
    cloud: local
    storage: { url: "${pathToFileURL(join(root, 'backups')).href}" }
    defaults:
      encryption: { kms: false, recipients: [${recipient}] }
    jobs:
      shop:
        source: "sqlite:${join(root, 'shop.db')}"
        schedule: { cron: "0 * * * *" }
        rpo: 2h
      notes:
        source: "sqlite:${join(root, 'notes.db')}"
        schedule: { cron: "30 3 * * *" }
        rpo: 26h
      gone:   # its database is missing: its one run failed
        source: "sqlite:${join(root, 'gone.db')}"
        schedule: { cron: "0 4 * * *" }
      big:
        source: "sqlite:${join(root, 'big.db')}"
        schedule: { cron: "0 5 * * *" }
`,
    );
    for (const job of ['shop', 'shop', 'notes']) {
      const run = await runVaultra(['run', job, '--config', config, '--no-progress'], { env: ws.env });
      expect(run.code, run.stderr).toBe(0);
    }
    await runVaultra(['run', 'gone', '--config', config, '--no-progress'], { env: ws.env });
  });
  afterEach(() => {
    terminal?.close();
    terminal = undefined;
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** The console in a terminal of its own; the shell line after it says how it exited. */
  function startConsole(configPath: string, columns: number, rows: number): TmuxTerminal {
    const env = Object.fromEntries(Object.entries({ ...ws.env, PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' }).filter((entry): entry is [string, string] => entry[1] !== undefined));
    const command = `${process.execPath} ${vaultraBin} tui --config ${configPath}; echo "vaultra exited $?"; exec sleep 600`;
    return TmuxTerminal.start({ socket: join(root, `tmux-${Date.now()}.sock`), command, env, columns, rows, cwd: root });
  }

  it('says in one line that it needs a terminal, exit 2, when stdout is not one', async () => {
    const { code, stdout, stderr } = await runVaultra(['tui', '--config', config], { env: ws.env });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim()).toBe('vaultra: error: vaultra tui needs a terminal on stdin and stdout: for scripts use vaultra status, list, show, verify and restore (each with --json)');
  });

  it('browses to a run, verifies it, restores it only once the target is named, fits 80×24, and q leaves the terminal clean', async () => {
    const copy = join(root, 'copy.db');
    await sqliteExec(copy, 'CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items (name) VALUES (\'kept until confirmed\');');
    const before = await sqliteFingerprints(copy);
    terminal = startConsole(config, 120, 40);

    // Overview: every job, its state as a symbol and a word.
    let screen = await terminal.waitFor(/^gone\s/m);
    expect(terminal.flag('alternate_on')).toBe('1');
    expect(screen[0]).toBe('vaultra · laptop · jobs');
    expect(screen.join('\n')).toMatch(/^JOB\s+STATUS\s+LAST RUN\s+LAST GOOD\s+RPO\s+NEXT RUN\s+SIZE TREND$/m);
    expect(screen.join('\n')).toMatch(/^shop\s+✓ ok\s+✓ stored\s/m);
    expect(screen.join('\n')).toMatch(/^notes\s+✓ ok\s+✓ stored\s/m);
    // Its one attempt failed seconds ago: no good backup, but not yet past its RPO (what vaultra status says too).
    expect(screen.join('\n')).toMatch(/^gone\s+✓ ok\s+✗ failed\s+none\s/m);
    expect(screen.join('\n')).toContain(`cli: vaultra status --config ${config} --env laptop`);

    // 80×24: nothing wider than the terminal, the frame's keys still on its last line.
    terminal.resize(80, 24);
    screen = await terminal.waitFor(/^shop\s.*\n(.*\n)*.*q quit/m);
    expect(screen).toHaveLength(24);
    expect(Math.max(...screen.map((line) => line.length))).toBeLessThanOrEqual(80);
    expect(screen[23]).toMatch(/^↑↓ move · enter history · b backup now · c config · r refresh · q quit/);

    // History of shop, filtered to its backups; the newest one's manifest and contents.
    await terminal.keys('Enter');
    screen = await terminal.waitFor(/status: all · kind: all · time: all time · \d+ run\(s\)/);
    expect(screen[0]).toBe('vaultra · laptop · history of shop');
    screen = await terminal.pressUntil('k', /kind: backup · time: all time · 2 run\(s\)/);
    await terminal.keys('Enter');
    screen = await terminal.waitFor(/^manifest$/m);
    const text = screen.join('\n');
    expect(screen[0]).toMatch(/^vaultra · laptop · backup \S+ of shop$/);
    expect(text).toMatch(/status\s+✓ succeeded \(backup\)/);
    expect(text).toMatch(/cli: vaultra show \S+ --job shop --from\s+file:/);
    await terminal.keys('Down', 'Down', 'Down', 'Down', 'Down', 'Down', 'Down', 'Down', 'Down', 'Down');
    screen = await terminal.waitFor(/table\s+tags\s+2000 row\(s\)/);
    expect(screen.join('\n')).toMatch(/table\s+items\s+2000 row\(s\)/);

    // Verify, watched to its end.
    await terminal.keys('v');
    screen = await terminal.waitFor(/✓ backup \S+ of job shop verified/);
    expect(screen.join('\n')).toMatch(/structure\s+PRAGMA integrity_check ok/);
    expect(screen.join('\n')).toMatch(/cli: vaultra verify \S+ --job shop --from\s+file:/);
    await terminal.keys('Enter');
    await terminal.waitFor(/^manifest$/m);

    // Restore: the dry run says what would be replaced; a wrong name is refused, the right one restores.
    await terminal.keys('r');
    await terminal.waitFor(/^target:$/m);
    terminal.type(`sqlite:${copy}`);
    await terminal.keys('Enter');
    await terminal.waitFor(/^tables:$/m);
    await terminal.keys('Enter');
    screen = await terminal.waitFor(/Type its name \(copy\.db\)/);
    expect(screen.join('\n')).toMatch(/would replace\s+items/);
    expect(screen.join('\n')).toContain('dry run: the backup checks out; nothing was written');
    terminal.type('shop');
    await terminal.keys('Enter');
    await terminal.waitFor(/refused: "shop" is not copy\.db; nothing was changed/);
    expect(await sqliteFingerprints(copy)).toEqual(before);
    terminal.type('copy.db');
    await terminal.keys('Enter');
    screen = await terminal.waitFor(/✓ restored into sqlite:/);
    expect(screen.join('\n')).toMatch(/replaced\s+items/);
    expect(await sqliteFingerprints(copy)).toEqual(await sqliteFingerprints(join(root, 'shop.db')));

    // Back out and quit: exit 0, the shell's screen back, the cursor shown.
    await terminal.keys('Enter');
    await terminal.waitFor(/^manifest$/m);
    await terminal.keys('q');
    await terminal.waitFor(/vaultra exited 0/);
    expect(terminal.flag('alternate_on')).toBe('0');
    expect(terminal.flag('cursor_flag')).toBe('1');
  });

  it("shows a run's signer, timings per phase and log; a failed run's log ends with its error line, as vaultra show --log prints it", async () => {
    terminal = startConsole(config, 100, 50);
    await terminal.waitFor(/^gone\s/m);

    // The newest backup of shop: signed by this machine's key, which the console trusts as a verify does.
    await terminal.keys('Enter');
    await terminal.waitFor(/history of shop/);
    await terminal.waitFor(/\d+ run\(s\)/);
    await terminal.keys('k');
    await terminal.waitFor(/kind: backup · time: all time · 2 run\(s\)/);
    await terminal.keys('Enter');
    let screen = await terminal.waitFor(/signature\s+✔ verified/);
    expect(screen.join('\n')).toMatch(/signature\s+✔ verified, trusted as your signing key \//);
    expect(screen.join('\n')).toMatch(/signed by\s+ed25519:[A-Za-z0-9+/]+=*$/m);
    // The timings and the log are below the manifest: scrolled to (the screen stops at its last line).
    await terminal.keys(...Array<string>(40).fill('Down'));
    screen = await terminal.waitFor(/^log \(last \d+ line\(s\), all with vaultra show --log\)$/m);
    let text = screen.join('\n');
    for (const phase of ['open tools', 'claim', 'start dump', 'dump, compress, encrypt, upload', 'manifest', 'sign', 'commit']) {
      expect(text).toMatch(new RegExp(`^  ${phase}\\s+\\d+(\\.\\d)? m?s\\s+\\d+ %$`, 'm'));
    }
    // The lines the run printed, each with its time of day: its result's title and fields among them.
    expect(text).toMatch(/^ {2}\d{2}:\d{2}:\d{2}\.\d{3} {2}backup \S+ of job shop succeeded$/m);
    expect(text).toMatch(/^ {2}\d{2}:\d{2}:\d{2}\.\d{3} {4}took\s+\d/m);

    // The failed run of gone: its record, its timings up to the failure, its log ending with the error line.
    await terminal.keys('Escape');
    await terminal.waitFor(/history of shop/);
    await terminal.keys('Escape');
    await terminal.waitFor(/^gone\s/m);
    await terminal.keys('Down', 'Down');
    await terminal.keys('Enter');
    await terminal.waitFor(/history of gone/);
    await terminal.waitFor(/1 run\(s\)/);
    await terminal.keys('Enter');
    screen = await terminal.waitFor(/^log \(last \d+ line\(s\)/m);
    text = screen.join('\n');
    const runId = /backup (\S+) of gone$/.exec(screen[0]!)?.[1];
    expect(runId).toBeDefined();
    expect(text).toMatch(/status\s+✗ failed \(backup\)/);
    expect(text).toMatch(/^timings$/m);
    const logged = screen.filter((line) => /^ {2}\d{2}:\d{2}:\d{2}\.\d{3} {2}/.test(line));
    expect(logged.at(-1)).toMatch(/^ {2}\S+ {2}vaultra: error: .*gone\.db/);
    expect(text).toMatch(new RegExp(`cli: vaultra show ${runId} --job gone --log --from\\s+file:`));

    // The CLI equivalent prints the same lines.
    const shown = await runVaultra(['show', runId!, '--job', 'gone', '--log', '--from', pathToFileURL(join(root, 'backups')).href], { env: ws.env });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`backup ${runId} of job gone failed`);
    for (const line of logged) expect(shown.stdout).toContain(line);
    await terminal.keys('q');
    await terminal.waitFor(/vaultra exited 0/);
  });

  it('cancels a restore in progress with esc, and the target is left as it was: no database, no temp file', async () => {
    // Incompressible rows, so the restore takes long enough on any machine to be cancelled midway.
    await sqliteExec(join(root, 'big.db'), 'CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB); INSERT INTO blobs (b) SELECT randomblob(1000000) FROM generate_series(1, 120);');
    const backup = await runVaultra(['run', 'big', '--config', config, '--no-progress'], { env: ws.env });
    expect(backup.code, backup.stderr).toBe(0);
    const restoreDir = mkdtempSync(join(root, 'cancelled-'));
    terminal = startConsole(config, 100, 30);
    await terminal.waitFor(/^big\s/m);
    await terminal.keys('Down', 'Down', 'Down');
    await terminal.waitFor(/^big\s.*\n(.*\n)*.*q quit/m);
    await terminal.keys('Enter');
    await terminal.waitFor(/history of big/);
    await terminal.waitFor(/1 run\(s\)/);
    await terminal.keys('Enter');
    await terminal.waitFor(/^manifest$/m);
    await terminal.keys('r');
    await terminal.waitFor(/^target:$/m);
    terminal.type(`sqlite:${join(restoreDir, 'big-copy.db')}`);
    await terminal.keys('Enter');
    await terminal.waitFor(/^tables:$/m);
    await terminal.keys('Enter');
    await terminal.waitFor(/would replace\s+nothing/);
    await terminal.keys('Enter');
    await terminal.waitFor(/^restoring: [1-9][\d.]* MiB of /m);
    await terminal.keys('Escape');
    await terminal.waitFor(/✗ cancelled: the task was stopped and what it had written removed/);
    expect(readdirSync(restoreDir)).toEqual([]);
    expect(existsSync(join(restoreDir, 'big-copy.db'))).toBe(false);
  });

  it('checks the config in place and adds a job through the form, comments kept; a job that would break the file is not written', async () => {
    const edited = join(root, 'edited.yaml');
    copyFileSync(config, edited);
    terminal = startConsole(edited, 100, 30);
    await terminal.waitFor(/^gone\s/m);
    await terminal.keys('c');
    await terminal.waitFor(/^vaultra · laptop · config .*edited\.yaml$/m);

    // A schedule that is not cron: refused in the form, the file untouched.
    const answerForm = async (answers: readonly string[]) => {
      for (const [index, answer] of answers.entries()) {
        // Each question is answered once it is on screen, as a user would.
        await terminal!.waitFor(new RegExp(`^${['job name:', 'source:', 'schedule \\(cron\\):', 'rpo \\(optional\\):'][index]}$`, 'm'));
        terminal!.type(answer);
        await terminal!.keys('Enter');
      }
    };
    await terminal.keys('a');
    await answerForm(['reports', `sqlite:${join(root, 'notes.db')}`, 'every day', '']);
    await terminal.waitFor(/not written: the file would not validate with this job/);
    expect(readFileSync(edited, 'utf8')).not.toContain('reports');

    await answerForm(['reports', `sqlite:${join(root, 'notes.db')}`, '15 2 * * *', '26h']);
    await terminal.waitFor(/added job reports to/);
    const text = readFileSync(edited, 'utf8');
    expect(text).toContain("# the console's test config: three local jobs");
    expect(text).toContain('# its database is missing: its one run failed');
    expect(text).toContain(`encryption: { kms: false, recipients: [`);
    expect(text).toMatch(/# added by vaultra tui\n\s+reports:\n\s+source: sqlite:.*notes\.db\n\s+schedule:\n\s+cron: 15 2 \* \* \*\n\s+rpo: 26h/);
    const validate = await runVaultra(['config', 'validate', '--config', edited], { env: ws.env });
    expect(validate.code, validate.stdout).toBe(0);

    await terminal.keys('q');
    await terminal.waitFor(/vaultra exited 0/);
  });

  it('opens on the problems of a config that does not load, each at its path; Ctrl-C exits 130', async () => {
    const broken = join(root, 'broken.yaml');
    writeFileSync(broken, readFileSync(config, 'utf8').replace('cron: "0 4 * * *"', 'cron: "61 * * * *"'));
    terminal = startConsole(broken, 100, 30);
    const screen = await terminal.waitFor(/✗ environments\.laptop\.jobs\.gone\.schedule/);
    expect(screen.join('\n')).toContain(`cli: vaultra config validate --config ${broken}`);
    // Ctrl-C ends it as any interrupted command ends: exit 130, the terminal clean.
    await terminal.keys('C-c');
    await terminal.waitFor(/vaultra exited 130/);
    expect(terminal.flag('alternate_on')).toBe('0');
    expect(terminal.flag('cursor_flag')).toBe('1');
  });
});
