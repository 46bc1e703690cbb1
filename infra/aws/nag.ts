import { Stack, Validations, type App } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { AwsSolutionsChecks } from 'cdk-nag';
// The same flattening the IAM5 rule applies, so the finding ids computed here are the ones it reports.
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';

/** Runs cdk-nag's AwsSolutions pack on every synth of `app`: an unacknowledged finding fails the synth. */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

/**
 * Acknowledges one cdk-nag finding on `scope` (and the resources under it). The reason is what a
 * reviewer reads in the validation report: it must say why the finding is right for Vaultra.
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  if (reason.trim().length < 20) throw new Error(`acknowledgement of ${id} on ${scope.node.path} needs a reason that explains it, got ${JSON.stringify(reason)}`);
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * Acknowledges AwsSolutions-IAM5 for one resource pattern with a `*` that a policy under `scope`
 * grants on purpose (objects under a key prefix, APIs without resource-level permissions).
 * `resource` is the value given to the policy statement, tokens included.
 */
export function acknowledgeWildcardResource(scope: IConstruct, resource: string, reason: string): void {
  const flat = flattenCfnReference(Stack.of(scope).resolve(resource));
  acknowledge(scope, `AwsSolutions-IAM5[Resource::${flat}]`, reason);
}
