/**
 * Reading the Terraform modules of infra/gcp and infra/azure in tests: every `.tf` file parsed
 * with @cdktf/hcl2json (expressions stay strings such as `"${local.name}"`), and the module's
 * `locals.tf` evaluated for real with `terraform console` (no provider needed), plus the
 * terraform binary and the provider builds scripts/setup-terraform.sh leaves behind.
 */
import { parse } from '@cdktf/hcl2json';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, tail, which } from '../../support/exec.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
export const CONFIG_PATH = path.join(REPO_ROOT, 'vaultra.config.yaml');
export const CONFIG_TEXT = readFileSync(CONFIG_PATH, 'utf8');

/** One block as hcl2json gives it: attributes, nested blocks as arrays, `dynamic` blocks apart. */
export type Block = Record<string, unknown>;

export interface TerraformModule {
  readonly dir: string;
  /** File name → text. */
  readonly files: ReadonlyMap<string, string>;
  /** `resources[type][name]`. */
  readonly resources: Record<string, Record<string, Block>>;
  readonly data: Record<string, Record<string, Block>>;
  /** Every `locals` block of every file, merged. */
  readonly locals: Record<string, unknown>;
  readonly variables: Record<string, Block>;
  readonly outputs: Record<string, Block>;
  readonly terraform: Block[];
  readonly providers: Record<string, Block>;
  /** The `removed` blocks: resources the state forgets (or destroys) rather than keeps. */
  readonly removed: Block[];
  /** The `moved` blocks as `{ from, to }`: addresses an apply renames in the state instead of replacing. */
  readonly moved: Block[];
}

interface Hcl2Json {
  resource?: Record<string, Record<string, Block[]>>;
  data?: Record<string, Record<string, Block[]>>;
  locals?: Record<string, unknown>[];
  variable?: Record<string, Block[]>;
  output?: Record<string, Block[]>;
  terraform?: Block[];
  provider?: Record<string, Block[]>;
  removed?: Block[];
  moved?: Block[];
}

/** Parses every `.tf` file of `dir` (`infra/gcp`, relative to the repository or absolute). */
export async function loadModule(dir: string): Promise<TerraformModule> {
  const absolute = path.resolve(REPO_ROOT, dir);
  const module: TerraformModule = { dir: absolute, files: new Map(), resources: {}, data: {}, locals: {}, variables: {}, outputs: {}, terraform: [], providers: {}, removed: [], moved: [] };
  for (const file of readdirSync(absolute).filter((name) => name.endsWith('.tf')).sort()) {
    const text = readFileSync(path.join(absolute, file), 'utf8');
    (module.files as Map<string, string>).set(file, text);
    const parsed = (await parse(file, text)) as Hcl2Json;
    const merge = (target: Record<string, Record<string, Block>>, source: Record<string, Record<string, Block[]>> | undefined, kind: string): void => {
      for (const [type, byName] of Object.entries(source ?? {})) {
        for (const [name, blocks] of Object.entries(byName)) {
          target[type] ??= {};
          if (target[type][name]) throw new Error(`${dir}: ${kind} ${type}.${name} is declared twice`);
          target[type][name] = blocks[0]!;
        }
      }
    };
    merge(module.resources, parsed.resource, 'resource');
    merge(module.data, parsed.data, 'data source');
    for (const block of parsed.locals ?? []) {
      for (const [name, value] of Object.entries(block)) {
        if (name in module.locals) throw new Error(`${dir}: local ${name} is declared twice`);
        module.locals[name] = value;
      }
    }
    for (const [name, blocks] of Object.entries(parsed.variable ?? {})) module.variables[name] = blocks[0]!;
    for (const [name, blocks] of Object.entries(parsed.output ?? {})) module.outputs[name] = blocks[0]!;
    module.terraform.push(...(parsed.terraform ?? []));
    module.removed.push(...(parsed.removed ?? []));
    module.moved.push(...(parsed.moved ?? []));
    for (const [name, blocks] of Object.entries(parsed.provider ?? {})) module.providers[name] = blocks[0]!;
  }
  return module;
}

/** The resource `type.name`, or a failure naming what the module has. */
export function resource(module: TerraformModule, type: string, name: string): Block {
  const found = module.resources[type]?.[name];
  if (!found) throw new Error(`${module.dir} has no ${type}.${name} (it has ${Object.keys(module.resources[type] ?? {}).join(', ') || `no ${type}`})`);
  return found;
}

/** The first (or only) nested block `name` of `block`. */
export function nested(block: Block, name: string): Block {
  const value = block[name];
  if (!Array.isArray(value) || value.length === 0) throw new Error(`no nested block ${name} in ${JSON.stringify(block).slice(0, 200)}`);
  return value[0] as Block;
}

/** The `content` of each `dynamic "<name>"` block, with its `for_each`. */
export function dynamicBlocks(block: Block, name: string): { forEach: unknown; content: Block }[] {
  const dynamic = (block.dynamic as Record<string, Block[]> | undefined)?.[name] ?? [];
  return dynamic.map((entry) => ({ forEach: entry.for_each, content: (entry.content as Block[])[0]! }));
}

/** Every resource of the module as `{ type, name, block }`. */
export function allResources(module: TerraformModule): { type: string; name: string; block: Block }[] {
  return Object.entries(module.resources).flatMap(([type, byName]) => Object.entries(byName).map(([name, block]) => ({ type, name, block })));
}

// ---- the terraform binary ---------------------------------------------------------------

/** Where scripts/setup-terraform.sh puts what it builds. */
export const TERRAFORM_CACHE = process.env.VAULTRA_TERRAFORM_CACHE ?? path.join(homedir(), '.cache', 'vaultra', 'terraform');

/** The terraform binary: TERRAFORM_BIN, then PATH, then the setup script's cache. */
export function findTerraform(): string | undefined {
  const candidates = [process.env.TERRAFORM_BIN, which('terraform'), path.join(TERRAFORM_CACHE, 'bin', 'terraform')];
  return candidates.find((candidate): candidate is string => candidate !== undefined && which(candidate) !== undefined);
}

/** The provider plugins `terraform validate` runs with, or why there are none. */
export function findProviders(): { dir: string } | { missing: string } {
  const dir = path.join(TERRAFORM_CACHE, 'providers');
  const wanted = ['terraform-provider-google', 'terraform-provider-azurerm', 'terraform-provider-archive'];
  const absent = wanted.filter((name) => !existsSync(path.join(dir, name)));
  if (absent.length > 0) return { missing: `no ${absent.join(', ')} in ${dir}: run scripts/setup-terraform.sh (builds them from the Go module proxy)` };
  return { dir };
}

/** A CLI config that makes terraform use the provider builds in `dir` (no `terraform init`, no registry). */
export function devOverridesConfig(dir: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'vaultra-tfrc-')), 'terraform.rc');
  writeFileSync(
    file,
    `provider_installation {\n  dev_overrides {\n${['google', 'azurerm', 'archive'].map((name) => `    "hashicorp/${name}" = "${dir}"\n`).join('')}  }\n  direct {}\n}\n`,
  );
  return file;
}

/** The environment terraform runs in: no checkpoint call, no user CLI config, no color. */
export function terraformEnv(cliConfig = '/dev/null'): NodeJS.ProcessEnv {
  return { ...process.env, TF_CLI_CONFIG_FILE: cliConfig, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_INPUT: '0' };
}

// ---- evaluating locals.tf ---------------------------------------------------------------

export interface ConsoleOptions {
  readonly environment: string;
  /** Default: the shipped vaultra.config.yaml. */
  readonly configPath?: string;
}

/**
 * Evaluates `expressions` (name → Terraform expression) against the module's variables.tf and
 * locals.tf alone, in a temporary directory, with `terraform console`: the locals need no
 * provider, so this runs offline without `terraform init`. Returns the values as JSON.
 */
export async function evaluateLocals(terraform: string, moduleDir: string, options: ConsoleOptions, expressions: Record<string, string>): Promise<Record<string, unknown>> {
  const result = await runConsole(terraform, moduleDir, options, expressions);
  if (result.code !== 0) throw new Error(`terraform console failed: ${tail(result.stderr || result.stdout)}`);
  const line = result.stdout.trim();
  const match = /^"([A-Za-z0-9+/=]*)"$/.exec(line);
  if (!match) throw new Error(`unexpected terraform console output: ${line.slice(0, 300)}`);
  return JSON.parse(Buffer.from(match[1]!, 'base64').toString('utf8')) as Record<string, unknown>;
}

/** Runs the console and returns its result as is (for the failures a test expects). */
export async function runConsole(terraform: string, moduleDir: string, options: ConsoleOptions, expressions: Record<string, string>) {
  const work = mkdtempSync(path.join(tmpdir(), 'vaultra-tf-locals-'));
  try {
    for (const file of ['variables.tf', 'locals.tf']) copyFileSync(path.join(path.resolve(REPO_ROOT, moduleDir), file), path.join(work, file));
    const object = Object.entries(expressions)
      .map(([name, expression]) => `${name} = ${expression}`)
      .join(', ');
    return await run(terraform, ['console', '-var', `environment=${options.environment}`, '-var', 'runner_image=example.invalid/vaultra/runner:test', '-var', `config_path=${options.configPath ?? CONFIG_PATH}`], {
      cwd: work,
      env: terraformEnv(),
      input: `base64encode(jsonencode({ ${object} }))\n`,
      timeoutMs: 30_000,
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
