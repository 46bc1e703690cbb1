import { Command, InvalidArgumentError, Option } from 'commander';
import { openStorage } from '../../core/adapters/storage/storage-registry.js';
import { checkRepository, problemsIn, type JobCheck } from '../../core/usecases/check-repository.js';
import { redact } from '../../core/domain/redact.js';
import { ConfigError } from '../../core/errors.js';
import { DEFAULT_STORAGE } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes } from '../format.js';
import { printJson, signalOf } from './shared.js';

interface CheckOptions {
  from: string;
  job?: string;
  readData?: boolean;
  sample?: number;
  json?: boolean;
}

const CHECK_HELP = `
What is checked, for each job (chunked snapshots, docs/chunked-snapshots.md): every pack and
snapshot index a manifest lists is stored with the size it lists; every manifest can be read;
with --read-data, every referenced pack is downloaded once and its SHA-256 compared with the
manifests' (--sample 10: a random 10 % of them, for a cheaper regular check).
Packs no manifest lists (left by an interrupted backup) are reported, not counted as problems:
the pack sweep that retention runs removes them.

Exit status: 0 when no problem was found, 9 when problems were found, else as for every command.`;

export function checkCommand(): Command {
  return new Command('check')
    .description('check that the chunked snapshots in a storage can be restored: packs and indexes present and whole, manifests readable')
    .addOption(new Option('--from <storage-url>', 'where the backups are').default(DEFAULT_STORAGE).env('VAULTRA_STORAGE'))
    .option('--job <name>', 'only this job')
    .option('--read-data', 'also download every referenced pack and check its SHA-256')
    .addOption(new Option('--sample <percent>', 'with --read-data, only this random share of the packs (above 0, at most 100)').argParser(percentage))
    .option('--json', 'print the report as JSON on stdout')
    .addHelpText('after', CHECK_HELP)
    .action(async (options: CheckOptions, command: Command) => {
      if (options.sample !== undefined && !options.readData) throw new ConfigError('--sample chooses which packs --read-data reads: add --read-data');
      const storage = await openStorage(options.from);
      const report = await checkRepository(storage, {
        ...(options.job ? { job: options.job } : {}),
        ...(options.readData ? { readData: true } : {}),
        ...(options.sample !== undefined ? { samplePercent: options.sample } : {}),
        ...(signalOf(command) ? { signal: signalOf(command)! } : {}),
      });
      process.exitCode = report.problems > 0 ? EXIT.checkProblems : EXIT.ok;
      if (options.json) return printJson(report);
      if (report.jobs.length === 0) {
        process.stdout.write(`no backups in ${report.location}\n`);
        return;
      }
      process.stdout.write(report.jobs.map(describeJob).join('\n') + '\n');
      process.stdout.write(report.problems > 0 ? `${report.problems} problem${report.problems === 1 ? '' : 's'} found in ${report.location}\n` : `no problems found in ${report.location}\n`);
    });
}

function percentage(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0 && n <= 100)) throw new InvalidArgumentError(`a percentage above 0 and at most 100, got ${JSON.stringify(value)}`);
  return n;
}

/** One job's findings, a line each, problems first. */
function describeJob(check: JobCheck): string {
  const runs = (ids: string[]) => `listed by ${ids.length === 1 ? 'run' : 'runs'} ${ids.join(', ')}`;
  const size = (storedBytes: number | undefined, expectedBytes: number) => (storedBytes === undefined ? 'missing' : `${storedBytes} bytes, the manifest says ${expectedBytes}`);
  const lines = [`job ${check.job}: ${check.manifests} manifest${check.manifests === 1 ? '' : 's'}, ${check.packsReferenced} packs referenced, ${check.packsStored} stored`];
  for (const m of check.unreadableManifests) lines.push(`  problem: manifest ${m.key} cannot be read: ${redact(m.reason)}`);
  for (const p of check.badPacks) lines.push(`  problem: pack ${p.key} ${size(p.storedBytes, p.expectedBytes)} (${runs(p.runs)})`);
  for (const i of check.badIndexes) lines.push(`  problem: index ${i.key} ${size(i.storedBytes, i.expectedBytes)}`);
  for (const c of check.conflictingPacks) lines.push(`  problem: pack ${c.name} is described differently by runs ${c.runs.join(', ')}`);
  for (const d of check.data?.damaged ?? []) lines.push(`  problem: pack ${d.key} ${d.reason} (${runs(d.runs)})`);
  if (check.data) lines.push(`  read ${check.data.packsRead} pack${check.data.packsRead === 1 ? '' : 's'} (${formatBytes(check.data.bytesRead)})`);
  if (check.orphans.count > 0) lines.push(`  ${check.orphans.count} unreferenced pack${check.orphans.count === 1 ? '' : 's'} (${formatBytes(check.orphans.bytes)}): left by interrupted backups; the pack sweep retention runs removes them`);
  lines.push(`  ${problemsIn(check) === 0 ? 'ok' : `${problemsIn(check)} problem${problemsIn(check) === 1 ? '' : 's'}`}`);
  return lines.join('\n');
}
