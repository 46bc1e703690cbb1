import path from 'node:path';
import { Size, type Duration } from 'aws-cdk-lib';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, Runtime, Tracing, type ILayerVersion } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type BundlingOptions, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { REPO_ROOT } from './repo-root.js';
import { encryptedLogGroup } from './log-groups.js';
import { acknowledge } from './nag.js';

export interface VaultraFunctionProps {
  /** The handler's file, relative to the repository root (`AWS_FUNCTION_ENTRIES.x`): named by path, never imported. */
  readonly entry: string;
  readonly description: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly bundling: BundlingOptions;
  /** Encrypts the function's log group. */
  readonly key: IKey;
  readonly logRetentionDays: number;
  readonly timeout: Duration;
  /** @default 512 */
  readonly memorySizeMiB?: number;
  /** @default ARM_64 */
  readonly architecture?: Architecture;
  /** @default none */
  readonly layers?: readonly ILayerVersion[];
  /** The VPC, subnets and security groups the function runs in. @default none: outside any VPC */
  readonly network?: Pick<NodejsFunctionProps, 'vpc' | 'vpcSubnets' | 'securityGroups'>;
  /** Size of /tmp. @default 512 */
  readonly ephemeralStorageMiB?: number;
}

/**
 * One Vaultra function: Node 22 on ARM64, X-Ray tracing, an exported `handler` in `entry`, a
 * KMS-encrypted log group with retention, and a role of its own that starts with nothing but
 * writing its logs and traces; the caller adds what the function does.
 */
export class VaultraFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: VaultraFunctionProps) {
    super(scope, id);
    this.role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com'), description: props.description });
    const logGroup = encryptedLogGroup(this, 'Logs', { key: props.key, retentionDays: props.logRetentionDays });
    this.role.addToPolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));

    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(REPO_ROOT, props.entry),
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: props.architecture ?? Architecture.ARM_64,
      tracing: Tracing.ACTIVE,
      memorySize: props.memorySizeMiB ?? 512,
      ...(props.layers ? { layers: [...props.layers] } : {}),
      ...props.network,
      ...(props.ephemeralStorageMiB ? { ephemeralStorageSize: Size.mebibytes(props.ephemeralStorageMiB) } : {}),
      timeout: props.timeout,
      role: this.role,
      logGroup,
      environment: { ...props.environment },
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      bundling: props.bundling,
    });
    if (props.network) {
      // Lambda attaches the function to the VPC through network interfaces it creates as the
      // function's role. Given a role, the CDK adds no AWSLambdaVPCAccessExecutionRole: these are its actions.
      this.role.addToPolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
          resources: ['*'],
        }),
      );
    }
    acknowledge(
      this.role,
      'AwsSolutions-IAM5[Resource::*]',
      `xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing)${props.network ? ' and the VPC network interface actions Lambda takes as the function (ec2:DescribeNetworkInterfaces has no resource-level permission)' : ''} have no resource-level permissions: AWS requires Resource "*" for them.`,
    );
    acknowledge(
      this.function,
      'AwsSolutions-L1',
      'The functions are built for and tested on Node.js 22 (esbuild target node22, the runner image is Node 22 too); moving to a newer runtime is a deliberate upgrade of both, not a drift.',
    );
  }
}
