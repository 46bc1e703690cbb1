/**
 * The payloads of the Teams, Discord, PagerDuty and healthchecks notifiers at their edges
 * (oversized alerts, markdown, surrogate pairs), checked against each service's documented
 * schema; and which alert goes where (routine alerts, PagerDuty's actions and keys, pings).
 */
import { describe, expect, it } from 'vitest';
import { DISCORD_LIMITS, discordPayload, escapeMarkdown } from '../../core/adapters/notifiers/discord-notifier.js';
import { pingSignal, pingUrl } from '../../core/adapters/notifiers/healthchecks-notifier.js';
import { pagerDutyAction, pagerDutyDedupKey, pagerDutyEvent } from '../../core/adapters/notifiers/pagerduty-notifier.js';
import { emailMessage } from '../../core/adapters/notifiers/smtp-notifier.js';
import { teamsPayload } from '../../core/adapters/notifiers/teams-notifier.js';
import type { Alert, Notifier } from '../../core/ports/notifier.js';
import { notifyAll } from '../../core/usecases/notify-all.js';
import { failedBackup } from '../support/alert-fixtures.js';
import { discordPayloadSchema, pagerDutyEventSchema, teamsMessageSchema } from '../support/notifier-schemas.js';

/** An alert past every limit: a 20 000-character detail, 40 facts of long values, an emoji at every cut. */
const huge: Alert = {
  ...failedBackup,
  title: `${'😀'.repeat(400)} failed`,
  detail: `${'_*~'.repeat(3000)}${'😀'.repeat(5000)}`,
  facts: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`fact ${i} ${'n'.repeat(300)}`, `${'\\'.repeat(1500)}😀`])),
};

describe('Discord payload', () => {
  it('a normal alert: title as content, one embed with detail, inline fields, colour, footer and time; no mentions', () => {
    const payload = discordPayloadSchema.parse(discordPayload({ ...failedBackup, detail: 'ping @everyone *now*' }));
    expect(payload.content).toBe('🚨 shop-postgres: backup failed (pg\\_dump exited 1)');
    expect(payload.allowed_mentions).toEqual({ parse: [] });
    const [embed] = payload.embeds!;
    expect(embed!.description).toBe('ping @everyone \\*now\\*');
    expect(embed!.fields).toEqual([
      { name: 'duration', value: '1 min 38 s', inline: true },
      { name: 'task', value: failedBackup.facts!.task, inline: true },
    ]);
    expect(embed!.footer).toEqual({ text: `prod · shop-postgres · ${failedBackup.runId}` });
    expect(embed!.timestamp).toBe(failedBackup.at);
  });

  it('a huge alert stays within every limit (6000 in all), without a broken escape or half a surrogate pair', () => {
    const payload = discordPayload(huge);
    discordPayloadSchema.parse(payload);
    const embed = payload.embeds[0];
    expect(payload.content.length).toBeLessThanOrEqual(DISCORD_LIMITS.contentChars);
    expect(embed.fields!.length).toBeLessThanOrEqual(DISCORD_LIMITS.fields);
    expect(embed.fields!.at(-1)!.name).toMatch(/^\d+ more$/);
    for (const text of [payload.content, embed.title, embed.description ?? '', ...embed.fields!.map((f) => f.value)]) {
      expect(text).not.toMatch(/[\uD800-\uDBFF]…$/);
      // An odd run of backslashes before the cut would escape the ellipsis.
      expect(/(\\+)…$/.exec(text)?.[1]!.length ?? 0).toSatisfy((n: number) => n % 2 === 0);
    }
  });

  it('escapes what Discord markdown reads inside a line', () => {
    expect(escapeMarkdown('a_b*c~d`e|f>g\\h')).toBe('a\\_b\\*c\\~d\\`e\\|f\\>g\\\\h');
  });
});

describe('Teams payload', () => {
  it('an Adaptive Card in the message envelope: title in the severity colour, detail, facts, origin', () => {
    const card = teamsMessageSchema.parse(teamsPayload(failedBackup)).attachments[0]!.content;
    expect(card.body.map((element) => element.type)).toEqual(['TextBlock', 'TextBlock', 'FactSet', 'TextBlock']);
    expect(card.body[0]).toMatchObject({ text: failedBackup.title, color: 'Attention', weight: 'Bolder' });
    expect(teamsPayload({ ...failedBackup, severity: 'info' }).attachments[0].content.body[0]).toMatchObject({ color: 'Good' });
  });

  it('a huge alert stays under the 28 KB Teams takes, with at most 20 facts', () => {
    const card = teamsMessageSchema.parse(teamsPayload(huge)).attachments[0]!.content;
    const facts = card.body.find((element) => element.type === 'FactSet') as { facts: unknown[] };
    expect(facts.facts).toHaveLength(20);
  });
});

describe('PagerDuty events', () => {
  const key = 'R0UT1NGK3Y0000000000000000000000';

  it('critical alerts trigger, the recovery resolves, everything else is not sent', () => {
    expect(pagerDutyAction(failedBackup)).toBe('trigger');
    expect(pagerDutyAction({ ...failedBackup, kind: 'rpo-breach', runKind: undefined })).toBe('trigger');
    expect(pagerDutyAction({ ...failedBackup, kind: 'run-recovered', severity: 'info' })).toBe('resolve');
    expect(pagerDutyAction({ ...failedBackup, kind: 'run-skipped', severity: 'warning' })).toBeUndefined();
    expect(pagerDutyAction({ ...failedBackup, kind: 'run-succeeded', severity: 'info' })).toBeUndefined();
  });

  it('one incident per environment and job; log problems have their own', () => {
    expect(pagerDutyDedupKey(failedBackup)).toBe('vaultra/prod/shop-postgres');
    expect(pagerDutyDedupKey({ ...failedBackup, kind: 'rpo-breach', runKind: undefined })).toBe('vaultra/prod/shop-postgres');
    expect(pagerDutyDedupKey({ ...failedBackup, runKind: 'log' })).toBe('vaultra/prod/shop-postgres/logs');
    expect(pagerDutyDedupKey({ ...failedBackup, kind: 'log-lag', runKind: undefined })).toBe('vaultra/prod/shop-postgres/logs');
  });

  it('a trigger carries the documented fields, the summary cut to 1024; a resolve only the key', () => {
    const trigger = pagerDutyEventSchema.parse(pagerDutyEvent(huge, key, 'trigger'));
    expect(trigger.event_action === 'trigger' && trigger.payload.summary.length).toBeLessThanOrEqual(1024);
    expect(pagerDutyEvent(failedBackup, key, 'trigger')).toMatchObject({
      payload: { summary: `[prod] ${failedBackup.title}`, source: 'vaultra/prod', severity: 'critical', component: 'shop-postgres', group: 'prod', class: 'run-failed', custom_details: { run: failedBackup.runId, duration: '1 min 38 s' } },
    });
    expect(pagerDutyEventSchema.parse(pagerDutyEvent(failedBackup, key, 'resolve'))).toEqual({ routing_key: key, event_action: 'resolve', dedup_key: 'vaultra/prod/shop-postgres' });
  });
});

describe('healthchecks pings', () => {
  it('a backup’s start, success and failure are pings; log pushes and the watchdog’s findings are not', () => {
    expect(pingSignal({ ...failedBackup, kind: 'run-started' })).toBe('start');
    expect(pingSignal({ ...failedBackup, kind: 'run-succeeded' })).toBe('success');
    expect(pingSignal({ ...failedBackup, kind: 'run-recovered' })).toBe('success');
    for (const kind of ['run-failed', 'launch-failed', 'run-stuck'] as const) expect(pingSignal({ ...failedBackup, kind })).toBe('fail');
    expect(pingSignal({ ...failedBackup, runKind: 'log' })).toBeUndefined();
    expect(pingSignal({ ...failedBackup, kind: 'rpo-breach', runKind: undefined })).toBeUndefined();
    expect(pingSignal({ ...failedBackup, runKind: undefined })).toBeUndefined();
  });

  it('start and fail go under the check URL, before its query', () => {
    expect(pingUrl('https://hc-ping.com/uuid', 'success')).toBe('https://hc-ping.com/uuid');
    expect(pingUrl('https://hc-ping.com/uuid/', 'start')).toBe('https://hc-ping.com/uuid/start');
    expect(pingUrl('https://hc-ping.com/key/app?create=1', 'fail')).toBe('https://hc-ping.com/key/app/fail?create=1');
  });
});

describe('email message', () => {
  it('subject is the title; body the detail and facts; headers for mail rules; high priority when critical', () => {
    const message = emailMessage(failedBackup, 'Vaultra <v@example.test>', ['ops@example.test']);
    expect(message.subject).toBe(failedBackup.title);
    expect(message.text).toContain(failedBackup.detail);
    expect(message.text).toContain('duration: 1 min 38 s');
    expect(message.priority).toBe('high');
    expect(message.headers).toMatchObject({ 'X-Vaultra-Kind': 'run-failed', 'X-Vaultra-Job': 'shop-postgres', 'Auto-Submitted': 'auto-generated' });
    expect(emailMessage({ ...failedBackup, severity: 'info' }, 'v@example.test', ['a@example.test']).priority).toBe('normal');
  });
});

describe('notifyAll and routine alerts', () => {
  it('a routine alert reaches only the notifiers that track runs; any other reaches all', async () => {
    const got: string[] = [];
    const notifier = (name: string, tracksRuns: boolean): Notifier => ({ name, tracksRuns, notify: async () => void got.push(name) });
    const notifiers = [notifier('slack', false), notifier('healthchecks', true)];
    expect((await notifyAll(notifiers, { ...failedBackup, kind: 'run-started', severity: 'info', routine: true })).delivered).toEqual(['healthchecks']);
    expect((await notifyAll(notifiers, failedBackup)).delivered).toEqual(['slack', 'healthchecks']);
    expect(got).toEqual(['healthchecks', 'slack', 'healthchecks']);
  });
});
