/**
 * `vaultra --help | head`: the reader closes the pipe before vaultra has written everything.
 * vaultra stops quietly (no EPIPE stack trace on stderr) with its own exit code.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { vaultraBin } from '../support/cli.js';

/** Runs vaultra with a stdout pipe whose reading end is closed at once; returns its exit code and stderr. */
function withClosedStdout(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [vaultraBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('a closed stdout (vaultra --help | head)', () => {
  it.each([['--help'], ['backup', '--help'], ['--version']])('vaultra %s exits 0 with nothing on stderr', async (...args) => {
    const { code, stderr } = await withClosedStdout(args);
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('the shell pipeline: vaultra --help | head -1 prints one line and no error', async () => {
    const out = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      const shell = spawn('sh', ['-c', `"${process.execPath}" "${vaultraBin}" --help | head -c 1`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      shell.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      shell.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      shell.on('error', reject);
      shell.on('close', () => resolve({ stdout, stderr }));
    });
    expect(out.stdout.length).toBe(1);
    expect(out.stderr).toBe('');
  });
});
