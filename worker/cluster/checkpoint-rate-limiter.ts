// A worker's budget for checkpoint writing, in bytes per second (--checkpoint-rate-limit-mb):
// a token bucket that every subtask's checkpoint writer draws from before it writes a key group.
// A worker reads, hashes and writes checkpoints on the event loop that processes records, so
// while that loop is saturated a checkpoint takes throughput in proportion to how fast it goes;
// the limit then trades a longer checkpoint for a smaller dip. While the loop has idle time the
// checkpoint takes that and is not paced. Time comes from the clock.

import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { CheckpointWriteLimiter } from '../../shared/checkpoint/operator-state-files.ts';
import { sleep, type Clock } from '../../shared/clock.ts';

/** Event-loop utilization at or above which the loop counts as saturated. */
const SATURATED_UTILIZATION = 0.9;
/** The shortest window the utilization is measured over. */
const UTILIZATION_WINDOW_MS = 500;

/** Whether this thread's event loop was busy at least 90 % of the time over the last half second or more. */
export function eventLoopSaturation(): () => boolean {
  let since: EventLoopUtilization = performance.eventLoopUtilization();
  let sinceMs = performance.now();
  let saturated = true;
  return () => {
    const now = performance.now();
    if (now - sinceMs >= UTILIZATION_WINDOW_MS) {
      saturated = performance.eventLoopUtilization(since).utilization >= SATURATED_UTILIZATION;
      since = performance.eventLoopUtilization();
      sinceMs = now;
    }
    return saturated;
  };
}

export class TokenBucketRateLimiter implements CheckpointWriteLimiter {
  private available: number;
  private refilledAtMs: number;
  /** Callers queue, so a large write does not starve behind small ones nor jump ahead. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly bytesPerSecond: number,
    private readonly clock: Clock,
    /** Pacing applies only while this says the worker is saturated. */
    private readonly saturated: () => boolean = () => true,
  ) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`bytesPerSecond must be positive, got ${bytesPerSecond}`);
    this.available = bytesPerSecond; // a second's worth of burst
    this.refilledAtMs = clock.now();
  }

  acquire(bytes: number): Promise<void> {
    const turn = this.queue.then(() => this.take(bytes));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async take(bytes: number): Promise<void> {
    this.refill();
    if (!this.saturated()) return;
    this.available -= bytes;
    if (this.available < 0) {
      await sleep(this.clock, Math.ceil((-this.available / this.bytesPerSecond) * 1000));
      this.refill();
    }
  }

  private refill(): void {
    const now = this.clock.now();
    this.available = Math.min(this.bytesPerSecond, this.available + ((now - this.refilledAtMs) / 1000) * this.bytesPerSecond);
    this.refilledAtMs = now;
  }
}
