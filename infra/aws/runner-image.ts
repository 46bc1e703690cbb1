import { IgnoreMode } from 'aws-cdk-lib';
import { Platform, type DockerImageAssetOptions } from 'aws-cdk-lib/aws-ecr-assets';
import { ContainerImage } from 'aws-cdk-lib/aws-ecs';
import { REPO_ROOT } from './repo-root.js';

/** The runner's Dockerfile, relative to the build context (the repository root). */
export const RUNNER_DOCKERFILE = 'runner/Dockerfile';

/**
 * Never staged into cdk.out as build context: dependencies and build output are rebuilt inside
 * the image, and the rest is local state. `.dockerignore` at the root allow-lists what the build
 * reads; this list holds even if that file is lost.
 */
export const RUNNER_IMAGE_EXCLUDES = ['**/node_modules', 'cdk.out', '**/cdk.out', '.git', 'dist', '.test-results', 'bench/results', 'vaultra-backups', 'vaultra-demo'];

/**
 * How the runner image is built: from the repository root with runner/Dockerfile, for ARM64
 * (Graviton Fargate: cheaper per vCPU, and every dump tool has an arm64 build).
 */
export const RUNNER_IMAGE_ASSET_OPTIONS = {
  file: RUNNER_DOCKERFILE,
  exclude: RUNNER_IMAGE_EXCLUDES,
  ignoreMode: IgnoreMode.DOCKER,
  platform: Platform.LINUX_ARM64,
} as const satisfies DockerImageAssetOptions;

/** The runner image, built by `cdk deploy` (synth only stages its small build context). */
export function runnerImage(directory = REPO_ROOT): ContainerImage {
  return ContainerImage.fromAsset(directory, { ...RUNNER_IMAGE_ASSET_OPTIONS, exclude: [...RUNNER_IMAGE_EXCLUDES] });
}
