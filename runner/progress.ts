import cliProgress from 'cli-progress';
import { formatBytes, formatDuration } from './format.js';

/**
 * A one-line progress display on stderr (bytes, rate, elapsed), only on a terminal: stdout
 * carries results, and logs or pipes should not fill with carriage returns.
 */
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
  }

  update(bytes: number, detail?: string): void {
    this.bar?.update(bytes, { detail });
  }

  stop(): void {
    this.bar?.stop();
  }
}
