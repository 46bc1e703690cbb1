import { PassThrough, Writable } from 'node:stream';

const HIGH_WATER_MARK = 1024 * 1024;

/**
 * One stream of bytes to several consumers: every chunk goes to every branch, and the next
 * chunk is accepted only when every branch has room again, so memory stays bounded and the
 * slowest destination sets the pace. Destroying the fan-out before its input ended (a failure
 * upstream) destroys every branch; a branch that dies while the others wait fails the fan-out
 * instead of stalling it.
 */
export function fanOut(count: number): { input: Writable; branches: PassThrough[] } {
  const branches = Array.from({ length: count }, () => {
    const branch = new PassThrough({ highWaterMark: HIGH_WATER_MARK });
    // A teardown destroys every branch with the upstream error. A destination that already
    // gave up no longer listens on its branch; that error is the pipeline's to report, not an
    // uncaught one. Consumers still listening see it as usual.
    branch.on('error', () => undefined);
    return branch;
  });
  const input = new Writable({
    highWaterMark: HIGH_WATER_MARK,
    write(chunk: Buffer, _encoding, callback) {
      let waiting = 0;
      let settled = false;
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        callback(error);
      };
      for (const branch of branches) {
        // A branch closed earlier will never drain again.
        if (branch.destroyed) return settle(new Error('a destination stopped reading'));
        if (branch.write(chunk)) continue;
        waiting++;
        const onDrain = () => {
          branch.off('close', onClose);
          if (--waiting === 0) settle();
        };
        const onClose = () => {
          branch.off('drain', onDrain);
          settle(new Error('a destination stopped reading'));
        };
        branch.once('drain', onDrain);
        branch.once('close', onClose);
      }
      if (waiting === 0) settle();
    },
    final(callback) {
      for (const branch of branches) branch.end();
      callback();
    },
    destroy(error, callback) {
      // autoDestroy also lands here after a clean finish, while the branches may still hold
      // bytes their destinations have not read: tear them down only when something failed.
      if (error || !input.writableFinished) for (const branch of branches) branch.destroy(error ?? new Error('the fan-out was destroyed before its input ended'));
      callback(error);
    },
  });
  return { input, branches };
}
