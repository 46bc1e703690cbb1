import { fileURLToPath } from 'node:url';

/**
 * The repository root: the Docker build context of the runner image and the base of the
 * function entry paths (`AWS_FUNCTION_ENTRIES`). Derived from this file's place, so synth works
 * from any working directory.
 */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
