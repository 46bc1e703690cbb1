import cliProgress from 'cli-progress';
import { formatBytes, formatDuration } from './format.js';

/**
 * A one-line progress display on stderr (bytes, rate, elapsed), only on a terminal: stdout
 * carries results, and logs or pipes should not fill with carriage returns.
 */
/** The bar on screen, if any: a line printed meanwhile goes above it. */
let shown: cliProgress.SingleBar | undefined;

/** Prints `line` on stderr; with a progress bar on screen, clears the bar's line first (the bar redraws below on its next tick). */
export function printAboveProgress(line: string): void {
  process.stderr.write(shown ? `\r\x1b[2K${line}\n` : `${line}\n`);
}

export class Progress {
  private readonly bar: cliProgress.SingleBar | undefined;
  private readonly startedAt = Date.now();

  constructor(label: string, enabled: boolean) {
    if (!enabled || !process.stderr.isTTY) return;
    this.bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: true,
        fps: 5,
        format: (_options, params, payload: { detail?: string }) => {
          const elapsedMs = Date.now() - this.startedAt;
          const rate = params.value / Math.max(elapsedMs / 1000, 0.001);
          return `${label} ${formatBytes(params.value)}${payload.detail ? ` (${payload.detail})` : ''} · ${formatBytes(rate)}/s · ${formatDuration(elapsedMs)}`;
        },
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(0, 0, {});
    shown = this.bar;
  }

  update(bytes: number, detail?: string): void {
    this.bar?.update(bytes, { detail });
  }

  stop(): void {
    this.bar?.stop();
    if (shown === this.bar) shown = undefined;
  }
}

/**
 * What a backup's progress line shows: the dumped bytes, the stored ones beside them. Until the
 * dump's size is known — a tool writing straight into zstd where no `/proc/<pid>/io` tells how
 * much (macOS, Windows, `VAULTRA_PROC_PROGRESS=0`) — the stored bytes, which Node counts itself.
 */
export function dumpProgress({ bytesRaw, bytesStored }: { bytesRaw: number; bytesStored: number }): { bytes: number; detail: string } {
  return bytesRaw > 0 ? { bytes: bytesRaw, detail: `${formatBytes(bytesStored)} stored` } : { bytes: bytesStored, detail: 'stored; dump size at the end' };
}
