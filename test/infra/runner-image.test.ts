/**
 * The runner image: its build context as cdk.out stages it (small, without local state, with
 * everything the Dockerfile copies), and runner/Dockerfile read as text: what production builds
 * (PGDG, MongoDB's .deb) is checked here; test/integration/runner-image.test.ts builds the image
 * with the local fallbacks and runs backups through it.
 */
process.env.CDK_VALIDATION = 'false';

import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, Stack, type AssetStaging } from 'aws-cdk-lib';
import { DockerImageAsset } from 'aws-cdk-lib/aws-ecr-assets';
import { RUNNER_DOCKERFILE, runnerImageAssetOptions } from '../../infra/aws/runner-image.js';
import { RUNNER_SCRATCH_VOLUMES } from '../../infra/aws/runner-task.js';
import { REPO_ROOT } from './support/synth.js';

/** Dockerfile instructions: continuation lines joined, comments and blank lines dropped. */
function instructions(text: string): { keyword: string; args: string }[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && current === '')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(current + line);
    current = '';
  }
  return logical.filter((line) => line !== '').map((line) => {
    const [keyword, ...rest] = line.split(/\s+/);
    return { keyword: keyword!.toUpperCase(), args: rest.join(' ') };
  });
}

function filesUnder(root: string): { relative: string; bytes: number }[] {
  const out: { relative: string; bytes: number }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push({ relative: path.relative(root, full), bytes: statSync(full).size });
    }
  };
  walk(root);
  return out;
}

describe('the staged build context', () => {
  let outdir: string;
  let files: { relative: string; bytes: number }[];

  beforeAll(() => {
    // Prepare: the asset exactly as the stack defines it.
    outdir = mkdtempSync(path.join(tmpdir(), 'vaultra-image-'));
    const app = new App({ outdir });
    const asset = new DockerImageAsset(new Stack(app, 'Image'), 'Runner', { directory: REPO_ROOT, ...runnerImageAssetOptions() });
    // Act
    files = filesUnder((asset.node.findChild('Staging') as AssetStaging).absoluteStagedPath);
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('is small: sources and the lockfile only', () => {
    const totalBytes = files.reduce((sum, file) => sum + file.bytes, 0);
    expect(totalBytes).toBeLessThan(5 * 2 ** 20);
  });

  it('holds no dependencies, build output, git data, cdk.out, test results or benchmark results', () => {
    const forbidden = /(^|\/)(node_modules|cdk\.out|\.git|\.test-results)(\/|$)|^dist\/|^bench\/results\//;
    expect(files.map((file) => file.relative).filter((relative) => forbidden.test(relative))).toEqual([]);
  });

  it('leaves out what the image does not need, so a change there does not rebuild it', () => {
    const tops = new Set(files.map((file) => file.relative.split('/')[0]));
    for (const unneeded of ['test', 'functions', 'infra', 'docs', 'vaultra-demo', 'README.md', 'cdk.json']) expect(tops.has(unneeded), unneeded).toBe(false);
  });

  it('holds every file the Dockerfile copies from the context', () => {
    const dockerfile = instructions(readFileSync(path.join(REPO_ROOT, RUNNER_DOCKERFILE), 'utf8'));
    const sources = dockerfile.filter((step) => step.keyword === 'COPY' && !step.args.startsWith('--from')).flatMap((step) => step.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    const relatives = files.map((file) => file.relative);
    for (const source of sources) expect(relatives.some((relative) => relative === source || relative.startsWith(`${source}/`)), source).toBe(true);
    expect(relatives).toContain(RUNNER_DOCKERFILE);
  });
});

describe('runner/Dockerfile', () => {
  const text = readFileSync(path.join(REPO_ROOT, RUNNER_DOCKERFILE), 'utf8');
  const steps = instructions(text);
  const runs = (stage: number) => stageSteps(stage).filter((step) => step.keyword === 'RUN').map((step) => step.args).join('\n');
  const stageSteps = (stage: number) => {
    const starts = steps.flatMap((step, index) => (step.keyword === 'FROM' ? [index] : []));
    return steps.slice(starts[stage], starts[stage + 1]);
  };
  const RUNTIME = 3;
  const arg = (name: string) => steps.find((step) => step.keyword === 'ARG' && step.args.startsWith(`${name}=`))?.args.split('=')[1];

  it('has a build stage and a runtime stage on node:22-bookworm-slim, and native and mongo-tools stages between them for the target platform', () => {
    const froms = steps.filter((step) => step.keyword === 'FROM').map((step) => step.args);
    expect(froms).toEqual(['--platform=$BUILDPLATFORM ${NODE_IMAGE} AS build', '${NODE_BUILD_IMAGE} AS native', '${NODE_BUILD_IMAGE} AS mongo-tools-go', '${NODE_IMAGE} AS runtime']);
    expect(arg('NODE_IMAGE')).toBe('node:22-bookworm-slim');
    expect(arg('NODE_BUILD_IMAGE')).toBe('node:22-bookworm');
  });

  it('reads under the legacy builder too: no syntax directive, no BuildKit-only instructions, BUILDPLATFORM declared as a build argument', () => {
    expect(text).not.toMatch(/^#\s*syntax=/m);
    expect(steps.filter((step) => step.keyword === 'RUN' && /^--(mount|network|security)\b/.test(step.args))).toEqual([]);
    expect(text).not.toMatch(/<<-?\s*['"]?[A-Z]+['"]?\s*$/m);
    const firstFrom = steps.findIndex((step) => step.keyword === 'FROM');
    expect(steps.slice(0, firstFrom)).toContainEqual({ keyword: 'ARG', args: 'BUILDPLATFORM' });
    // BuildKit sets TARGETARCH; the legacy builder does not, and dpkg answers instead.
    expect(runs(RUNTIME)).toContain('arch="${TARGETARCH:-$(dpkg --print-architecture)}"');
  });

  it("builds zstd-napi's addon on the target platform (the build stage runs no install scripts) and ships that", () => {
    expect(runs(0)).toMatch(/npm ci .*--ignore-scripts/);
    expect(runs(1)).toMatch(/npm rebuild zstd-napi/);
    expect(stageSteps(RUNTIME).some((step) => step.keyword === 'COPY' && step.args === '--from=native /src/node_modules ./node_modules')).toBe(true);
  });

  it('builds with npm ci and npm run build, then prunes the dev dependencies', () => {
    const build = runs(0);
    expect(build).toMatch(/npm ci\b/);
    expect(build).toMatch(/npm run build && npm prune --omit=dev/);
  });

  it('installs the dump tools: PostgreSQL 18 client from PGDG, MariaDB client, MongoDB tools 100.12.2, sqlite3, zstd, pigz, age, tar', () => {
    const runtime = runs(RUNTIME);
    expect(arg('POSTGRESQL_CLIENT_SOURCE')).toBe('pgdg');
    expect(arg('POSTGRESQL_CLIENT_MAJOR')).toBe('18');
    expect(runtime).toContain('https://apt.postgresql.org/pub/repos/apt ${VERSION_CODENAME}-pgdg main');
    expect(runtime).toContain('signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc');
    expect(runtime).toContain('postgresql_client="postgresql-client-${POSTGRESQL_CLIENT_MAJOR}"');
    const install = /apt-get install -y --no-install-recommends\s+"\$\{postgresql_client\}"(.*?);/.exec(runtime)?.[1] ?? '';
    for (const tool of ['mariadb-client', 'sqlite3', 'zstd', 'pigz', 'age', 'tar', '${mongo_deb:+"/tmp/${mongo_deb}"}']) expect(install.split(/\s+/), tool).toContain(tool);
    expect(arg('MONGODB_TOOLS_SOURCE')).toBe('deb');
    expect(runtime).toMatch(/apt-get install -y --no-install-recommends ca-certificates curl/);
    expect(arg('MONGODB_TOOLS_VERSION')).toBe('100.12.2');
    expect(runtime).toContain('https://fastdl.mongodb.org/tools/db/${mongo_deb}');
    expect(runtime).toContain('amd64) mongo_deb="mongodb-database-tools-debian12-x86_64-${MONGODB_TOOLS_VERSION}.deb"');
    expect(runtime).toContain('arm64) mongo_deb="mongodb-database-tools-ubuntu2204-arm64-${MONGODB_TOOLS_VERSION}.deb"');
    // Each tool's --version runs at build time: a missing one fails the build.
    for (const tool of ['pg_dump', 'pg_restore', 'psql', 'mariadb-dump', 'mongodump', 'mongorestore', 'sqlite3', 'zstd', 'pigz', 'age']) expect(runtime).toContain(`${tool} --version`);
  });

  it('runs as a non-root user it creates', () => {
    const users = steps.filter((step) => step.keyword === 'USER').map((step) => step.args);
    expect(users.length).toBeGreaterThan(0);
    const last = users.at(-1)!;
    expect(last).not.toMatch(/^(root|0)(:|$)/);
    const uid = last.split(':')[0]!;
    expect(runs(RUNTIME)).toMatch(new RegExp(`useradd .*--uid ${uid}\\b`));
    // Nothing after the switch runs as root again.
    const afterUser = steps.slice(steps.findLastIndex((step) => step.keyword === 'USER'));
    expect(afterUser.filter((step) => step.keyword === 'RUN')).toEqual([]);
  });

  it('declares as VOLUME exactly the scratch paths the task mounts over its read-only root, after they exist with their owner', () => {
    const volumes = steps.filter((step) => step.keyword === 'VOLUME');
    expect(volumes).toHaveLength(1);
    expect(JSON.parse(volumes[0]!.args)).toEqual(Object.values(RUNNER_SCRATCH_VOLUMES));
    // Fargate fills each volume from the image's directory: the home folder must be the runtime user's.
    expect(runs(RUNTIME)).toMatch(new RegExp(`useradd .*--home-dir ${RUNNER_SCRATCH_VOLUMES.home} --create-home`));
    const declaredAt = steps.indexOf(volumes[0]!);
    expect(steps.findLastIndex((step) => step.keyword === 'RUN')).toBeLessThan(declaredAt);
  });

  it('copies the built CLI and starts it, with --help as the default command', () => {
    expect(steps).toContainEqual({ keyword: 'COPY', args: '--from=build /src/dist ./dist' });
    expect(steps.filter((step) => step.keyword === 'WORKDIR').map((step) => step.args)).toContain('/app');
    expect(steps.find((step) => step.keyword === 'ENTRYPOINT')?.args).toBe('["node", "/app/dist/vaultra.mjs"]');
    expect(steps.find((step) => step.keyword === 'CMD')?.args).toBe('["--help"]');
  });
});
