// When the next periodic checkpoint is due (Flink's CheckpointCoordinator timer): one interval
// after the attempt starts running, then one interval after each periodic trigger. Whether the
// checkpoint coordinator can take one then (min pause, one at a time) is its own decision.

import type { Clock } from '../../shared/clock.ts';

export class PeriodicCheckpointScheduler {
  private nextAtMs = Number.POSITIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
  ) {}

  /** An attempt starts running: its first checkpoint is due one interval from now. */
  start(): void {
    this.nextAtMs = this.clock.now() + this.intervalMs;
  }

  /** No attempt runs: nothing is due until the next start. */
  stop(): void {
    this.nextAtMs = Number.POSITIVE_INFINITY;
  }

  get isDue(): boolean {
    return this.clock.now() >= this.nextAtMs;
  }

  /** A periodic checkpoint was triggered now: the next is due one interval later. */
  triggered(): void {
    this.nextAtMs = this.clock.now() + this.intervalMs;
  }
}
