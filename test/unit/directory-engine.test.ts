import { describe, expect, it } from 'vitest';
import { ancestorsOf, directoryPath, memberName, normalizeSelection } from '../../core/adapters/engines/directory/directory-paths.js';
import { componentsOf, displayName, escapeBytes, escapesRoot, unescapeTarName } from '../../core/adapters/engines/directory/tar-names.js';
import { brokenHardLink, createWarnings, describeTarExit, notFoundMembers, preview, rewrittenNames } from '../../core/adapters/engines/directory/tar-messages.js';
import { filesystemTypeIn, mountsIn } from '../../core/adapters/engines/directory/filesystem-type.js';
import { BlockLines, TAR_CREATE_FLAGS } from '../../core/adapters/engines/directory/tar-tool.js';
import { Pacer } from '../../core/adapters/engines/directory/directory-tree.js';
import { tarExtractFlags } from '../../core/adapters/engines/directory/directory-restore.js';
import { DirectoryEngine } from '../../core/adapters/engines/directory/directory-engine.js';
import { defaultJobName } from '../../core/adapters/engines/engines.js';
import { ConfigError } from '../../core/errors.js';

describe('directory URLs', () => {
  it.each([
    ['dir:/srv/data', '/srv/data'],
    ['dir:///srv/data', '/srv/data'],
    ['dir:/srv/data/', '/srv/data'],
    ['dir:relative/vol', `${process.cwd()}/relative/vol`],
    ['dir://./vol', `${process.cwd()}/vol`],
    ['dir:/path with spaces/%20', '/path with spaces/%20'],
  ])('%s → %s', (url, path) => {
    expect(directoryPath(url)).toBe(path);
  });

  it('refuses an empty path', () => {
    expect(() => directoryPath('dir:')).toThrow(ConfigError);
    expect(() => directoryPath('dir://')).toThrow(/malformed directory URL dir:\/\/: expected dir:<path/);
  });

  it('names a source by its folder', () => {
    const engine = new DirectoryEngine();
    expect(engine.nameOf(engine.parse('dir:/var/lib/docker/volumes/uploads/_data'))).toBe('_data');
    expect(engine.nameOf(engine.parse('dir:/mnt/efs/'))).toBe('efs');
    expect(engine.nameOf(engine.parse('dir:/'))).toBe('root');
    expect(defaultJobName('dir:/srv/My Volume')).toBe('my-volume');
  });
});

describe('--paths selection', () => {
  it('normalizes, dedupes and drops paths beneath another selected one', () => {
    expect(normalizeSelection(['./data/', 'data/x', 'config//app.yaml', '/config/app.yaml', 'b'])).toEqual(['b', 'config/app.yaml', 'data']);
    expect(normalizeSelection(['data-2', 'data'])).toEqual(['data', 'data-2']);
  });

  it.each([['../etc/passwd', /"\.\." is not allowed/], ['a/../../b', /"\.\." is not allowed/], ['.', /inside the backup/], ['/', /inside the backup/], ['', /inside the backup/]])('refuses %j', (path, message) => {
    expect(() => normalizeSelection([path])).toThrow(message);
  });

  it('spells members and ancestors as the archive does', () => {
    expect(memberName('a b/-c')).toBe('./a b/-c');
    expect(ancestorsOf('a/b/c')).toEqual(['a', 'a/b']);
    expect(ancestorsOf('a')).toEqual([]);
  });
});

describe('names as bytes', () => {
  it('unescapes every byte tar can print, and escapes like tar', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i).filter((b) => b !== 0 && b !== 0x2f));
    expect(unescapeTarName(escapeBytes(all))).toEqual(all);
    expect(escapeBytes(Buffer.from('new\nline\\ \xff', 'latin1'))).toBe('new\\nline\\\\ \\377');
    expect(unescapeTarName('./caf\\303\\251 \\t\\\\x')).toEqual(Buffer.from('./café \t\\x'));
  });

  it('shows valid UTF-8 as is and anything else escaped', () => {
    expect(displayName(Buffer.from('émoji 🎉\n'))).toBe('émoji 🎉\n');
    expect(displayName(Buffer.from('bad\xffname', 'latin1'))).toBe('bad\\377name');
  });

  it('splits member names and spots the ones that leave the folder', () => {
    expect(componentsOf(Buffer.from('./a//b/./c/')).map(String)).toEqual(['a', 'b', 'c']);
    expect(escapesRoot(Buffer.from('/etc/passwd'))).toBe(true);
    expect(escapesRoot(Buffer.from('./a/../../b'))).toBe(true);
    expect(escapesRoot(Buffer.from('./..'))).toBe(true);
    expect(escapesRoot(Buffer.from('./a..b/...'))).toBe(false);
  });
});

describe('what tar says', () => {
  it('sorts create warnings into changed files and skipped sockets', () => {
    const lines = [
      'tar: ./app.log: file changed as we read it',
      'tar: ./db.bin: File shrank by 4096 bytes; padding with zeros',
      'tar: ./tmp/x: File removed before we read it',
      'tar: ./run/app.sock: socket ignored',
      'tar: Exiting with failure status due to previous errors',
    ];
    expect(createWarnings(lines)).toEqual({ changed: ['./app.log', './db.bin', './tmp/x'], skipped: ['./run/app.sock (socket)'] });
  });

  it('describes a failed exit by its first real complaint', () => {
    const stderrTail = "tar: Removing leading `/' from hard link targets\ntar: ./secret: Cannot open: Permission denied\ntar: ./b: Cannot open: Permission denied\ntar: Exiting with failure status due to previous errors";
    expect(describeTarExit({ code: 2, signal: null, stderrTail })).toBe('exit 2: ./secret: Cannot open: Permission denied (and 1 more message(s))');
    expect(describeTarExit({ code: null, signal: 'SIGKILL', stderrTail: '' })).toBe('killed by SIGKILL');
  });

  it('finds missing members, broken hard links and rewritten names', () => {
    const stderr = "tar: ./x: Not found in archive\ntar: ./a b: Not found in archive\ntar: Exiting with failure status due to previous errors";
    expect(notFoundMembers(stderr)).toEqual(['./x', './a b']);
    expect(brokenHardLink("tar: ./top: Cannot hard link to './data/a': No such file or directory")).toEqual({ link: './top', target: './data/a' });
    expect(rewrittenNames("tar: Removing leading `/' from member names\ntar: ./../x: Member name contains '..'\ntar: ok")).toHaveLength(2);
    expect(preview(['a', 'b', 'c'], 2)).toBe('a, b and 1 more');
  });

  it('tells an end-of-archive marker from an archive that just stops', () => {
    const complete = new BlockLines();
    for (const line of ['block 0: ./', 'block 1: ./a', 'block 3: ** Block of NULs **']) complete.push(line);
    expect(complete.finish()).toBe('marker');
    expect(complete.members).toBe(2);
    const cut = new BlockLines();
    for (const line of ['block 0: ./', 'block 1: ** End of File **']) cut.push(line);
    expect(cut.finish()).toBe('truncated');
    expect(new BlockLines().finish()).toBe('truncated');
  });
});

describe('filesystem type from mountinfo', () => {
  const mountinfo = [
    '22 1 0:21 / / rw,relatime - overlay overlay rw,lowerdir=/l',
    '40 22 0:40 / /mnt/efs rw,relatime - nfs4 fs-123.efs.eu-west-1.amazonaws.com:/ rw,vers=4.1',
    '41 22 0:41 / /mnt/with\\040space rw - cifs //acct.file.core.windows.net/share rw',
    '42 40 0:42 / /mnt/efs/inner rw - tmpfs tmpfs rw',
  ].join('\n');
  it.each([
    ['/mnt/efs/data', 'nfs4'],
    ['/mnt/efs', 'nfs4'],
    ['/mnt/efs/inner/x', 'tmpfs'],
    ['/mnt/efsx', 'overlay'],
    ['/mnt/with space/a', 'cifs'],
    ['/var/lib/docker/volumes/v/_data', 'overlay'],
  ])('%s is on %s', (path, type) => {
    expect(filesystemTypeIn(mountinfo, path)).toBe(type);
  });

  it('lists mount points with their escapes decoded', () => {
    expect(mountsIn(mountinfo).map((m) => m.point)).toEqual(['/', '/mnt/efs', '/mnt/with space', '/mnt/efs/inner']);
  });
});

describe('paced synchronous tree walks', () => {
  it('lets the event loop run once per batch of entries, not before', async () => {
    // Prepare
    const pace = new Pacer(100);
    let ticked = false;
    setImmediate(() => (ticked = true));
    // Act: 99 entries stay within the batch
    await pace.yieldAfter(60);
    await pace.yieldAfter(39);
    const beforeBatch = ticked;
    // Act: the 100th completes it
    await pace.yieldAfter(1);
    // Assess
    expect(beforeBatch).toBe(false);
    expect(ticked).toBe(true);
  });
});

describe('tar flags shared with the benchmark', () => {
  it('a default restore never restores owners, set-id capabilities or SELinux labels', () => {
    expect(tarExtractFlags({ root: true, preserveSpecial: false, restoreOwners: false })).toEqual(
      expect.arrayContaining(['--no-same-owner', '--xattrs-exclude=security.selinux', '--xattrs-exclude=security.capability']),
    );
    expect(tarExtractFlags({ root: false, preserveSpecial: false, restoreOwners: false })).not.toContain('--xattrs-include=*');
    expect(tarExtractFlags({ root: true, preserveSpecial: true, restoreOwners: true })).toContain('--same-owner');
  });

  it('a backup archives as pax, sorted, with owners as numbers', () => {
    expect(TAR_CREATE_FLAGS).toEqual(expect.arrayContaining(['--create', '--format=posix', '--sort=name', '--numeric-owner']));
  });
});
