import { createInterface } from 'node:readline';
import type { ValidationSink } from '../../../ports/database-engine.js';
import { IntegrityError } from '../../../errors.js';
import { spawnTool, toolInput } from '../../process/child-process.js';
import { describeExit } from './postgres-psql.js';
import { GNU_TAR_INSTALL_HINT, gnuTarCommand } from '../../process/gnu-tar.js';

/** What a pg_basebackup tar of a data directory always holds. */
const REQUIRED = ['backup_label', 'PG_VERSION', 'global/pg_control', 'backup_manifest'];

/**
 * A structural check of a physical base: GNU tar lists the whole archive (reading every header
 * and skipping over every member, so a truncated one fails) and the members every
 * data directory backup holds are there.
 */
export async function openPhysicalValidation(): Promise<ValidationSink> {
  const tool = await spawnTool(await gnuTarCommand(), ['--list', '--file=-'], { env: { LC_ALL: 'C' }, stdin: 'pipe', installHint: GNU_TAR_INSTALL_HINT });
  const seen = new Set<string>();
  let members = 0;
  const listed = (async () => {
    for await (const line of createInterface({ input: tool.child.stdout!, crlfDelay: Infinity })) {
      members++;
      const name = line.replace(/^\.\//, '');
      if (REQUIRED.includes(name)) seen.add(name);
    }
  })();
  const stream = toolInput(tool, (exit) => new IntegrityError(`tar cannot read the base backup (${describeExit(exit)})`));
  return {
    stream,
    async result() {
      const exit = await tool.exited;
      await listed;
      if (exit.code !== 0) throw new IntegrityError(`tar cannot read the base backup (${describeExit(exit)})`);
      const missing = REQUIRED.filter((name) => !seen.has(name));
      if (missing.length > 0) throw new IntegrityError(`the base backup lacks ${missing.join(', ')}: it is not a complete pg_basebackup tar`);
      return `tar read the whole base backup (${members} members)`;
    },
    async abort() {
      tool.kill();
      await tool.exited;
    },
  };
}
