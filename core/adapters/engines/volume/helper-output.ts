import { PassThrough, type Readable } from 'node:stream';
import type { HelperExit, HelperRun } from '../../../ports/docker-volumes.js';

/**
 * A helper container's stdout as a dump stream: it ends only after the helper exited with a
 * code `accept` takes, and errors with `onFailure`'s error otherwise (a killed helper, a tar
 * that failed). Destroying it kills the helper.
 */
export function helperOutput(run: HelperRun, accept: (exit: HelperExit) => boolean, onFailure: (exit: HelperExit) => Error): Readable {
  const output = new PassThrough({
    destroy(error, callback) {
      void run.kill();
      callback(error);
    },
  });
  run.stdout.pipe(output, { end: false });
  run.stdout.once('error', (error) => output.destroy(error));
  const drained = new Promise<void>((resolve) => run.stdout.once('end', resolve).once('close', resolve));
  void Promise.all([run.exited, drained]).then(([exit]) => {
    if (output.destroyed) return;
    if (accept(exit)) output.end();
    else output.destroy(onFailure(exit));
  });
  return output;
}

/** Everything a short helper (a listing, a move) wrote to stdout, once it exited with 0. */
export async function helperResult(run: HelperRun, onFailure: (exit: HelperExit) => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  run.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const drained = new Promise<void>((resolve) => run.stdout.once('end', resolve).once('close', resolve));
  let cut: Error | undefined;
  run.stdout.once('error', (error) => (cut = error));
  const [exit] = await Promise.all([run.exited, drained]);
  if (exit.code !== 0) throw onFailure(exit);
  if (cut) throw cut;
  return Buffer.concat(chunks);
}

/** Records split on NUL bytes (how the helpers print file names: any byte but NUL may be in one). */
export function nulRecords(output: Buffer): Buffer[] {
  const records: Buffer[] = [];
  let start = 0;
  for (let index = output.indexOf(0); index >= 0; index = output.indexOf(0, start)) {
    records.push(output.subarray(start, index));
    start = index + 1;
  }
  return records;
}
