/**
 * A fuzz run of fixed length over every parser of untrusted bytes (targets.ts): a fixed seed,
 * so CI runs the same inputs every time (VAULTRA_FUZZ_SEED / VAULTRA_FUZZ_SCALE for longer
 * local runs), a few thousand mutated inputs per target, well under 30 s in all on two cores.
 * Each target runs in its own child process (fuzz-main.ts) that reports every input before it
 * starts it: an input that takes longer than PER_INPUT_MS is a hang, and the child is killed
 * by its pid — a synchronous parser stuck in a loop could not be stopped from inside.
 *
 * Crashes this found are kept as regression tests in test/unit/untrusted-input-regressions.test.ts.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/cli.js';
import { requireTools } from '../support/requirements.js';
import type { FuzzMessage } from './fuzz-main.js';

/** One input may take this long, on a loaded two-core machine, before it counts as a hang. */
const PER_INPUT_MS = 5_000;
/** Building a target's seeds (an age key, a tar archive) and loading its modules. */
const SETUP_MS = 60_000;

interface FuzzOutcome {
  readonly runs?: number;
  readonly failure?: string;
  readonly stderr: string;
}

/** Two targets at a time: the machines running this have two cores. */
const slots = { free: 2, waiting: [] as (() => void)[] };
async function withSlot<T>(work: () => Promise<T>): Promise<T> {
  if (slots.free === 0) await new Promise<void>((resolve) => slots.waiting.push(resolve));
  else slots.free -= 1;
  try {
    return await work();
  } finally {
    const next = slots.waiting.shift();
    if (next) next();
    else slots.free += 1;
  }
}

function fuzz(target: string, perInputMs = PER_INPUT_MS): Promise<FuzzOutcome & { pid?: number }> {
  const main = fileURLToPath(new URL('./fuzz-main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', main, target], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  return new Promise((resolve) => {
    let outcome: { runs?: number; failure?: string } = {};
    let last: Extract<FuzzMessage, { type: 'input' }> | undefined;
    let timer: NodeJS.Timeout;
    const watch = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const input = last ? `input #${last.index} (${last.size} bytes${last.base64 ? `, base64 ${last.base64}` : ''})` : 'the setup';
        outcome = { failure: `${target}: ${input} did not finish within ${last ? perInputMs : SETUP_MS} ms: a hang` };
        child.kill('SIGKILL');
      }, ms);
    };
    watch(SETUP_MS);
    child.on('message', (message: FuzzMessage) => {
      if (message.type === 'input') {
        last = message;
        watch(perInputMs);
      } else if (message.type === 'ready') watch(perInputMs);
      else if (message.type === 'done') outcome = { runs: message.runs };
      else outcome = { failure: message.message.slice(0, 6000) };
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!outcome.failure && outcome.runs === undefined) outcome = { failure: `${target}: the fuzz process ended (${signal ?? `exit ${code}`}) without a result` };
      resolve({ ...outcome, stderr, pid: child.pid });
    });
  });
}

const RUN_MS = 120_000;

async function expectClean(target: string): Promise<void> {
  const outcome = await withSlot(() => fuzz(target));
  expect(outcome.failure, outcome.stderr).toBeUndefined();
  expect(outcome.runs).toBeGreaterThan(0);
}

describe('fuzzing the parsers of untrusted bytes (fixed seed, fixed length)', () => {
  it.concurrent.each(['config', 'age', 'sql-scanner', 'mongodb-archive', 'manifest', 'tar-listing'])(
    '%s: every input is accepted or refused with a VaultraError; no crash, no hang',
    (target) => expectClean(target),
    RUN_MS,
  );

  it('an input that never finishes is reported as a hang, and its process killed', async () => {
    const outcome = await withSlot(() => fuzz('watchdog-self-test', 1_000));
    expect(outcome.failure).toBe('watchdog-self-test: input #2 (4 bytes, base64 aGFuZw==) did not finish within 1000 ms: a hang');
    expect(() => process.kill(outcome.pid!, 0)).toThrow(/ESRCH/);
  }, 60_000);
});

describe('fuzzing tar archives through GNU tar --list', () => {
  const tools = requireTools('tar');
  if (!tools) return;

  it.concurrent('tar-archive: every input is accepted or refused with a VaultraError; no crash, no hang', () => expectClean('tar-archive'), RUN_MS);
});
