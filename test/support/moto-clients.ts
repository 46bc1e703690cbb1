/**
 * AWS SDK client settings for the run's moto server, and a second AWS account on it: moto keeps
 * one set of resources per account, and credentials from `sts:AssumeRole` into another account
 * act in that account — a caller that cannot see (or use) the first account's keys.
 */
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { MotoConnection } from './moto-server.js';

export interface MotoClientConfig {
  readonly region: string;
  readonly endpoint: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
}

/** `new XClient(motoClientConfig(moto))` talks to moto in its default account (123456789012). */
export function motoClientConfig(moto: MotoConnection, region = moto.region): MotoClientConfig {
  return { region, endpoint: moto.endpoint, credentials: { accessKeyId: moto.env.AWS_ACCESS_KEY_ID!, secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY! } };
}

/** Credentials of a role in another moto account, as client settings and as CLI environment. */
export async function otherAccount(moto: MotoConnection, accountId = '222222222222'): Promise<{ config: MotoClientConfig; env: Record<string, string> }> {
  const sts = new STSClient(motoClientConfig(moto));
  const { Credentials } = await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${accountId}:role/vaultra-restore`, RoleSessionName: 'vaultra-test' }));
  const credentials = { accessKeyId: Credentials!.AccessKeyId!, secretAccessKey: Credentials!.SecretAccessKey!, sessionToken: Credentials!.SessionToken! };
  return {
    config: { region: moto.region, endpoint: moto.endpoint, credentials },
    env: { ...moto.env, AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_SESSION_TOKEN: credentials.sessionToken },
  };
}
