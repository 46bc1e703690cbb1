/**
 * A config job's `stopContainers`: accepted on a local environment's `volume:` job and carried
 * into its backup spec; refused, with the field's path and what to do, on any other engine and
 * in a cloud environment, the same by `loadConfig` (first error) and `config validate` (all).
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../core/config/environments.js';
import { validateConfigObject } from '../../core/config/validate-config.js';
import { backupSpecOf } from '../../core/usecases/runner-commands.js';
import { parseBackupSpecJson } from '../../core/domain/backup-spec.js';
import { checkDatabaseUrl } from '../../core/adapters/engines/source-url.js';
import { engineIdForUrl } from '../../core/adapters/engines/engines.js';
import { ConfigError } from '../../core/errors.js';

const CHECKS = { checkSource: checkDatabaseUrl, engineOf: engineIdForUrl };
const RECIPIENT = 'age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40';

function configWith(jobs: Record<string, Record<string, unknown>>, cloud: 'local' | 'aws' = 'local') {
  const environment = cloud === 'local' ? { cloud, storage: { url: 'file://./backups' } } : { cloud, region: 'eu-west-1' };
  const withDefaults = Object.fromEntries(Object.entries(jobs).map(([name, job]) => [name, { schedule: { cron: '0 3 * * *' }, encryption: { kms: false, recipients: [RECIPIENT] }, ...job }]));
  return { version: 1, environments: { site: { ...environment, jobs: withDefaults } } };
}

describe('stopContainers on config jobs', () => {
  it('a volume job of a local environment keeps it, and its backup spec carries it', () => {
    // Act
    const config = resolveConfig(configWith({ uploads: { source: 'volume:uploads', stopContainers: true }, db: { source: 'sqlite:./app.db' } }), 'test.yaml', CHECKS);
    const [uploads, db] = config.environments.get('site')!.jobs;
    const spec = backupSpecOf(uploads!, { storageUrl: 'file:///srv/backups' });
    // Assess
    expect(spec).toMatchObject({ job: 'uploads', source: 'volume:uploads', stopContainers: true });
    expect(backupSpecOf(db!, { storageUrl: 'file:///srv/backups' })).not.toHaveProperty('stopContainers');
    // As a launched runner reads it back.
    expect(parseBackupSpecJson(JSON.stringify(spec)).stopContainers).toBe(true);
  });

  it('is refused on a job whose source is not a Docker volume, naming the field and the fix', () => {
    const config = configWith({ shop: { source: 'postgres://app@localhost/shop', stopContainers: true } });
    expect(() => resolveConfig(config, 'test.yaml', CHECKS)).toThrow(ConfigError);
    expect(() => resolveConfig(config, 'test.yaml', CHECKS)).toThrow(
      /^test\.yaml: environments\.site\.jobs\.shop\.stopContainers: a postgres source has no containers to stop: stopContainers is for volume:<name> jobs \(remove it from this job\)$/,
    );
  });

  it('config validate lists every such job, and a cloud environment\'s, at the field', () => {
    // Prepare
    const local = configWith({ files: { source: 'dir:/srv/files', stopContainers: true }, uploads: { source: 'volume:uploads', stopContainers: true }, off: { source: 'sqlite:./a.db', stopContainers: false } });
    const cloud = configWith({ shop: { source: 'secret+aws://vaultra/shop', stopContainers: true } }, 'aws');
    // Act
    const localReport = validateConfigObject(local, { now: new Date('2026-03-01T12:00:00Z'), ...CHECKS });
    const cloudReport = validateConfigObject(cloud, { now: new Date('2026-03-01T12:00:00Z'), ...CHECKS });
    // Assess
    expect(localReport.errors).toEqual([{ path: 'environments.site.jobs.files.stopContainers', message: 'a directory source has no containers to stop: stopContainers is for volume:<name> jobs (remove it from this job)' }]);
    expect(cloudReport.errors).toEqual([
      { path: 'environments.site.jobs.shop.stopContainers', message: 'a runner in aws has no Docker engine to stop containers with: stopContainers is for volume:<name> jobs of a local environment (remove it from this job)' },
    ]);
  });
});
