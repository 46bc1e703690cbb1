import { formatBytes, formatDuration } from '../format.js';

/**
 * A running action's progress, as `vaultra verify` and `vaultra restore` report it on stderr
 * (runner/progress.ts: bytes, rate, elapsed) plus the phase and, when the total is known from
 * the manifest, the ETA.
 */
export interface ProgressState {
  readonly phase: string;
  readonly bytes: number;
  /** What the action reads in all (the manifest's stored bytes), when known. */
  readonly totalBytes?: number;
  readonly startedAtMs: number;
}

export function describeProgress(progress: ProgressState, nowMs: number): string {
  const elapsedMs = Math.max(nowMs - progress.startedAtMs, 1);
  const rate = progress.bytes / (elapsedMs / 1000);
  const total = progress.totalBytes;
  const share = total ? ` of ${formatBytes(total)} (${Math.min(100, Math.floor((progress.bytes / total) * 100))} %)` : '';
  const eta = total && rate > 0 && progress.bytes < total ? ` · ETA ${formatDuration(Math.round(((total - progress.bytes) / rate) * 1000))}` : '';
  return `${progress.phase}: ${formatBytes(progress.bytes)}${share} · ${formatBytes(rate)}/s · ${formatDuration(elapsedMs)}${eta}`;
}

/** A bar `[#####.....]` `width` wide, for a known total. */
export function progressBar(progress: ProgressState, width: number): string {
  if (!progress.totalBytes || width < 3) return '';
  const filled = Math.min(width - 2, Math.round((progress.bytes / progress.totalBytes) * (width - 2)));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - 2 - filled)}]`;
}
