import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * The rings of docs/architecture.md hold because ESLint refuses an import that points outward.
 * Linted as text under a path in each ring, so this checks the rule, not today's code (which
 * `npm run check` lints as a whole).
 */
const eslint = new ESLint();

async function restrictedImports(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${source}\nexport const used = value;\n`, { filePath });
  return result!.messages.filter((message) => message.ruleId === 'no-restricted-imports').map((message) => message.message);
}

describe('import rings (ESLint)', () => {
  it.each([
    ['core/domain/example.ts', "import { value } from '../config/config-schema.js';"],
    ['core/domain/example.ts', "import { value } from '../usecases/backup.js';"],
    ['core/ports/example.ts', "import { value } from '../adapters/engines/engines.js';"],
    ['core/usecases/example.ts', "import { value } from '../adapters/engines/engines.js';"],
    ['core/usecases/example.ts', "import { value } from '@aws-sdk/client-s3';"],
    ['core/adapters/engines/postgres/example.ts', "import { value } from '../../../usecases/backup.js';"],
    ['core/config/example.ts', "import { value } from '../adapters/engines/engines.js';"],
    ['runner/commands/example.ts', "import { value } from '../../functions/aws/api.js';"],
    ['infra/aws/example.ts', "import { value } from '../../core/usecases/backup.js';"],
    ['core/pipeline/example.ts', "import { value } from '../../test/support/exec.js';"],
  ])('%s may not import outward: %s', async (filePath, source) => {
    expect(await restrictedImports(filePath, source)).not.toEqual([]);
  });

  it.each([
    ['core/domain/example.ts', "import { value } from './run.js';"],
    ['core/usecases/example.ts', "import { value } from '../ports/catalog.js';"],
    ['core/adapters/storage/s3/example.ts', "import { value } from '@aws-sdk/client-s3';"],
    ['core/adapters/engines/postgres/example.ts', "import { value } from '../../../ports/database-engine.js';"],
    ['runner/commands/example.ts', "import { value } from '../../core/adapters/engines/engines.js';"],
  ])('%s may import inward: %s', async (filePath, source) => {
    expect(await restrictedImports(filePath, source)).toEqual([]);
  });
});
