import path from 'node:path';
import { ContainerImage } from 'aws-cdk-lib/aws-ecs';
import { ConfigError } from '../../core/errors.js';

/**
 * Context switches (`-c name=value`) for deploying where the real thing is out of reach, such as
 * an emulator in CI. Each is off by default: without them the stack is the production one.
 *
 * - `runnerImage=<uri>`: run this prebuilt image instead of building runner/Dockerfile as a CDK
 *   asset (no Docker at deploy time; the image must match `runner.architecture`).
 * - `flowLogs=false`: leave the created VPC's flow log out (moto cannot create one).
 * - `toolsLayer=<zip>`: the tools layer of `runtime: inline` jobs from this zip instead of
 *   layers/dist/vaultra-tools-layer.zip (another build, or a stub in synth tests).
 */
export interface DeploySwitches {
  /** The runner image to use instead of the Docker asset. */
  readonly runnerImage?: ContainerImage;
  /** Whether the created VPC logs its traffic (the default, and what production wants). */
  readonly flowLogs: boolean;
  /** The tools layer's zip instead of layers/dist/vaultra-tools-layer.zip. */
  readonly toolsLayerZip?: string;
}

/** Reads the switches through `context` (`app.node.tryGetContext`); refuses a value it cannot read. */
export function deploySwitchesOf(context: (key: string) => unknown): DeploySwitches {
  const image = context('runnerImage');
  if (image !== undefined && (typeof image !== 'string' || image.trim() === '')) {
    throw new ConfigError('-c runnerImage needs an image URI (e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/vaultra-runner:1.4.0); leave it out to build runner/Dockerfile');
  }
  const layer = context('toolsLayer');
  if (layer !== undefined && (typeof layer !== 'string' || layer.trim() === '')) throw new ConfigError('-c toolsLayer needs the path of a layer zip (bash layers/build.sh builds layers/dist/vaultra-tools-layer.zip); leave it out to use that one');
  return {
    ...(typeof image === 'string' ? { runnerImage: ContainerImage.fromRegistry(image.trim()) } : {}),
    flowLogs: booleanSwitch(context('flowLogs'), 'flowLogs', true),
    ...(typeof layer === 'string' ? { toolsLayerZip: path.resolve(layer.trim()) } : {}),
  };
}

/** `-c name=true|false` arrives as a string, cdk.json's context as a boolean. */
function booleanSwitch(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new ConfigError(`-c ${name} is true or false, got ${JSON.stringify(value)}`);
}
