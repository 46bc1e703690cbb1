import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { DumpFailedError } from '../../../errors.js';
import { runTool, spawnTool, toolVersion, type ToolProcess } from '../../process/child-process.js';
import { binlogBaseDetails, HEADER_BYTES, POSITION_COMMENT, serverTime } from './mysql-binlog-base.js';
import type { MysqlConnection } from './mysql-connection.js';

/**
 * The dump's header read beside the direct pipe: `tee -p <fifo>` between the dump tool and the
 * compressor. The dump still goes tool → tee → zstd through the kernel (passing it through this
 * process cost MariaDB backups ~0.4 s of CPU per 220 MB: 1.57× the shell pipeline instead of
 * ~1.2×); tee also copies it into a FIFO in a private folder, of which Vaultra reads only the header — the
 * `--master-data=2` comment with the snapshot's binlog position — and then closes it: GNU tee's
 * `-p` drops an output pipe (the FIFO) that closed and goes on with the others. Without GNU tee (macOS),
 * `undefined`: the caller reads the dump through this process instead (BinlogPositionTap).
 */
export interface DumpHeaderTee {
  /** Where the dump tool writes: tee's stdin. Release it (`handedOver`) once the tool has it. */
  readonly input: Writable;
  handedOver(): void;
  /**
   * Settles once tee exited and the position was read (and the server's clock with it, for
   * `logConsistentAt`): `undefined` when all is well and `details` filled in, else the error that
   * fails the dump. Never rejects.
   */
  readonly done: Promise<Error | undefined>;
  kill(): void;
}

let gnuTee: Promise<boolean> | undefined;

export async function teeDumpHeader(directTo: Writable, connection: MysqlConnection, details: Record<string, string>): Promise<DumpHeaderTee | undefined> {
  gnuTee ??= toolVersion('tee').then((line) => /GNU coreutils/.test(line ?? ''));
  if (!(await gnuTee)) return undefined;
  // A FIFO, not a descriptor Node hands over: Node's pipes are socket pairs, which tee cannot open by path.
  const dir = await mkdtemp(join(tmpdir(), 'vaultra-dump-header-'));
  const fifo = join(dir, 'header');
  let tee: ToolProcess;
  try {
    await runTool('mkfifo', ['-m', '600', fifo], { onFailure: (exit) => new DumpFailedError(`mkfifo failed: ${exit.stderrTail}`, exit.stderrTail) });
    tee = await spawnTool('tee', ['-p', fifo], { stdin: 'pipe', stdout: directTo, installHint: 'install GNU coreutils' });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  void tee.exited.then(() => rm(dir, { recursive: true, force: true }));
  const position = readPosition(createReadStream(fifo));
  const done = Promise.all([tee.exited, position]).then(
    async ([exit, found]) => {
      if (exit.code !== 0) return new DumpFailedError(`tee between the dump and the compressor failed (exit ${exit.code ?? exit.signal}): ${exit.stderrTail.split('\n').at(-1) ?? ''}`, exit.stderrTail);
      if (!found) {
        details.logPosition = 'none: the dump has no CHANGE MASTER comment, so no binlog position was recorded';
        return undefined;
      }
      Object.assign(details, binlogBaseDetails(found.file, found.position, await found.at));
      return undefined;
    },
    (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
  );
  return {
    input: tee.child.stdin!,
    handedOver: () => tee.child.stdin!.destroy(),
    done: done.catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))),
    kill: () => tee.kill(),
  };

  /** The header's position comment, and the server's clock read as soon as it is seen; the side pipe closed after. */
  function readPosition(side: Readable): Promise<{ file: string; position: string; at: Promise<Date> } | undefined> {
    return new Promise((resolve) => {
      let header = '';
      let settled = false;
      const finish = (found?: { file: string; position: string; at: Promise<Date> }) => {
        if (settled) return;
        settled = true;
        side.destroy();
        resolve(found);
      };
      side.on('data', (chunk: Buffer) => {
        header += chunk.toString('latin1');
        const m = POSITION_COMMENT.exec(header);
        if (m) {
          const at = serverTime(connection);
          // Awaited only once the dump ended: handled now, so an early failure is no unhandled rejection.
          at.catch(() => undefined);
          finish({ file: m[1]!, position: m[2]!, at });
        }
        else if (header.length >= HEADER_BYTES) finish();
      });
      side.once('end', () => finish());
      side.once('error', () => finish());
    });
  }
}
