import { describe, expect, it } from 'vitest';
import { jobSchema } from '../../core/domain/job.js';
import { parseAtEdge } from '../../core/domain/validate.js';
import { ConfigError } from '../../core/errors.js';
import { registerSecret } from '../../core/domain/redact.js';

const valid = { name: 'shop', source: 'postgres://app@db/shop', destinations: ['file:///srv/backups'] };

describe('job schema', () => {
  it('fills defaults: zstd, encrypted to the default identity', () => {
    const job = parseAtEdge(jobSchema, valid, 'job');
    expect(job.compression).toEqual({ id: 'zstd' });
    expect(job.encryption).toEqual({ mode: 'default-identity' });
  });

  it('accepts a schedule with a time zone and GFS retention', () => {
    const job = parseAtEdge(jobSchema, { ...valid, schedule: { cron: '15 3 * * *', timeZone: 'Europe/Paris' }, retention: { last: 3, daily: 7, weekly: 4 } }, 'job');
    expect(job.schedule).toEqual({ cron: '15 3 * * *', timeZone: 'Europe/Paris' });
  });

  it.each([
    [{ ...valid, compression: { id: 'lz4' } }, /^job\.compression\.id: .* \(got "lz4"\)$/],
    [{ ...valid, name: 'Shop/EU' }, /^job\.name: job names are .* \(got "Shop\/EU"\)$/],
    [{ ...valid, encryption: { mode: 'recipients', recipients: ['age1short'] } }, /^job\.encryption\.recipients\.0: an age X25519 recipient/],
    [{ ...valid, schedule: { cron: '* *', timeZone: 'UTC' } }, /^job\.schedule\.cron: a five-field cron expression/],
    [{ ...valid, schedule: { cron: '0 3 * * *', timeZone: 'Mars/Olympus' } }, /^job\.schedule\.timeZone: an IANA time zone/],
    [{ ...valid, colour: 'blue' }, /^job: Unrecognized key/],
  ])('refuses %j with a message naming the field and value', (input, message) => {
    expect(() => parseAtEdge(jobSchema, input, 'job')).toThrow(ConfigError);
    expect(() => parseAtEdge(jobSchema, input, 'job')).toThrow(message);
  });

  it('never echoes a registered secret in its error', () => {
    registerSecret('pw-canary-123');
    expect(() => parseAtEdge(jobSchema, { ...valid, destinations: [] , source: 'postgres://u:pw-canary-123@h/db', name: 'Bad Name' }, 'job')).toThrow(/^(?!.*pw-canary-123).*$/);
  });
});
