/**
 * One fuzz target, run in a child process by untrusted-input.test.ts: `node --import tsx
 * test/fuzz/fuzz-main.ts <target>`. Before each input it tells the parent (IPC) which one it is
 * starting, so the parent can kill it when one input takes too long — a synchronous parser
 * stuck in a loop blocks its own event loop, and no timer inside the process could stop it.
 *
 * VAULTRA_FUZZ_SEED (default fixed) and VAULTRA_FUZZ_SCALE (runs multiplier, default 1) make
 * longer local runs; a failure prints fast-check's seed and path to replay it
 * (VAULTRA_FUZZ_PATH).
 */
import fc from 'fast-check';
import type { FuzzTarget } from './targets.js';

export type FuzzMessage =
  | { type: 'ready' }
  | { type: 'input'; index: number; size: number; base64?: string }
  | { type: 'done'; runs: number }
  | { type: 'failed'; message: string };

const send = (message: FuzzMessage) => new Promise<void>((resolve) => process.send!(message, () => resolve()));

const name = process.argv[2] ?? '';
const { TARGETS } = (await import(name === 'watchdog-self-test' ? './self-test-target.js' : './targets.js')) as { TARGETS: Record<string, FuzzTarget> };
const target = TARGETS[name];
if (!target) {
  await send({ type: 'failed', message: `no fuzz target ${JSON.stringify(name)} (there are ${Object.keys(TARGETS).join(', ')})` });
} else {
  const { inputs, check, teardown } = await target.setup();
  // A process warning is a line on the user's stderr that no error handling chose to print.
  const warnings: string[] = [];
  process.on('warning', (warning) => warnings.push(`${warning.name}: ${warning.message}`));
  await send({ type: 'ready' });
  let index = 0;
  try {
    await fc.assert(
      fc.asyncProperty(inputs, async (input) => {
        // Small inputs travel with the heartbeat: a hang is then reported with the input itself.
        await send({ type: 'input', index: index++, size: input.bytes.length, ...(input.bytes.length <= 2048 ? { base64: input.bytes.toString('base64') } : {}) });
        await check(input);
        await new Promise((resolve) => setImmediate(resolve));
        if (warnings.length > 0) throw new Error(`the input made Node print a warning: ${warnings.splice(0).join('; ')}`);
      }),
      {
        seed: Number(process.env.VAULTRA_FUZZ_SEED ?? 20261206),
        numRuns: Math.ceil(target.runs * Number(process.env.VAULTRA_FUZZ_SCALE ?? 1)),
        ...(process.env.VAULTRA_FUZZ_PATH ? { path: process.env.VAULTRA_FUZZ_PATH } : {}),
      },
    );
    await send({ type: 'done', runs: index });
  } catch (error) {
    // fast-check keeps what the property threw as the cause: the finding itself.
    const cause = (error as Error).cause;
    const found = cause instanceof Error ? `${cause.constructor.name}: ${cause.message}` : String(cause ?? '');
    await send({ type: 'failed', message: `${found}\n${(error as Error).message}` });
  } finally {
    await teardown?.();
  }
}
process.disconnect();
