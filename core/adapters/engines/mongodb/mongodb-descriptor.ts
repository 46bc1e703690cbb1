import type { EngineDescriptor } from '../../../ports/engine-descriptor.js';
import { ParsedConnection } from '../engine-connection.js';
import { parseMongoUrl, type MongoConnection } from './mongodb-connection.js';

/** A MongoDB source or target, parsed once: the connection (credentials included); a target may name no database (the whole instance). */
export type MongoSource = ParsedConnection<'mongodb', MongoConnection>;

const MONGO_TOOLS = 'install the MongoDB Database Tools (https://www.mongodb.com/try/download/database-tools, or scripts/setup-mongo.sh)';

/** `mongodump version: 100.12.2` → `100.12.2`. */
const mongoVersion = (line: string): string | undefined => /^\S+ version: (\S+)/.exec(line)?.[1];

/** MongoDB: what the engine is (see `MongodbEngine` for what it does). Imports nothing heavy. */
export const mongodbDescriptor = {
  id: 'mongodb',
  label: 'MongoDB',
  schemes: ['mongodb', 'mongodb+srv'],
  urlForms: ['mongodb://…/db', 'mongodb+srv://…/db'],
  targetForm: 'mongodb://…/<db> (created when absent)',
  tools: [
    { anyOf: ['mongodump'], neededFor: ['backup'], purpose: 'backups', install: MONGO_TOOLS, probe: { readVersion: mongoVersion } },
    { anyOf: ['mongorestore'], neededFor: ['restore', 'verify'], purpose: 'restores and dry runs', install: MONGO_TOOLS, probe: { readVersion: mongoVersion } },
  ],
  contentKinds: ['collection', 'view'],
  capabilities: { atomicRestore: false, selections: ['namespaces'], restoresIntoTargetDatabase: true, consistency: 'per collection; point in time with --oplog on a replica set' },
  artifactName: 'mongoarchive',
  parse(url: string): MongoSource {
    const connection = parseMongoUrl(url);
    return new ParsedConnection('mongodb', connection, connection.display);
  },
  secret: { rdsEngines: { mongo: 'mongodb', mongodb: 'mongodb', docdb: 'mongodb' } },
} as const satisfies EngineDescriptor;
