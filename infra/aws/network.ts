import { Stack } from 'aws-cdk-lib';
import { FlowLogDestination, FlowLogTrafficType, GatewayVpcEndpointAwsService, IpAddresses, SecurityGroup, Subnet, SubnetType, Vpc, type ISecurityGroup, type IVpc, type SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { AwsEnvironment } from './deployment-config.js';
import { acknowledge } from './nag.js';

export interface RunnerNetworkProps {
  /** The environment's `network` section: a VPC of the user's, or none (then one is created). */
  readonly network: AwsEnvironment['network'];
  /** Where the created VPC's flow logs go; none leaves the flow log out (`-c flowLogs=false`, for emulators only). */
  readonly flowLogBucket: IBucket | undefined;
}

/**
 * Where the runner's Fargate tasks start: the subnets and security groups handed to RunTask
 * (through the functions' `VAULTRA_SUBNET_IDS`, `VAULTRA_SECURITY_GROUP_IDS`,
 * `VAULTRA_ASSIGN_PUBLIC_IP`).
 *
 * With `network.vpcId` the user's VPC is imported from the ids in the config, never looked up
 * (a lookup needs AWS credentials at synth). Without it, a VPC is created: two AZs, public and
 * private subnets, one NAT gateway, S3 and DynamoDB gateway endpoints (backup bytes and catalog
 * writes stay off the NAT), flow logs.
 */
export class RunnerNetwork extends Construct {
  readonly vpc: IVpc;
  readonly subnetIds: string[];
  /** The same subnets as a selection, for what runs in them besides Fargate tasks (the inline functions). */
  readonly subnets: SubnetSelection;
  readonly securityGroups: ISecurityGroup[];
  /**
   * Whether tasks get a public IP. Never for a created VPC (private subnets behind a NAT); for an
   * imported one only when the config says so (`network.assignPublicIp`: public subnets with no
   * NAT), since a public IP exposes the task.
   */
  readonly assignPublicIp: boolean;

  constructor(scope: Construct, id: string, props: RunnerNetworkProps) {
    super(scope, id);
    const { network } = props;
    this.assignPublicIp = network.vpcId !== undefined && network.assignPublicIp;
    if (network.vpcId !== undefined) {
      // The AZs are not used (subnets are given by id): the stack's Fn::GetAZs picks keep synth offline.
      this.vpc = Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: network.vpcId, availabilityZones: Stack.of(this).availabilityZones });
      this.subnetIds = [...network.subnetIds];
      this.subnets = { subnets: network.subnetIds.map((subnetId, index) => Subnet.fromSubnetId(this, `Subnet${index}`, subnetId)) };
      this.securityGroups =
        network.securityGroupIds.length > 0
          ? network.securityGroupIds.map((groupId, index) => SecurityGroup.fromSecurityGroupId(this, `SecurityGroup${index}`, groupId, { mutable: false }))
          : [this.runnerSecurityGroup(this.vpc)];
      return;
    }
    const vpc = new Vpc(this, 'Vpc', {
      ipAddresses: IpAddresses.cidr('10.80.0.0/16'),
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'runner', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      gatewayEndpoints: {
        S3: { service: GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: GatewayVpcEndpointAwsService.DYNAMODB },
      },
      flowLogs: props.flowLogBucket ? { all: { destination: FlowLogDestination.toS3(props.flowLogBucket, 'vpc-flow-logs/'), trafficType: FlowLogTrafficType.ALL } } : {},
      // Restricting the default security group takes a custom-resource Lambda; nothing here uses
      // the default group (the runner has its own, the functions run outside the VPC).
      restrictDefaultSecurityGroup: false,
    });
    if (!props.flowLogBucket) acknowledge(vpc, 'AwsSolutions-VPC7', 'Flow log left out by the -c flowLogs=false switch, for emulators that cannot create one (moto); the production deploy never sets it.');
    this.vpc = vpc;
    this.subnets = { subnetType: SubnetType.PRIVATE_WITH_EGRESS };
    this.subnetIds = vpc.selectSubnets(this.subnets).subnetIds;
    this.securityGroups = [this.runnerSecurityGroup(vpc)];
  }

  get securityGroupIds(): string[] {
    return this.securityGroups.map((group) => group.securityGroupId);
  }

  /** No ingress at all: the runner only calls out (databases, S3, DynamoDB, KMS, Secrets Manager). */
  private runnerSecurityGroup(vpc: IVpc): SecurityGroup {
    return new SecurityGroup(this, 'RunnerSecurityGroup', {
      vpc,
      description: 'Vaultra runner tasks: outbound only (databases, AWS APIs)',
      // Databases listen on any port of any network the user has: outbound cannot be narrowed here.
      allowAllOutbound: true,
    });
  }
}
