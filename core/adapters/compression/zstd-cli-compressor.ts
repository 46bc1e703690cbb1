import type { Duplex } from 'node:stream';
import type { Compressor } from '../../ports/compressor.js';
import { IntegrityError, PipelineStageError } from '../../errors.js';
import { spawnTool, toolStage, type ToolExit } from '../process/child-process.js';

const INSTALL_HINT = 'install zstd (Debian/Ubuntu: apt-get install zstd; macOS: brew install zstd)';

/**
 * zstd through the `zstd` command, multi-threaded (`-T0`). Chosen by measurement
 * (docs/architecture.md, "Compression"): Node 20's zlib has no zstd, and the native tool's
 * worker threads use every core, which keeps a backup at the pace of `pg_dump | zstd -T0`.
 * The output is a standard zstd frame: plain `zstd -d` reads it.
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

  async compress(): Promise<Duplex> {
    const tool = await spawnTool('zstd', [`-${this.level}`, '-T0', '-q', '-c', '-'], { stdin: 'pipe', installHint: INSTALL_HINT });
    return toolStage(tool, (exit) => new PipelineStageError(`zstd failed while compressing (${describeExit(exit)})`));
  }

  async decompress(): Promise<Duplex> {
    const tool = await spawnTool('zstd', ['-d', '-q', '-c', '-'], { stdin: 'pipe', installHint: INSTALL_HINT });
    return toolStage(tool, (exit) => new IntegrityError(`zstd could not decompress the backup (${describeExit(exit)})`));
  }
}

/** One-line description of how a tool ended, with the last lines of its (redacted) stderr. */
export function describeExit(exit: ToolExit): string {
  const how = exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`;
  return exit.stderrTail ? `${how}: ${exit.stderrTail.split('\n').slice(-2).join(' | ')}` : how;
}
