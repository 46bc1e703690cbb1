import { ArnFormat, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * The name of one of an environment's alarms: `vaultra-<env>-<what>`. The topic and key policies
 * let CloudWatch publish for alarms named this way only, so every alarm must take its name here.
 */
export function alarmName(environmentName: string, what: string): string {
  return `${alarmNamePrefix(environmentName)}${what}`;
}

function alarmNamePrefix(environmentName: string): string {
  return `vaultra-${environmentName}-`;
}

/**
 * `arn:<partition>:cloudwatch:<region>:<account>:alarm:vaultra-<env>-*`: the ARNs of the
 * environment's alarms, for `aws:SourceArn` conditions. A pattern, not the list of ARNs: a
 * policy that names every alarm of an environment with hundreds of jobs outgrows SNS's 30 KB
 * topic policy limit. An environment whose name extends this one's (`prod` and `prod-eu`) in the
 * same account and region also matches; both are Vaultra's own alarms.
 */
export function alarmArnPattern(scope: IConstruct, environmentName: string): string {
  return Stack.of(scope).formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: `${alarmNamePrefix(environmentName)}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}
