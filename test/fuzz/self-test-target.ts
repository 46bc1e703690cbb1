/**
 * A target that hangs on purpose (a synchronous loop on its third input), for the test that
 * shows the runner's per-input timeout works: kept apart from targets.ts so it loads nothing.
 */
import fc from 'fast-check';
import type { FuzzTarget } from './targets.js';

export const TARGETS: Record<string, FuzzTarget> = {
  'watchdog-self-test': {
    runs: 10,
    async setup() {
      let seen = 0;
      return {
        inputs: fc.record({ bytes: fc.constant(Buffer.from('hang')), chunks: fc.constant([1]) }),
        async check() {
          seen += 1;
          // A parser stuck in a loop: nothing inside this process can interrupt it.
          while (seen === 3) {
            /* spin */
          }
        },
      };
    },
  },
};
