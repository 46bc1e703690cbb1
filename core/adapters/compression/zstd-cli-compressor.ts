import type { Duplex, Writable } from 'node:stream';
import type { Compression, Compressor, DirectDecompression } from '../../ports/compressor.js';
import { IntegrityError, PipelineStageError } from '../../errors.js';
import { spawnTool, toolInput, toolOutput, toolStage, type ToolExit } from '../process/child-process.js';
import { bytesWrittenBy } from '../process/written-bytes.js';

const INSTALL_HINT = 'install zstd (Debian/Ubuntu: apt-get install zstd; macOS: brew install zstd)';

/**
 * zstd through the `zstd` command, multi-threaded (`-T0`). Chosen by measurement
 * (docs/architecture.md, "Compression"): Node 20's zlib has no zstd, and the native tool's
 * worker threads use every core. Its stdin pipe is offered for a dump tool to write into
 * directly, so the plaintext never enters Node; zstd then reports the exact byte count itself
 * (`-vv`). The output is a standard zstd frame: plain `zstd -d` reads it.
 */
export class ZstdCliCompressor implements Compressor {
  readonly id = 'zstd' as const;
  readonly implementation: string;

  constructor(
    readonly level: number,
    version: string,
  ) {
    this.implementation = `zstd ${version} (cli, -T0)`;
  }

  async open(): Promise<Compression> {
    const zstd = await spawnTool('zstd', ['-vv', '--no-progress', `-${this.level}`, '-T0', '-c', '-'], { stdin: 'pipe', installHint: INSTALL_HINT });
    let producerPid: number | undefined;
    let exact: number | undefined;
    const counted = zstd.exited.then((exit): Error | undefined => {
      if (exit.code !== 0) return undefined; // the exit itself fails the output
      exact = bytesIn(exit.stderrTail);
      return exact === undefined ? new PipelineStageError(`zstd did not report its input size (${this.implementation}): use --compression gzip, and please report this`) : undefined;
    });
    let settleProducer: (verdict: Promise<Error | undefined>) => void = () => undefined;
    const producer = new Promise<Error | undefined>((resolve) => {
      settleProducer = (verdict) => void verdict.then(resolve);
    });
    const input = toolInput(zstd, compressFailed, { waitForExit: false });
    // Written through `input`, the plaintext's end is its own verdict; fed directly, the
    // producer's verdict arrives through `producerDone`.
    input.once('finish', () => settleProducer(Promise.resolve(undefined)));
    input.once('error', (error) => settleProducer(Promise.resolve(error)));
    const output = toolOutput(zstd, compressFailed, Promise.all([producer, counted]).then((errors) => errors.find(Boolean)));
    output.once('close', () => input.destroy());
    return {
      input,
      output,
      // Before zstd's exact count: what the producing tool has written so far, where the platform tells (0 elsewhere).
      plaintextBytes: () => exact ?? bytesWrittenBy(producerPid) ?? 0,
      direct: {
        pipe: zstd.child.stdin!,
        producerDone(verdict, pid?: number) {
          producerPid = pid;
          // The tool holds its own copy of the pipe now: ours must close, or zstd never sees the end.
          zstd.child.stdin!.destroy();
          settleProducer(verdict);
        },
      },
    };
  }

  async decompress(): Promise<Duplex> {
    const tool = await spawnTool('zstd', ['-d', '-q', '-c', '-'], { stdin: 'pipe', installHint: INSTALL_HINT });
    return toolStage(tool, decompressFailed);
  }

  /** `zstd -d` with `into` (a restore tool's stdin) as its stdout: `-vv` reports the plaintext bytes at exit. */
  async decompressInto(into: Writable): Promise<DirectDecompression> {
    const tool = await spawnTool('zstd', ['-d', '-vv', '--no-progress', '-c', '-'], { stdin: 'pipe', stdout: into, installHint: INSTALL_HINT });
    const plaintextBytes = tool.exited.then((exit) => {
      if (exit.code !== 0) throw decompressFailed(exit);
      const bytes = bytesOut(exit.stderrTail);
      if (bytes === undefined) throw new PipelineStageError(`zstd did not report the size it decompressed (${this.implementation}): please report this`);
      return bytes;
    });
    // Settled by whoever reads the size; until then a failure must not be an unhandled rejection.
    plaintextBytes.catch(() => undefined);
    return { input: toolInput(tool, decompressFailed), plaintextBytes };
  }
}

function decompressFailed(exit: ToolExit): Error {
  return new IntegrityError(`zstd could not decompress the backup (${describeExit(exit)})`);
}

/** `/*stdin*\     : 3000000 bytes`: the output size zstd -d -vv reports at exit. */
function bytesOut(stderr: string): number | undefined {
  const match = /:\s*(\d+) bytes\s*$/m.exec(stderr);
  return match ? Number(match[1]) : undefined;
}

/** `(833794330 B => 166758866 B, …)` (1.5) or `(833794330 => 166758866 bytes, …)` (1.4): the input size zstd -vv reports at exit. */
function bytesIn(stderr: string): number | undefined {
  const match = /\(\s*(\d+)(?: B)? =>\s*\d+ (?:B|bytes)/.exec(stderr);
  return match ? Number(match[1]) : undefined;
}

function compressFailed(exit: ToolExit): Error {
  return new PipelineStageError(`zstd failed while compressing (${describeExit(exit)})`);
}

/** One-line description of how a tool ended, with the last lines of its (redacted) stderr. */
export function describeExit(exit: ToolExit): string {
  const how = exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`;
  return exit.stderrTail ? `${how}: ${exit.stderrTail.split('\n').slice(-2).join(' | ')}` : how;
}
