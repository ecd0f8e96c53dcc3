// Shows a running job's progress: a status line on a terminal, a JSON log line otherwise.

import type { Logger } from '../shared/logging.ts';
import type { JobStatus } from '../worker/runtime/embedded-executor.ts';

function rate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

function watermarkText(wm: number): string {
  if (wm === Number.NEGATIVE_INFINITY) return '-';
  if (wm === Number.POSITIVE_INFINITY) return 'end';
  return new Date(wm).toISOString();
}

export class ProgressReporter {
  private timer: NodeJS.Timeout | undefined;
  private lastRead = 0;
  private lastWritten = 0;
  private lastAtMs = Date.now();
  private readonly intervalMs: number;

  constructor(
    private readonly status: () => JobStatus,
    private readonly logger: Logger,
    private readonly terminal: NodeJS.WriteStream,
  ) {
    this.intervalMs = terminal.isTTY ? 1000 : 10_000;
  }

  start(): void {
    this.timer = setInterval(() => this.report(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.terminal.isTTY) this.terminal.write('\n');
  }

  private report(): void {
    const s = this.status();
    const now = Date.now();
    const seconds = Math.max(0.001, (now - this.lastAtMs) / 1000);
    const inPerSecond = (s.recordsRead - this.lastRead) / seconds;
    const outPerSecond = (s.recordsWritten - this.lastWritten) / seconds;
    this.lastRead = s.recordsRead;
    this.lastWritten = s.recordsWritten;
    this.lastAtMs = now;
    const last = s.checkpoints.last;
    if (this.terminal.isTTY) {
      const line =
        `in ${rate(inPerSecond)}/s out ${rate(outPerSecond)}/s | read ${rate(s.recordsRead)} written ${rate(s.recordsWritten)} | ` +
        `watermark ${watermarkText(s.watermark)} | checkpoint ${last ? `#${last.checkpointId} (${last.durationMs} ms)` : '-'}` +
        (s.deadLetters > 0 ? ` | dead letters ${s.deadLetters}` : '');
      this.terminal.write(`\r\x1b[K${line}`);
    } else {
      this.logger.info('progress', {
        recordsInPerSecond: Math.round(inPerSecond),
        recordsOutPerSecond: Math.round(outPerSecond),
        recordsRead: s.recordsRead,
        recordsWritten: s.recordsWritten,
        watermark: Number.isFinite(s.watermark) ? s.watermark : null,
        lastCheckpoint: last ?? null,
        deadLetters: s.deadLetters,
      });
    }
  }
}
