import { describe, expect, it } from 'vitest';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { spawnTool, toolInput, toolOutput, toolStage } from '../../core/adapters/process/child-process.js';
import { DumpFailedError, ToolMissingError } from '../../core/errors.js';

const fail = (exit: { code: number | null; signal: string | null; stderrTail: string }) => new DumpFailedError(`exit ${exit.code ?? exit.signal}: ${exit.stderrTail}`, exit.stderrTail);

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('native tools as stream stages', () => {
  it('a missing tool is a ToolMissingError before any byte flows', async () => {
    await expect(spawnTool('vaultra-no-such-tool', [], { installHint: 'install it' })).rejects.toBeInstanceOf(ToolMissingError);
  });

  it('toolOutput ends cleanly only when the tool exits 0', async () => {
    const ok = await spawnTool('sh', ['-c', 'printf hello']);
    expect((await collect(toolOutput(ok, fail))).toString()).toBe('hello');

    const bad = await spawnTool('sh', ['-c', 'printf partial; echo "server closed the connection" >&2; exit 3']);
    await expect(collect(toolOutput(bad, fail))).rejects.toThrow(/exit 3: server closed the connection/);
  });

  it('a tool that exits before anyone reads keeps every byte and still ends', async () => {
    // Node resumes (and so discards) the unread stdout of a child that exited: the output must read from the start.
    const tool = await spawnTool('sh', ['-c', 'head -c 100000 /dev/zero']);
    const out = toolOutput(tool, fail);
    await tool.exited;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await collect(out)).length).toBe(100_000);
  });

  it('a tool killed mid-stream is an error, not a short stream', async () => {
    const tool = await spawnTool('sh', ['-c', 'printf start; kill -9 $$']);
    await expect(collect(toolOutput(tool, fail))).rejects.toThrow(/SIGKILL/);
  });

  it('destroying the output kills the tool', async () => {
    const tool = await spawnTool('sh', ['-c', 'yes']);
    const out = toolOutput(tool, fail);
    await new Promise((resolve) => out.once('data', resolve));
    out.destroy();
    const exit = await tool.exited;
    expect(exit.signal ?? exit.code).toBeTruthy();
  });

  it('toolStage filters bytes through the process and fails with its exit', async () => {
    const cat = await spawnTool('cat', [], { stdin: 'pipe' });
    const sink = new PassThrough();
    const done = collect(sink);
    await pipeline(Readable.from([Buffer.from('a'), Buffer.from('b')]), toolStage(cat, fail), sink);
    expect((await done).toString()).toBe('ab');

    const broken = await spawnTool('sh', ['-c', 'head -c 1; exit 5'], { stdin: 'pipe' });
    const big = Readable.from((function* () { for (let i = 0; i < 64; i++) yield Buffer.alloc(64 * 1024, 1); })());
    await expect(pipeline(big, toolStage(broken, fail), new PassThrough().resume())).rejects.toThrow(/exit 5/);
  });

  it('toolStage hands the output on as the tool wrote it, never joined into larger copies', async () => {
    // Prepare: 4 MiB through cat, left unread for a moment so the tool's output queues up.
    const cat = await spawnTool('cat', [], { stdin: 'pipe' });
    const stage = toolStage(cat, fail);
    stage.end(Buffer.alloc(4 * 1024 * 1024, 7));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sizes: number[] = [];

    // Act
    await pipeline(stage, new Writable({ write: (chunk: Buffer, _encoding, callback) => (sizes.push(chunk.length), callback()) }));

    // Assess: pipe reads are at most 64 KiB; a joined copy of the queue would be up to 1 MiB.
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(4 * 1024 * 1024);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(64 * 1024);
  });

  it('toolInput finishes only after the tool exited, and fails with its exit code', async () => {
    const ok = await spawnTool('sh', ['-c', 'cat >/dev/null'], { stdin: 'pipe', stdout: 'ignore' });
    await pipeline(Readable.from([Buffer.from('x')]), toolInput(ok, fail));
    expect(ok.child.exitCode).toBe(0);

    const bad = await spawnTool('sh', ['-c', 'cat >/dev/null; echo "restore failed" >&2; exit 1'], { stdin: 'pipe', stdout: 'ignore' });
    await expect(pipeline(Readable.from([Buffer.from('x')]), toolInput(bad, fail))).rejects.toThrow(/restore failed/);
  });

  // Node 20's Duplex.from({ writable, readable }) stops passing destroy() to the readable half
  // once the writable half has finished: a stage whose input is all written but whose output
  // is still pending (zstd -d of a small backup, then the restore target fails) must still die.
  it('destroying a toolStage after its input ended still kills the tool', async () => {
    const tool = await spawnTool('sh', ['-c', 'cat >/dev/null; exec sleep 30'], { stdin: 'pipe' });
    const stage = toolStage(tool, fail);
    await new Promise<void>((resolve, reject) => stage.end(Buffer.from('all of it'), (error?: Error | null) => (error ? reject(error) : resolve())));
    stage.destroy();
    const exit = await Promise.race([tool.exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 5000))]);
    expect(exit).not.toBe('hung');
  });
});
