import { existsSync } from 'node:fs';
import path from 'node:path';
import { Architecture, Code, LayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { ConfigError } from '../../core/errors.js';
import { REPO_ROOT } from './repo-root.js';
import { TOOLS_LAYER_ZIP } from '../../core/platform/tools-layer.js';

/**
 * The layer's tools are linux x86_64 binaries with their own loader and libraries
 * (`TOOLS_LAYER_ARCHITECTURE`): the functions that use it run on x86_64, whatever
 * `runner.architecture` says of Fargate.
 */
export const TOOLS_LAYER_LAMBDA_ARCHITECTURE = Architecture.X86_64;

/**
 * The tools layer (`layers/`: pg_dump, pg_restore, psql, mariadb-dump, mariadb, mongodump,
 * mongorestore, sqlite3, zstd, age, tar under /opt/bin) as a layer version of the stack, from the
 * zip `bash layers/build.sh` builds. The zip is an input like the runner image: synth refuses to
 * go on without it rather than deploy inline functions with no tools. `zipPath` (`-c toolsLayer=`)
 * points at another build, or at a small stub in synth tests.
 */
export function toolsLayer(scope: Construct, id: string, zipPath: string = path.join(REPO_ROOT, TOOLS_LAYER_ZIP)): LayerVersion {
  if (!existsSync(zipPath)) {
    throw new ConfigError(`the tools layer ${zipPath} is missing, and this environment has runtime: inline jobs: build it with bash layers/build.sh, or point -c toolsLayer=<zip> at a build`);
  }
  return new LayerVersion(scope, id, {
    code: Code.fromAsset(zipPath),
    compatibleArchitectures: [TOOLS_LAYER_LAMBDA_ARCHITECTURE],
    compatibleRuntimes: [Runtime.NODEJS_22_X],
    description: 'Vaultra dump tools (layers/): PostgreSQL, MariaDB, MongoDB and SQLite clients, zstd, age, tar in /opt/bin',
  });
}
