import type { DatabaseEngine, DumpOutput, RestoreSink, SourceDescription, TargetState, ValidationSink } from '../../../ports/database-engine.js';
import { ConfigError } from '../../../errors.js';

// Placeholder while the engine is being built: every operation says so.
const notYet = () => Promise.reject(new ConfigError('the mysql engine is not built yet'));

export class MysqlEngine implements DatabaseEngine {
  readonly id = 'mysql' as const;
  readonly tools = [] as const;
  readonly artifactName = 'sql';
  nameOf(source: string): string {
    return source;
  }
  describe(): Promise<SourceDescription> {
    return notYet();
  }
  dump(): Promise<DumpOutput> {
    return notYet();
  }
  inspectTarget(): Promise<TargetState> {
    return notYet();
  }
  openRestore(): Promise<RestoreSink> {
    return notYet();
  }
  openValidation(): Promise<ValidationSink> {
    return notYet();
  }
}
