// A worker's budget for checkpoint writing, in bytes per second (--checkpoint-rate-limit-mb):
// a token bucket that every subtask's checkpoint writer draws from before it writes a key group.
// On a machine whose cores the job keeps busy, a checkpoint takes throughput in proportion to how
// fast it goes; the limit trades a longer checkpoint for a smaller dip. Time comes from the clock.

import type { CheckpointWriteLimiter } from '../../coordinator/checkpoint/operator-state-files.ts';
import { sleep, type Clock } from '../../shared/clock.ts';

export class TokenBucketRateLimiter implements CheckpointWriteLimiter {
  private available: number;
  private refilledAtMs: number;
  /** Callers queue, so a large write does not starve behind small ones nor jump ahead. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly bytesPerSecond: number, private readonly clock: Clock) {
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
