import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { toolVersion } from '../../core/adapters/process/child-process.js';
import { ConfigError } from '../../core/errors.js';
import { ENGINE_DESCRIPTORS } from '../../core/adapters/engines/engine-descriptors.js';
import type { ToolProbe } from '../../core/ports/engine-descriptor.js';
import { printJson, resolveConnection, signalOf } from './shared.js';
import { engineById, engineIdForUrl } from '../../core/adapters/engines/engines.js';
import type { ServerCheck } from '../../core/ports/log-archiver.js';
import { DEFAULT_CONFIG_PATH } from '../../core/config/load-config.js';
import { readYaml } from '../../core/config/read-yaml.js';
import { configuredHelperImage } from '../../core/adapters/engines/volume/volume-engine.js';
import { connectDocker, dockerChecks } from '../docker-checks.js';

/** What `doctor` checks: for each engine (and the pipeline itself), the tools it runs. */
interface ToolNeed {
  /** Any one of these commands will do (e.g. `mariadb-dump` or `mysqldump`). */
  readonly anyOf: readonly string[];
  readonly neededFor: string;
  readonly install: string;
  /** Optional tools only make things faster or add an escape hatch. */
  readonly optional?: boolean;
  readonly probe?: ToolProbe;
}

interface Requirement {
  readonly id: string;
  readonly label: string;
  readonly tools: readonly ToolNeed[];
}

const PIPELINE: Requirement = {
  id: 'pipeline',
  label: 'pipeline',
  tools: [
    { anyOf: ['zstd'], neededFor: 'zstd compression (the default)', install: 'apt-get install zstd' },
    { anyOf: ['pigz'], neededFor: 'parallel gzip (else Node zlib, one core)', install: 'apt-get install pigz', optional: true },
    { anyOf: ['age'], neededFor: 'decrypting without Vaultra', install: 'apt-get install age', optional: true },
  ],
};

/** The pipeline's tools, then each engine's as its descriptor lists them. */
const REQUIREMENTS: readonly Requirement[] = [
  PIPELINE,
  // Tools only point-in-time recovery needs do not make an engine unready for backups and restores.
  ...ENGINE_DESCRIPTORS.map((d) => ({
    id: d.id,
    label: d.label,
    tools: d.tools.map((t) => ({ anyOf: t.anyOf, neededFor: t.purpose, install: t.install, probe: 'probe' in t ? t.probe : undefined, optional: t.neededFor.every((operation) => operation === 'logs') })),
  })),
];

interface Finding {
  readonly need: ToolNeed;
  /** The command found (the first of `anyOf` that answers), and its version line. */
  readonly found?: { readonly name: string; readonly version: string };
  /** When none qualified: the first version line of a program that answered by one of the names but is another tool (bsdtar as `tar`). */
  readonly impostor?: string;
}

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('which native tools are present, their versions, and which engines are ready')
    .addOption(new Option('--engine <ids>', `exit 1 unless these engines are ready (comma-separated: ${REQUIREMENTS.filter((r) => r.id !== 'pipeline').map((r) => r.id).join(', ')}, or all)`))
    .option('--source <url>', 'also check this server\'s settings for point-in-time recovery (binary log, WAL and replication, oplog): exit 1 when one fails')
    .option('--docker', 'also check the Docker engine volume: jobs use (its socket, API version, helper image); checked anyway when the config file has a volume: job')
    .addOption(new Option('--config <path>', 'the config file whose volume: jobs call for the Docker check (skipped when there is none)').default(DEFAULT_CONFIG_PATH).env('VAULTRA_CONFIG'))
    .option('--json', 'print the findings as JSON')
    .addHelpText(
      'after',
      "\nWithout --engine, doctor exits 1 only when the pipeline itself cannot run (zstd missing), or when\nthe Docker engine is checked and fails.\nIn a runner image: vaultra doctor --engine all\nBefore archiving a server's log: vaultra doctor --source mariadb://backup@db/shop\nBefore backing up Docker volumes: vaultra doctor --docker",
    )
    .action(async (options: { engine?: string; source?: string; docker?: boolean; config: string; json?: boolean }, command: Command) => {
      if (options.source !== undefined) return serverDoctor(options.source, Boolean(options.json), signalOf(command));
      const wanted = enginesToRequire(options.engine);
      const checked = await Promise.all(REQUIREMENTS.map(async (requirement) => ({ requirement, findings: await Promise.all(requirement.tools.map(check)) })));
      const ready = (findings: readonly Finding[]) => findings.every((f) => f.found || f.need.optional);
      const notReady = checked.filter((c) => (c.requirement.id === 'pipeline' || wanted.has(c.requirement.id)) && !ready(c.findings));
      const volumeJobs = options.docker ? [] : await volumeJobsIn(options.config);
      const docker = options.docker || volumeJobs.length > 0 ? await dockerSection(volumeJobs, signalOf(command)) : undefined;
      process.exitCode = notReady.length > 0 || docker?.ready === false ? 1 : 0;
      if (options.json) {
        return printJson({
          node: process.version,
          engines: checked.map(({ requirement, findings }) => ({
            id: requirement.id,
            ready: ready(findings),
            tools: findings.map((f) => ({ anyOf: f.need.anyOf, found: f.found?.name ?? null, version: f.found?.version ?? null, neededFor: f.need.neededFor, optional: Boolean(f.need.optional) })),
          })),
          ...(docker ? { docker } : {}),
          ok: notReady.length === 0 && docker?.ready !== false,
        });
      }
      const width = Math.max(...REQUIREMENTS.flatMap((r) => r.tools.map((t) => t.anyOf.join('|').length)));
      const lines = [`node ${process.version}`];
      for (const { requirement, findings } of checked) {
        lines.push('', `${requirement.label}: ${ready(findings) ? 'ready' : 'NOT READY'}`);
        for (const f of findings) {
          const state = f.found ? 'ok     ' : f.need.optional ? 'absent ' : 'MISSING';
          // Name the command found when there was a choice, or it is off PATH, and its version line does not say.
          const which = f.found && (f.need.anyOf.length > 1 || f.found.name.includes('/')) && !f.found.version.startsWith(f.found.name) ? ` (${f.found.name})` : '';
          const detail = f.found ? `${f.found.version}${which}` : `${f.need.neededFor}: ${f.need.install}${f.impostor ? ` (${f.impostor}, not that)` : ''}`;
          lines.push(`  ${state} ${f.need.anyOf.join('|').padEnd(width)}  ${detail}`);
        }
      }
      if (docker) lines.push('', `Docker engine (${docker.checkedFor}): ${docker.ready ? 'ready' : 'NOT READY'}`, ...checkLines(docker.checks));
      const unready = [...notReady.map((c) => c.requirement.label), ...(docker?.ready === false ? ['Docker engine'] : [])];
      lines.push('', unready.length ? `not ready: ${unready.join(', ')}` : wanted.size ? 'every engine asked for is ready' : 'the pipeline is ready; engines marked NOT READY need the tools listed');
      process.stdout.write(lines.join('\n') + '\n');
    });
}

async function check(need: ToolNeed): Promise<Finding> {
  let impostor: string | undefined;
  for (const name of need.anyOf) {
    // zstd decorates its banner with asterisks.
    const command = need.probe?.command?.(name) ?? name;
    const line = (await toolVersion(command, need.probe?.args))?.replace(/^\*+\s*|\s*\*+$/g, '');
    if (!line) continue;
    // A probe that reads no version from the line found another program by that name (bsdtar
    // for GNU tar): the tool the engine needs is still missing, and doctor says what answered instead.
    if (need.probe?.readVersion && need.probe.readVersion(line) === undefined) {
      impostor ??= `${name} is ${line}`;
      continue;
    }
    return { need, found: { name: command, version: line } };
  }
  return impostor ? { need, impostor } : { need };
}

function enginesToRequire(list: string | undefined): Set<string> {
  if (!list) return new Set();
  const engines = REQUIREMENTS.map((r) => r.id).filter((id) => id !== 'pipeline');
  const asked = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (asked.includes('all')) return new Set(engines);
  const unknown = asked.filter((id) => !engines.includes(id));
  if (unknown.length) throw new ConfigError(`unknown engine ${unknown.join(', ')} for --engine (known: ${engines.join(', ')}, all)`);
  return new Set(asked);
}

/** `doctor --source <url>`: the server settings point-in-time recovery needs, each ok, warn or fail with what to do. */
async function serverDoctor(sourceArgument: string, json: boolean, signal: AbortSignal | undefined): Promise<void> {
  const source = await resolveConnection(sourceArgument, signal);
  const engine = engineById(engineIdForUrl(source));
  if (!engine.logs) throw new ConfigError(`${engine.id} keeps no change log Vaultra archives: point-in-time recovery works for PostgreSQL, MariaDB/MySQL and MongoDB replica sets`);
  const connection = engine.parse(source);
  const checks: readonly ServerCheck[] = await engine.logs.checkServer(connection, signal);
  const failed = checks.filter((check) => check.status === 'fail');
  process.exitCode = failed.length > 0 ? 1 : 0;
  if (json) return printJson({ source: connection.describe(), engine: engine.id, log: engine.logs.kind, checks, ok: failed.length === 0 });
  const lines = [`${connection.describe()} (${engine.id}): point-in-time recovery from its ${engine.logs.kind}`, ...checkLines(checks)];
  lines.push('', failed.length ? `not ready: ${failed.map((check) => check.name).join(', ')}` : 'ready for vaultra logs push');
  process.stdout.write(lines.join('\n') + '\n');
}

/** Checks as doctor prints them: status, name, what was found, and on the next line what to do. */
function checkLines(checks: readonly ServerCheck[]): string[] {
  const width = Math.max(...checks.map((check) => check.name.length));
  return checks.flatMap((check) => [
    `  ${{ ok: 'ok  ', warn: 'WARN', fail: 'FAIL' }[check.status]} ${check.name.padEnd(width)}  ${check.detail}`,
    ...(check.fix && check.status !== 'ok' ? [`       ${' '.repeat(width)}  → ${check.fix}`] : []),
  ]);
}

/** The Docker engine's checks; a warning (a helper image still to pull) does not make it unready. */
async function dockerSection(volumeJobs: readonly string[], signal: AbortSignal | undefined) {
  const checks = await dockerChecks(connectDocker, configuredHelperImage(), signal);
  return { checkedFor: volumeJobs.length > 0 ? `volume jobs ${volumeJobs.join(', ')}` : 'asked', ready: checks.every((check) => check.status !== 'fail'), checks };
}

/**
 * The config file's jobs with a `volume:` source, as `<environment>.<job>`: read leniently (no
 * file, or one that does not parse, has none), since checking the config is `config validate`'s job.
 */
async function volumeJobsIn(path: string): Promise<string[]> {
  let raw: unknown;
  try {
    raw = readYaml(await readFile(path, 'utf8'), path);
  } catch {
    return [];
  }
  const environments = (raw as { environments?: Record<string, { jobs?: Record<string, { source?: unknown } | null> } | null> } | null)?.environments ?? {};
  return Object.entries(environments).flatMap(([environment, value]) =>
    Object.entries(value?.jobs ?? {})
      .filter(([, job]) => typeof job?.source === 'string' && /^volume:/i.test(job.source))
      .map(([job]) => `${environment}.${job}`),
  );
}
