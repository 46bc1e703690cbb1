import { IgnoreMode } from 'aws-cdk-lib';
import type { DockerImageAssetOptions } from 'aws-cdk-lib/aws-ecr-assets';
import { ContainerImage } from 'aws-cdk-lib/aws-ecs';
import { REPO_ROOT } from './repo-root.js';
import { DEFAULT_RUNNER_ARCHITECTURE, imagePlatform, type RunnerArchitecture } from './runner-architecture.js';

/** The runner's Dockerfile, relative to the build context (the repository root). */
export const RUNNER_DOCKERFILE = 'runner/Dockerfile';

/**
 * Never staged into cdk.out as build context: dependencies and build output are rebuilt inside
 * the image, and the rest is local state. `.dockerignore` at the root allow-lists what the build
 * reads; this list holds even if that file is lost.
 */
export const RUNNER_IMAGE_EXCLUDES = ['**/node_modules', 'cdk.out', '**/cdk.out', '.git', 'dist', '.test-results', 'bench/results', 'vaultra-backups', 'vaultra-demo'];

/**
 * How the runner image is built: from the repository root with runner/Dockerfile, for the
 * runner's architecture. Building for another architecture than the build host's runs the
 * runtime stage's `apt-get` under QEMU, which the host must have registered (README, "Deploy an
 * environment"); the build stage always runs natively (`--platform=$BUILDPLATFORM`).
 */
export function runnerImageAssetOptions(architecture: RunnerArchitecture = DEFAULT_RUNNER_ARCHITECTURE): DockerImageAssetOptions {
  return { file: RUNNER_DOCKERFILE, exclude: [...RUNNER_IMAGE_EXCLUDES], ignoreMode: IgnoreMode.DOCKER, platform: imagePlatform(architecture) };
}

/** The runner image, built by `cdk deploy` (synth only stages its small build context). */
export function runnerImage(architecture: RunnerArchitecture = DEFAULT_RUNNER_ARCHITECTURE, directory = REPO_ROOT): ContainerImage {
  return ContainerImage.fromAsset(directory, runnerImageAssetOptions(architecture));
}
