/** The scratch server of a scheduled drill, by the official image `drill.server` names (docs/drills.md, "In the cloud"). */
import { describe, expect, it } from 'vitest';
import { drillSidecarOf } from '../../core/config/drill-sidecar.js';
import { drillConfigSchema } from '../../core/config/drill-config.js';
import { engineIdForUrl } from '../../core/adapters/engines/engines.js';

describe('drillSidecarOf', () => {
  it('gives each engine its official image, listening on 127.0.0.1, and a scratch URL its engine reads', () => {
    const cases = [
      ['postgres:17', 'postgres', 5432, 'postgres://postgres@127.0.0.1:5432/vaultra_drill'],
      ['mariadb:11.4', 'mysql', 3306, 'mariadb://root@127.0.0.1:3306/vaultra_drill'],
      ['mysql:8.4', 'mysql', 3306, 'mysql://root@127.0.0.1:3306/vaultra_drill'],
      ['mongo:7.0', 'mongodb', 27017, 'mongodb://127.0.0.1:27017/vaultra_drill'],
    ] as const;
    for (const [image, engine, port, scratchUrl] of cases) {
      const sidecar = drillSidecarOf({ server: image })!;
      expect(sidecar, image).toMatchObject({ image, port, scratchUrl });
      expect(engineIdForUrl(sidecar.scratchUrl)).toBe(engine);
      expect(sidecar.command.join(' ') + sidecar.healthCheck, image).toContain('127.0.0.1');
      expect(sidecar.healthCheck, image).toContain(String(port));
    }
    expect(drillSidecarOf({ server: 'mariadb:11.4' })!.environment).toEqual({ MARIADB_ALLOW_EMPTY_ROOT_PASSWORD: '1' });
    expect(drillSidecarOf({})).toBeUndefined();
  });

  it('accepts only the official images it knows how to start', () => {
    for (const server of ['postgres:17', 'mariadb:11.4', 'mysql:8.4', 'mongo:7.0.14']) expect(drillConfigSchema.safeParse({ server }).success, server).toBe(true);
    for (const server of ['redis:7', 'postgres', 'bitnami/mariadb:11', 'mongo:7 --auth']) expect(drillConfigSchema.safeParse({ server }).success, server).toBe(false);
  });
});
