import { expect } from 'vitest';
import { parseBackupSpecJson, type BackupSpec } from '../../core/domain/backup-spec.js';

/**
 * The backup spec a launcher was asked to start, read back the way the runner reads it: checks
 * the command line is `backup --spec <json> --json --no-progress` and parses the JSON with the
 * runner's own schema.
 */
export function launchedSpec(command: readonly string[] | undefined): BackupSpec {
  expect(command?.slice(0, 2)).toEqual(['backup', '--spec']);
  expect(command?.slice(3)).toEqual(['--json', '--no-progress']);
  return parseBackupSpecJson(command![2]!);
}
