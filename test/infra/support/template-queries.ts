import type { Template } from 'aws-cdk-lib/assertions';

/** A resource as the template holds it; callers narrow `Properties` to what they read. */
export interface TemplateResource<P = Record<string, unknown>> {
  readonly id: string;
  readonly Properties: P;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

/** Resources of `type` whose properties satisfy `predicate`. */
export function resourcesWhere<P = Record<string, unknown>>(template: Template, type: string, predicate: (properties: P) => boolean = () => true): TemplateResource<P>[] {
  return Object.entries(template.findResources(type))
    .map(([id, resource]) => ({ id, ...(resource as Omit<TemplateResource<P>, 'id'>), Properties: (resource.Properties ?? {}) as P }))
    .filter((resource) => predicate(resource.Properties));
}

/** The one resource of `type` matching `predicate`; fails when there are none or several. */
export function onlyResource<P = Record<string, unknown>>(template: Template, type: string, predicate?: (properties: P) => boolean): TemplateResource<P> {
  const found = resourcesWhere<P>(template, type, predicate);
  if (found.length !== 1) throw new Error(`expected one ${type} matching, found ${found.length}: ${found.map((resource) => resource.id).join(', ')}`);
  return found[0]!;
}

/**
 * A CloudFormation value as a readable string: `{"Fn::GetAtt": ["X","Arn"]}` → `<X.Arn>`,
 * `{"Ref": "AWS::AccountId"}` → `<AWS::AccountId>`, `Fn::Join` joined. For comparing ARNs.
 */
export function flat(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') {
    const node = value as { Ref?: string; 'Fn::GetAtt'?: [string, string]; 'Fn::Join'?: [string, unknown[]]; 'Fn::Sub'?: string };
    if (node.Ref !== undefined) return `<${node.Ref}>`;
    if (node['Fn::GetAtt'] !== undefined) return `<${node['Fn::GetAtt'][0]}.${node['Fn::GetAtt'][1]}>`;
    if (node['Fn::Join'] !== undefined) return node['Fn::Join'][1].map(flat).join(node['Fn::Join'][0]);
    if (node['Fn::Sub'] !== undefined) return node['Fn::Sub'];
  }
  return JSON.stringify(value);
}

export interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
  readonly Principal?: unknown;
}

export function asList<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

interface PolicyProperties {
  readonly Roles?: unknown[];
  readonly PolicyDocument: { readonly Statement: Statement[] };
}
interface RoleProperties {
  readonly Policies?: { readonly PolicyDocument: { readonly Statement: Statement[] } }[];
}

/** Every identity-policy statement (attached AWS::IAM::Policy and inline), by the logical id of its role. */
export function roleStatements(template: Template): Map<string, Statement[]> {
  const byRole = new Map<string, Statement[]>();
  const add = (role: string, statements: readonly Statement[]) => byRole.set(role, [...(byRole.get(role) ?? []), ...statements]);
  for (const role of resourcesWhere<RoleProperties>(template, 'AWS::IAM::Role')) {
    add(role.id, []);
    for (const inline of role.Properties.Policies ?? []) add(role.id, inline.PolicyDocument.Statement);
  }
  for (const policy of resourcesWhere<PolicyProperties>(template, 'AWS::IAM::Policy')) {
    for (const role of policy.Properties.Roles ?? []) add(flat(role).replace(/^<|>$/g, ''), policy.Properties.PolicyDocument.Statement);
  }
  return byRole;
}

/** The statements of the role whose logical id starts with `prefix` (construct path without slashes). */
export function statementsOfRole(template: Template, prefix: string): Statement[] {
  const matches = [...roleStatements(template)].filter(([id]) => id.startsWith(prefix));
  if (matches.length !== 1) throw new Error(`expected one role with logical id ${prefix}…, found ${matches.map(([id]) => id).join(', ') || 'none'}`);
  return matches[0]![1];
}

/** The statements of `statements` that grant `action`. */
export function granting(statements: readonly Statement[], action: string): Statement[] {
  return statements.filter((statement) => statement.Effect === 'Allow' && asList(statement.Action).includes(action));
}

/** IAM's string wildcards: `*` any run of characters, `?` exactly one. */
export function iamMatches(pattern: string, value: string): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${regex}$`).test(value);
}
