import { Command } from 'commander';
import { toolVersion } from '../../core/adapters/process/child-process.js';
import { printJson } from './shared.js';

/** What each tool is for; `required` tools make `doctor` exit 1 when missing. */
const TOOLS: { name: string; args?: string[]; neededFor: string; required: boolean; install: string }[] = [
  { name: 'pg_dump', neededFor: 'PostgreSQL backups', required: true, install: 'apt-get install postgresql-client' },
  { name: 'pg_restore', neededFor: 'PostgreSQL restores and verify', required: true, install: 'apt-get install postgresql-client' },
  { name: 'psql', neededFor: 'PostgreSQL (server version, contents, create database)', required: true, install: 'apt-get install postgresql-client' },
  { name: 'sqlite3', neededFor: 'SQLite backups and restores', required: true, install: 'apt-get install sqlite3' },
  { name: 'zstd', neededFor: 'zstd compression (the default)', required: true, install: 'apt-get install zstd' },
  { name: 'pigz', neededFor: 'parallel gzip (else Node zlib, one core)', required: false, install: 'apt-get install pigz' },
  { name: 'age', neededFor: 'decrypting without Vaultra (optional)', required: false, install: 'apt-get install age' },
];

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('which native tools are present, their versions, and what is missing for which engine')
    .option('--json', 'print the findings as JSON')
    .action(async (options: { json?: boolean }) => {
      const findings = await Promise.all(TOOLS.map(async (tool) => ({ ...tool, version: await toolVersion(tool.name, tool.args) })));
      const missing = findings.filter((f) => !f.version && f.required);
      process.exitCode = missing.length > 0 ? 1 : 0;
      if (options.json) {
        return printJson({
          node: process.version,
          tools: findings.map((f) => ({ name: f.name, found: Boolean(f.version), version: f.version ?? null, neededFor: f.neededFor, required: f.required })),
          ok: missing.length === 0,
        });
      }
      const width = Math.max(...findings.map((f) => f.name.length));
      const lines = findings.map((f) => `${f.version ? 'ok     ' : f.required ? 'MISSING' : 'absent '} ${f.name.padEnd(width)}  ${f.version ?? `${f.neededFor}: ${f.install}`}`);
      lines.push(missing.length ? `\n${missing.length} required tool(s) missing: the engines that need them will not work` : '\nevery tool is present');
      process.stdout.write(`node ${process.version}\n${lines.join('\n')}\n`);
    });
}
