import { basename } from 'node:path';

/**
 * The name a user types to confirm a restore that replaces data: the database of a database
 * URL, the file of `sqlite:`, the folder of `dir:`. Typing it proves they read which target it
 * is — a `y` is pressed out of habit.
 */
export function targetName(target: string): string {
  const scheme = /^([a-z][a-z0-9+]*):/.exec(target)?.[1];
  if (scheme === 'sqlite' || scheme === 'dir' || scheme === 'pgdata') return basename(target.slice(scheme.length + 1).replace(/\/+$/, ''));
  try {
    const url = new URL(target);
    const database = decodeURIComponent(url.pathname.replace(/^\/+/, '').split('/')[0] ?? '');
    return database || url.searchParams.get('dbname') || url.hostname;
  } catch {
    return target;
  }
}

/** Whether what was typed names the target (surrounding spaces aside; case matters, as names do). */
export function confirms(typed: string, target: string): boolean {
  return typed.trim() === targetName(target);
}
