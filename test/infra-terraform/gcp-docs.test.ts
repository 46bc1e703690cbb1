/**
 * The Google Cloud deploy instructions, checked against the module they deploy: README.md's
 * "Deploy an environment on Google Cloud" (and its other GCP lines) and infra/gcp/README.md.
 * Only a real project can prove a first deploy; these keep the written steps from drifting into
 * ones that cannot work: an image Cloud Run refuses (not linux/amd64), steps out of order in an
 * empty project, a `-var` the module does not declare, an api call its ingress refuses, a
 * resource type the deployer's roles do not cover.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModule, REPO_ROOT, type Block, type TerraformModule } from './support/terraform-module.js';

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');

/** The text under `heading` up to the next heading of the same or a higher level (fenced code is not scanned for headings). */
function section(text: string, heading: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.trim() === heading);
  if (start < 0) throw new Error(`no heading "${heading}"`);
  const level = /^#+/.exec(heading)![0].length;
  let fenced = false;
  for (let index = start + 1; index < lines.length; index++) {
    const line = lines[index]!;
    if (line.trimStart().startsWith('```')) fenced = !fenced;
    const match = /^(#+)\s/.exec(line);
    if (!fenced && match && match[1]!.length <= level) return lines.slice(start, index).join('\n');
  }
  return lines.slice(start).join('\n');
}

const README = read('README.md');
const GCP_README = read('infra/gcp/README.md');
const README_GCP_DEPLOY = section(README, '### Deploy an environment on Google Cloud');

/** Shell commands with their `\` continuations joined. */
const commands = (text: string) => text.replace(/\\\n\s*/g, ' ').split('\n');

/**
 * Azure's commands: README's "Google Cloud and Azure" section shows both clouds' deploys, and
 * Azure's (an `az acr build`, or a `docker build` then `docker push` to its registry) are
 * azure-docs.test.ts's to judge, by Azure's rules.
 */
const AZURE_COMMAND = /\baz |azurecr\.io|infra\/azure|functions-azure|azurewebsites\.net/;
const withoutAzure = (text: string) =>
  commands(text)
    .filter((line) => !AZURE_COMMAND.test(line))
    .join('\n');

/** Every GCP instruction the docs give, one entry per document part. */
const DOCS = {
  'README.md, Deploy an environment on Google Cloud': README_GCP_DEPLOY,
  'README.md, Google Cloud and Azure': withoutAzure(section(README, '## Google Cloud and Azure')),
  'infra/gcp/README.md': GCP_README,
};

let gcp: TerraformModule;

beforeAll(async () => {
  gcp = await loadModule('infra/gcp');
});

describe('the runner image in the GCP docs', () => {
  it('is always built for linux/amd64, the only platform Cloud Run runs', () => {
    const runnerDescription = String((gcp.variables.runner_image as Block).description);
    const builds = [
      ...Object.entries(DOCS).flatMap(([where, text]) => commands(text).map((line) => ({ where, line }))),
      { where: 'infra/gcp/variables.tf runner_image', line: runnerDescription },
    ].filter(({ line }) => /docker (buildx )?build\b/.test(line) && line.includes('runner/Dockerfile'));
    // README section, README's summary block, infra/gcp/README.md (x86_64 and arm64), the variable.
    expect(builds.length).toBeGreaterThanOrEqual(5);
    for (const { where, line } of builds) expect(line, where).toContain('--platform linux/amd64');
    // A section that pushes an image pushes the one it built for amd64, not a separate `docker push`.
    for (const [where, text] of Object.entries(DOCS)) expect(commands(text).filter((line) => /\bdocker push\b/.test(line)), where).toEqual([]);
  });

  it('is explained for x86_64 and arm64 build hosts, with the emulator arm64 Linux needs', () => {
    for (const text of [README_GCP_DEPLOY, GCP_README]) {
      expect(text).toContain('x86_64');
      expect(text).toContain('arm64');
      expect(text).toContain('docker run --privileged --rm tonistiigi/binfmt --install amd64');
      expect(text).toContain('docker buildx ls');
    }
  });
});

describe('the first deploy, in order', () => {
  /** Position of the first command matching `pattern`, or a failure naming it. */
  const position = (lines: string[], pattern: RegExp) => {
    const found = lines.findIndex((line) => pattern.test(line));
    if (found < 0) throw new Error(`no command matching ${pattern}`);
    return found;
  };

  it.each([
    ['README.md', README_GCP_DEPLOY],
    ['infra/gcp/README.md', GCP_README],
  ])('%s: APIs, secrets, image repository, image, functions package, then apply', (_, text) => {
    const lines = commands(text);
    const enable = position(lines, /gcloud services enable .*artifactregistry\.googleapis\.com/);
    expect(lines[enable]).toContain('secretmanager.googleapis.com');
    const secrets = position(lines, /gcloud secrets create /);
    const repository = position(lines, /gcloud artifacts repositories create /);
    const login = position(lines, /gcloud auth configure-docker /);
    const image = position(lines, /docker buildx build /);
    const pkg = position(lines, /node scripts\/package-gcp-functions\.mjs/);
    const init = position(lines, /terraform -chdir=infra\/gcp init/);
    const apply = position(lines, /terraform -chdir=infra\/gcp apply /);
    expect(enable).toBeLessThan(secrets);
    expect(enable).toBeLessThan(repository);
    expect(repository).toBeLessThan(image);
    expect(login).toBeLessThan(image);
    for (const before of [secrets, image, pkg, init]) expect(before).toBeLessThan(apply);
  });

  it('creates every secret the shipped gcp-example environment names before the apply (infra/gcp/README.md)', () => {
    const named = [...read('vaultra.config.yaml').matchAll(/secret\+gcp:\/\/projects\/vaultra-example\/secrets\/([a-z0-9-]+)/g)].map((match) => match[1]!);
    expect(named.length).toBeGreaterThan(0);
    const created = [...GCP_README.matchAll(/gcloud secrets create ([a-z0-9-]+)/g)].map((match) => match[1]!);
    expect([...new Set(created)].sort()).toEqual([...new Set(named)].sort());
  });

  it('passes only variables the module declares, with values it accepts', () => {
    const allowedIngress = /contains\(\[([^\]]*)\], var\.api_ingress\)/.exec(JSON.stringify(gcp.variables.api_ingress))?.[1];
    expect(allowedIngress).toBeDefined();
    let seen = 0;
    for (const [where, text] of Object.entries(DOCS)) {
      for (const match of text.matchAll(/-var '?([a-z_]+)=([^\s']*)/g)) {
        seen++;
        const [, name, value] = match as unknown as [string, string, string];
        expect(gcp.variables, `${where}: -var ${name}`).toHaveProperty(name);
        if (name === 'api_ingress') expect(allowedIngress, `${where}: api_ingress=${value}`).toContain(`\\"${value}\\"`);
      }
    }
    expect(seen).toBeGreaterThan(4);
  });
});

describe('calling the api function', () => {
  // With the default internal-only ingress, a request from outside the project's VPC networks is
  // refused whatever the caller's roles: a workstation call needs ALLOW_ALL and an invoker.
  it.each(Object.entries(DOCS))('%s: a call with a workstation identity token comes with api_ingress=ALLOW_ALL and an invoker', (_, text) => {
    if (!text.includes('gcloud auth print-identity-token')) return;
    expect(text).toContain('api_ingress=ALLOW_ALL');
    expect(text).toMatch(/api_invokers/);
  });

  it('says how to call it while it stays internal (infra/gcp/README.md)', () => {
    const calling = section(GCP_README, '### Calling the api function');
    expect(calling).toContain('ALLOW_INTERNAL_ONLY');
    expect(calling).toContain('computeMetadata/v1/instance/service-accounts/default/identity?audience=');
    expect((gcp.variables.api_ingress as Block).default).toBe('ALLOW_INTERNAL_ONLY');
    expect(String((gcp.variables.api_invokers as Block).description)).toContain('roles/run.invoker');
  });
});

describe("the deployer's roles (infra/gcp/README.md)", () => {
  /** What creating each resource type (and reading each data source) of the module takes. */
  const ROLE_FOR: Record<string, string> = {
    google_project_service: 'roles/serviceusage.serviceUsageAdmin',
    google_service_account: 'roles/iam.serviceAccountAdmin',
    google_project_iam_custom_role: 'roles/iam.roleAdmin',
    google_project_iam_member: 'roles/resourcemanager.projectIamAdmin',
    google_kms_key_ring: 'roles/cloudkms.admin',
    google_kms_crypto_key: 'roles/cloudkms.admin',
    google_kms_crypto_key_iam_member: 'roles/cloudkms.admin',
    google_storage_bucket: 'roles/storage.admin',
    google_storage_bucket_object: 'roles/storage.admin',
    google_storage_bucket_iam_member: 'roles/storage.admin',
    google_storage_project_service_account: 'roles/storage.admin',
    google_firestore_database: 'roles/datastore.owner',
    google_firestore_index: 'roles/datastore.owner',
    google_firestore_field: 'roles/datastore.owner',
    google_artifact_registry_repository: 'roles/artifactregistry.admin',
    google_artifact_registry_repository_iam_member: 'roles/artifactregistry.admin',
    google_cloud_run_v2_job: 'roles/run.admin',
    google_cloud_run_v2_job_iam_member: 'roles/run.admin',
    google_cloud_run_v2_service_iam_member: 'roles/run.admin',
    google_cloudfunctions2_function: 'roles/cloudfunctions.developer',
    google_cloud_scheduler_job: 'roles/cloudscheduler.admin',
    google_pubsub_topic: 'roles/pubsub.admin',
    google_pubsub_topic_iam_member: 'roles/pubsub.admin',
    google_monitoring_notification_channel: 'roles/monitoring.editor',
    google_monitoring_alert_policy: 'roles/monitoring.editor',
    google_secret_manager_secret: 'roles/secretmanager.admin',
    google_secret_manager_secret_version: 'roles/secretmanager.admin',
    google_secret_manager_secret_iam_member: 'roles/secretmanager.admin',
    google_secret_manager_regional_secret_iam_member: 'roles/secretmanager.admin',
    // Zips a local folder: no Google Cloud call.
    archive_file: '',
  };
  // Resources that run as one of the module's service accounts: their creator must act as it.
  const ACTS_AS = ['google_cloud_run_v2_job', 'google_cloudfunctions2_function', 'google_cloud_scheduler_job'];

  const roleTable = () => {
    const table = section(GCP_README, '## First deploy, from an empty project');
    return new Set([...table.matchAll(/^\| `(roles\/[A-Za-z.]+)` \|/gm)].map((match) => match[1]!));
  };

  it('names a role for every resource type and data source the module has', () => {
    const types = [...Object.keys(gcp.resources), ...Object.keys(gcp.data)];
    expect(types.filter((type) => !(type in ROLE_FOR))).toEqual([]);
    const listed = roleTable();
    const needed = new Set(types.map((type) => ROLE_FOR[type]!).filter((role) => role !== ''));
    expect([...needed].filter((role) => !listed.has(role))).toEqual([]);
  });

  it('are the same in README.md as in infra/gcp/README.md', () => {
    const inReadme = new Set([...README_GCP_DEPLOY.matchAll(/`(roles\/[A-Za-z.]+)`/g)].map((match) => match[1]!).filter((role) => role !== 'roles/owner'));
    expect([...inReadme].sort()).toEqual([...roleTable()].sort());
  });

  it('includes acting as the service accounts the job, the functions and the schedules run as', () => {
    for (const type of ACTS_AS) expect(Object.keys(gcp.resources), type).toContain(type);
    expect(roleTable()).toContain('roles/iam.serviceAccountUser');
  });
});
