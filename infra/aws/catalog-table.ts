import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption, type Attribute } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { KeySchemaElement, Projection } from '@aws-sdk/client-dynamodb';
import { dynamoDbCatalogTableSchema } from '../../core/adapters/catalog/dynamodb-table-schema.js';

export interface CatalogTableProps {
  readonly key: IKey;
}

/**
 * The run catalog: exactly the table `dynamoDbCatalogTableSchema()` describes (keys, indexes,
 * TTL), built from that description so the two cannot drift. On-demand, point-in-time recovery,
 * encrypted with the environment's key, kept when the stack goes.
 */
export class CatalogTable extends Construct {
  readonly table: Table;
  /** The ARNs of the table's indexes, for Query permissions without a `/index/*` wildcard. */
  readonly indexArns: string[];

  constructor(scope: Construct, id: string, props: CatalogTableProps) {
    super(scope, id);
    const schema = dynamoDbCatalogTableSchema('catalog');
    const create = schema.createTable;
    if (create.BillingMode !== 'PAY_PER_REQUEST') throw new Error(`the catalog schema asks for billing mode ${create.BillingMode}; this construct builds on-demand tables only`);
    const attributeTypes = new Map((create.AttributeDefinitions ?? []).map((definition) => [definition.AttributeName!, definition.AttributeType!]));
    const attribute = (name: string): Attribute => {
      const type = attributeTypes.get(name);
      if (type === undefined) throw new Error(`the catalog schema uses attribute ${name} in a key without defining it`);
      return { name, type: { S: AttributeType.STRING, N: AttributeType.NUMBER, B: AttributeType.BINARY }[type] };
    };
    const keys = (schemaKeys: KeySchemaElement[] | undefined) => {
      const hash = schemaKeys?.find((key) => key.KeyType === 'HASH')?.AttributeName;
      const range = schemaKeys?.find((key) => key.KeyType === 'RANGE')?.AttributeName;
      if (hash === undefined) throw new Error('the catalog schema has a key schema without a HASH key');
      return { partitionKey: attribute(hash), ...(range ? { sortKey: attribute(range) } : {}) };
    };

    this.table = new Table(this, 'Table', {
      ...keys(create.KeySchema),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.key,
      timeToLiveAttribute: schema.timeToLive.AttributeName,
      // The manifests in S3 are the truth and can rebuild the catalog, but a rebuild is slow: keep it.
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection: true,
    });
    for (const index of create.LocalSecondaryIndexes ?? []) {
      const { sortKey } = keys(index.KeySchema);
      if (sortKey === undefined) throw new Error(`the catalog schema's local index ${index.IndexName} has no sort key`);
      this.table.addLocalSecondaryIndex({ indexName: index.IndexName!, sortKey, ...projection(index.Projection) });
    }
    for (const index of create.GlobalSecondaryIndexes ?? []) {
      this.table.addGlobalSecondaryIndex({ indexName: index.IndexName!, ...keys(index.KeySchema), ...projection(index.Projection) });
    }
    const indexNames = [...(create.LocalSecondaryIndexes ?? []), ...(create.GlobalSecondaryIndexes ?? [])].map((index) => index.IndexName!);
    this.indexArns = indexNames.map((name) => `${this.table.tableArn}/index/${name}`);
  }
}

function projection(schemaProjection: Projection | undefined): { projectionType: ProjectionType; nonKeyAttributes?: string[] } {
  switch (schemaProjection?.ProjectionType ?? 'ALL') {
    case 'KEYS_ONLY':
      return { projectionType: ProjectionType.KEYS_ONLY };
    case 'INCLUDE':
      return { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: schemaProjection?.NonKeyAttributes ?? [] };
    default:
      return { projectionType: ProjectionType.ALL };
  }
}
