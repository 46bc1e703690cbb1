import { oneLine, VaultraError, type ErrorKind } from '../core/errors.js';
import { redact } from '../core/domain/redact.js';

/**
 * Exit codes are part of the CLI's contract (README, "Exit codes"): scripts branch on them.
 * The mapping from error to exit code lives here and only here.
 */
export const EXIT = {
  ok: 0,
  runFailed: 1,
  usage: 2,
  integrity: 3,
  key: 4,
  notFound: 5,
  conflict: 6,
  toolMissing: 7,
  untrusted: 8,
  /** `vaultra check` found problems in the repository (missing, truncated or damaged packs, unreadable manifests). */
  checkProblems: 9,
  interrupted: 130,
} as const;

const BY_KIND: Record<ErrorKind, number> = {
  config: EXIT.usage,
  usage: EXIT.usage,
  dump: EXIT.runFailed,
  restore: EXIT.runFailed,
  storage: EXIT.runFailed,
  pipeline: EXIT.runFailed,
  integrity: EXIT.integrity,
  untrusted: EXIT.untrusted,
  key: EXIT.key,
  'not-found': EXIT.notFound,
  conflict: EXIT.conflict,
  'tool-missing': EXIT.toolMissing,
  launch: EXIT.runFailed,
  notify: EXIT.runFailed,
  aborted: EXIT.interrupted,
};

export function exitCodeFor(error: unknown): number {
  return error instanceof VaultraError ? BY_KIND[error.kind] : EXIT.runFailed;
}

/** The one line the CLI prints for an error: redacted, never a stack trace. */
export function errorLine(error: unknown): string {
  return `vaultra: error: ${redact(oneLine(error))}`;
}
