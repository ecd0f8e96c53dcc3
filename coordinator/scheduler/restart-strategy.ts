// Whether a failed job may restart, and after how long: Flink's RestartBackoffTimeStrategy. The
// scheduler tells the strategy about each failure (`notifyFailure`), then asks `canRestart()`;
// if yes it waits `backoffTimeMs()` on its clock and restores from the latest checkpoint, if no
// the job fails for good with `describe()` in the reason. What configures a strategy (kinds,
// options, Flink's defaults, parsing) is shared/config/restart-strategy-config.ts.

import type { Clock } from '../../shared/clock.ts';
import type {
  ExponentialDelayRestartConfig,
  FailureRateRestartConfig,
  FixedDelayRestartConfig,
  RestartStrategyConfig,
} from '../../shared/config/restart-strategy-config.ts';

export interface RestartStrategy {
  /** Records a failure of the job at the clock's current time. */
  notifyFailure(cause: Error): void;
  /** Whether the job may restart after the failures notified so far. */
  canRestart(): boolean;
  /** How long to wait before restarting after the latest failure. */
  backoffTimeMs(): number;
  /** The kind, its options and how much of its budget is used, for logs and failure reasons. */
  describe(): string;
}

export interface RestartStrategyOptions {
  /** Uniform in [0, 1); the source of jitter. Tests pass a fixed one. */
  random?: () => number;
}

export function createRestartStrategy(config: RestartStrategyConfig, clock: Clock, options: RestartStrategyOptions = {}): RestartStrategy {
  switch (config.kind) {
    case 'none':
      return new NoRestartStrategy();
    case 'fixed-delay':
      return new FixedDelayRestartStrategy(config);
    case 'exponential-delay':
      return new ExponentialDelayRestartStrategy(config, clock, options.random ?? Math.random);
    case 'failure-rate':
      return new FailureRateRestartStrategy(config, clock);
  }
}

export class NoRestartStrategy implements RestartStrategy {
  notifyFailure(_cause: Error): void {}
  canRestart(): boolean {
    return false;
  }
  backoffTimeMs(): number {
    return 0;
  }
  describe(): string {
    return 'none (a failure fails the job)';
  }
}

export class FixedDelayRestartStrategy implements RestartStrategy {
  private failures = 0;

  constructor(private readonly config: FixedDelayRestartConfig) {}

  notifyFailure(_cause: Error): void {
    this.failures++;
  }
  canRestart(): boolean {
    return this.failures <= this.config.attempts;
  }
  backoffTimeMs(): number {
    return this.config.delayMs;
  }
  describe(): string {
    return `fixed-delay (${this.config.attempts} attempts, ${this.config.delayMs} ms apart; ${this.failures} failures so far)`;
  }
}

/**
 * Backoff grows by `backoffMultiplier` with each failure up to `maxBackoffMs`, and goes back to
 * `initialBackoffMs` once the job has run `resetBackoffThresholdMs` without failing (measured from
 * when the restart was due, as Flink measures it from the failure plus the backoff).
 */
export class ExponentialDelayRestartStrategy implements RestartStrategy {
  private currentBackoffMs: number;
  private appliedBackoffMs: number;
  private lastFailureAtMs: number | undefined;
  private failuresSinceReset = 0;

  constructor(
    private readonly config: ExponentialDelayRestartConfig,
    private readonly clock: Clock,
    private readonly random: () => number,
  ) {
    this.currentBackoffMs = config.initialBackoffMs;
    this.appliedBackoffMs = config.initialBackoffMs;
  }

  notifyFailure(_cause: Error): void {
    const now = this.clock.now();
    const stableSinceRestart = this.lastFailureAtMs === undefined ? Infinity : now - (this.lastFailureAtMs + this.appliedBackoffMs);
    if (stableSinceRestart >= this.config.resetBackoffThresholdMs) {
      this.currentBackoffMs = this.config.initialBackoffMs;
      this.failuresSinceReset = 1;
    } else {
      this.currentBackoffMs = Math.min(this.currentBackoffMs * this.config.backoffMultiplier, this.config.maxBackoffMs);
      this.failuresSinceReset++;
    }
    this.lastFailureAtMs = now;
    // Drawn once per failure so that repeated calls to backoffTimeMs() agree.
    const jitterMs = this.currentBackoffMs * this.config.jitterFactor * (2 * this.random() - 1);
    this.appliedBackoffMs = Math.round(Math.min(Math.max(this.currentBackoffMs + jitterMs, 0), this.config.maxBackoffMs));
  }

  canRestart(): boolean {
    return this.config.attempts === undefined || this.failuresSinceReset <= this.config.attempts;
  }

  backoffTimeMs(): number {
    return this.appliedBackoffMs;
  }

  describe(): string {
    const c = this.config;
    const cap = c.attempts === undefined ? '' : `, ${c.attempts} attempts before reset`;
    return (
      `exponential-delay (${c.initialBackoffMs} ms × ${c.backoffMultiplier} up to ${c.maxBackoffMs} ms, jitter ${c.jitterFactor}, ` +
      `reset after ${c.resetBackoffThresholdMs} ms stable${cap}; ${this.failuresSinceReset} failures since reset, ` +
      `current backoff ${this.appliedBackoffMs} ms)`
    );
  }
}

/** Fails the job once more than `maxFailuresPerInterval` failures fall within one interval. */
export class FailureRateRestartStrategy implements RestartStrategy {
  /** Failure times, oldest first; at most maxFailuresPerInterval + 1 are ever needed. */
  private readonly failureTimesMs: number[] = [];

  constructor(private readonly config: FailureRateRestartConfig, private readonly clock: Clock) {}

  notifyFailure(_cause: Error): void {
    this.failureTimesMs.push(this.clock.now());
    if (this.failureTimesMs.length > this.config.maxFailuresPerInterval + 1) this.failureTimesMs.shift();
  }

  canRestart(): boolean {
    return this.failuresInInterval() <= this.config.maxFailuresPerInterval;
  }

  backoffTimeMs(): number {
    return this.config.delayMs;
  }

  describe(): string {
    const c = this.config;
    return `failure-rate (at most ${c.maxFailuresPerInterval} failures per ${c.failureRateIntervalMs} ms, ${c.delayMs} ms apart; ${this.failuresInInterval()} in the current interval)`;
  }

  private failuresInInterval(): number {
    const now = this.clock.now();
    // A failure exactly one interval ago still counts, as in Flink (`now - earliest > interval`).
    return this.failureTimesMs.filter((t) => now - t <= this.config.failureRateIntervalMs).length;
  }
}
