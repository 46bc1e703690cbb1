import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { CpuArchitecture } from 'aws-cdk-lib/aws-ecs';
import type { AwsEnvironment } from './deployment-config.js';

/** `runner.architecture` in the config. */
export type RunnerArchitecture = 'arm64' | 'x86_64';

/** Graviton: cheaper per vCPU on Fargate, and every dump tool the image carries has an arm64 build. */
export const DEFAULT_RUNNER_ARCHITECTURE: RunnerArchitecture = 'arm64';

/**
 * The architecture the environment's runner runs on. The task definition and the image asset
 * both read it from here: an image built for one architecture in a task declared for the other
 * fails to start (`exec format error`).
 */
export function runnerArchitecture(environment: Pick<AwsEnvironment, 'runner'>): RunnerArchitecture {
  return environment.runner.architecture ?? DEFAULT_RUNNER_ARCHITECTURE;
}

/** The platform `cdk deploy` passes to `docker build --platform`. */
export function imagePlatform(architecture: RunnerArchitecture): Platform {
  return architecture === 'arm64' ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64;
}

/** The Fargate task's `runtimePlatform.cpuArchitecture`. */
export function taskCpuArchitecture(architecture: RunnerArchitecture): CpuArchitecture {
  return architecture === 'arm64' ? CpuArchitecture.ARM64 : CpuArchitecture.X86_64;
}
