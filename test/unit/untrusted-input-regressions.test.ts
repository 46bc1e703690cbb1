/**
 * What the fuzz run (test/fuzz/untrusted-input.test.ts) found, each kept as the smallest input
 * that showed it. Every refusal of untrusted bytes must be a VaultraError with a one-line
 * message, and names read from the input must not carry control characters into it.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/load-config.js';
import { MongodbEngine } from '../../core/adapters/engines/mongodb/mongodb-engine.js';
import { ConfigError, IntegrityError, oneLine } from '../../core/errors.js';

// eslint-disable-next-line no-control-regex -- control characters are what must not appear
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;

async function failureOf(work: () => unknown): Promise<Error> {
  try {
    await work();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('found by fuzzing', () => {
  it('a mongodump archive whose header names an element "version\\n": an IntegrityError on one line (was: the newline went into the message)', async () => {
    // The fuzzer's counterexample: a newline inserted after "version", so the string's length
    // prefix no longer fits. The element name is quoted in the message.
    const archive = Buffer.from([
      109, 226, 153, 129, 104, 0, 0, 0, 16, 99, 111, 110, 99, 117, 114, 114, 101, 110, 116, 95, 99, 111, 108, 108, 101, 99, 116, 105, 111, 110, 115, 0, 4, 0, 0, 0, 2, 118, 101, 114,
      115, 105, 111, 110, 10, 4, 0, 0, 0, 48, 46, 49, 0, 2, 115, 101, 114, 118, 101, 114, 95, 118, 101, 114, 115, 105, 111, 110, 0, 7, 0, 0, 0, 55, 46, 48, 46, 49, 52, 0, 2, 116, 111,
      111, 108, 95, 118, 101, 114, 115, 105, 111, 110, 0, 9, 0, 0, 0, 49, 48, 48, 46, 49, 50, 46, 50, 0, 0,
    ]);
    const sink = await new MongodbEngine().openValidation();
    const error = await failureOf(() => pipeline(Readable.from([archive]), sink.stream));
    expect(error).toBeInstanceOf(IntegrityError);
    expect(error.message).toMatch(/^the MongoDB archive is damaged: the archive header at byte 4 is not valid BSON: element "version \| \\x04": string of \d+ bytes does not fit its document$/);
    expect(error.message).not.toMatch(CONTROL);
  });

  it('a config key holding control characters: a ConfigError on one line, the characters escaped (was: \\r and NUL in the message)', () => {
    const error = (() => {
      try {
        parseConfig('version: 1\nenvironments:\n  dev:\n    cloud: local\n    jobs:\n      x:\n        source: "sqlite:/a.db"\n        schedule: { cron: "0 3 * * *" }\n        "enabled\\r\\u0000\\u001b[31m": true\n', 'ctl.yaml');
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected a failure');
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/^ctl\.yaml: environments\.dev\.jobs\.x: Unrecognized key: "enabled\\x0d\\x00\\x1b\[31m"/);
    expect(error.message).not.toMatch(CONTROL);
  });

  it.each([
    ['a !!binary key', '? !!binary aGk=\n: 1\n', /^tag\.yaml:1: a mapping key must be a plain value, not a tag:yaml\.org,2002:binary$/],
    ['a YAML 1.1 timestamp key', '%YAML 1.1\n---\n2001-01-01: 1\n', /^tag\.yaml:3: a mapping key must be a plain value, not a tagged value$/],
  ])('%s: a ConfigError, and no warning from Node on stderr (was: "Keys with collection values will be stringified")', async (_what, text, message) => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      expect(() => parseConfig(text, 'tag.yaml')).toThrow(message);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it('oneLine (the CLI error line, run records) shows control characters as \\xNN', () => {
    expect(oneLine(new Error('name "a\u001b[2Jb"\r\nnext\tline\u0085'))).toBe('name "a\\x1b[2Jb" | next line\\x85');
  });
});
