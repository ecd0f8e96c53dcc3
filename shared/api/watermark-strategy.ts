// Watermark strategies, as Flink's WatermarkStrategy: how a source assigns event timestamps and
// how each split's watermark follows them. The runtime keeps one generator per split and merges
// them as the minimum over the splits that are not idle.

import { MIN_WATERMARK } from './time.ts';

export type TimestampAssigner<T> = (element: T, recordTimestamp: number) => number;

/** Tracks one split's events and says what its watermark is. */
export interface WatermarkGenerator {
  onEvent(eventTimestamp: number): void;
  /** The current watermark of this split. */
  currentWatermark(): number;
}

export class BoundedOutOfOrdernessWatermarks implements WatermarkGenerator {
  private maxTimestamp: number;

  constructor(private readonly maxOutOfOrdernessMs: number) {
    // Flink starts at Long.MIN_VALUE + outOfOrderness + 1 so the first watermark is MIN.
    this.maxTimestamp = MIN_WATERMARK;
  }

  onEvent(eventTimestamp: number): void {
    if (eventTimestamp > this.maxTimestamp) this.maxTimestamp = eventTimestamp;
  }

  currentWatermark(): number {
    return this.maxTimestamp - this.maxOutOfOrdernessMs - 1;
  }
}

export class WatermarkStrategy<T> {
  private constructor(
    readonly createGenerator: () => WatermarkGenerator,
    readonly timestampAssigner: TimestampAssigner<T> | undefined,
    readonly idlenessMs: number | undefined,
    readonly describe: string,
  ) {}

  /** Watermarks trail the highest timestamp seen by `maxOutOfOrdernessMs` (plus 1 ms, as in Flink). */
  static forBoundedOutOfOrderness<T>(maxOutOfOrdernessMs: number): WatermarkStrategy<T> {
    if (!Number.isFinite(maxOutOfOrdernessMs) || maxOutOfOrdernessMs < 0) {
      throw new RangeError(`maxOutOfOrdernessMs must be a non-negative number, got ${maxOutOfOrdernessMs}`);
    }
    return new WatermarkStrategy<T>(
      () => new BoundedOutOfOrdernessWatermarks(maxOutOfOrdernessMs),
      undefined,
      undefined,
      `boundedOutOfOrderness(${maxOutOfOrdernessMs}ms)`,
    );
  }

  /** For timestamps that never decrease within a split. */
  static forMonotonousTimestamps<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(() => new BoundedOutOfOrdernessWatermarks(0), undefined, undefined, 'monotonousTimestamps');
  }

  /** No watermarks: event-time windows never fire before the end of a bounded input. */
  static noWatermarks<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(
      () => ({ onEvent: () => {}, currentWatermark: () => MIN_WATERMARK }),
      undefined,
      undefined,
      'noWatermarks',
    );
  }

  static forGenerator<T>(createGenerator: () => WatermarkGenerator, describe = 'custom'): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(createGenerator, undefined, undefined, describe);
  }

  withTimestampAssigner(assigner: TimestampAssigner<T>): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(this.createGenerator, assigner, this.idlenessMs, this.describe);
  }

  /** A split that sends nothing for `idleTimeoutMs` of processing time stops holding the watermark back. */
  withIdleness(idleTimeoutMs: number): WatermarkStrategy<T> {
    if (!Number.isFinite(idleTimeoutMs) || idleTimeoutMs <= 0) {
      throw new RangeError(`idleTimeoutMs must be a positive number, got ${idleTimeoutMs}`);
    }
    return new WatermarkStrategy<T>(this.createGenerator, this.timestampAssigner, idleTimeoutMs, this.describe);
  }
}
