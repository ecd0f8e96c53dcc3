// Interval join of two keyed streams, with Flink's IntervalJoinOperator semantics: a left record
// at time t meets every right record of the same key in [t + lower, t + upper]. Both sides are
// buffered in keyed state until the watermark makes further matches impossible; records behind
// the watermark are late and dropped (counted). Output records carry max(left, right) time.

import type { ProcessJoinContext, ProcessJoinFunction } from '../../shared/api/functions.ts';
import { NO_TIMESTAMP } from '../../shared/api/time.ts';
import { UserFunctionError } from '../../shared/errors.ts';
import type { StateTable } from '../state/keyed-state-backend.ts';
import { AbstractStreamOperator } from '../runtime/stream-operator.ts';
import type { Timer } from '../runtime/timer-service.ts';

/** A side's buffer for one key: timestamp → records at that time. */
type Buffer = Map<number, unknown[]>;

const CLEANUP_LEFT = 'cleanup-left';
const CLEANUP_RIGHT = 'cleanup-right';

export interface IntervalJoinSpec {
  readonly lowerBoundMs: number;
  readonly upperBoundMs: number;
  readonly lowerBoundInclusive: boolean;
  readonly upperBoundInclusive: boolean;
  /** This subtask's own instance. */
  readonly fn: ProcessJoinFunction<any, any, any>;
}

export class IntervalJoinOperator extends AbstractStreamOperator {
  private leftBuffer!: StateTable<Buffer>;
  private rightBuffer!: StateTable<Buffer>;
  /** Bounds made inclusive, as Flink does on construction. */
  private readonly lowerMs: number;
  private readonly upperMs: number;
  private leftTs = NO_TIMESTAMP;
  private rightTs = NO_TIMESTAMP;
  private resultTs = NO_TIMESTAMP;
  private readonly context: ProcessJoinContext;
  private readonly collector: { collect(value: unknown): void };

  constructor(private readonly spec: IntervalJoinSpec) {
    super();
    this.lowerMs = spec.lowerBoundInclusive ? spec.lowerBoundMs : spec.lowerBoundMs + 1;
    this.upperMs = spec.upperBoundInclusive ? spec.upperBoundMs : spec.upperBoundMs - 1;
    this.context = {
      leftTimestamp: () => this.leftTs,
      rightTimestamp: () => this.rightTs,
      timestamp: () => this.resultTs,
      output: (tag, value) => this.output.collectSide(tag.id, value, this.resultTs),
    };
    this.collector = { collect: (value) => this.output.collect(value, this.resultTs) };
  }

  override open(): void {
    const backend = this.requireKeyed('interval joins');
    this.leftBuffer = backend.getTable('__join_left');
    this.rightBuffer = backend.getTable('__join_right');
    this.spec.fn.open?.(this.runtimeContext());
  }

  override close(): void {
    this.spec.fn.close?.();
  }

  processElement(value: unknown, timestamp: number): void {
    this.setKeyContext(value, 0);
    this.processSide(value, timestamp, true);
  }

  override processElement2(value: unknown, timestamp: number): void {
    this.setKeyContext(value, 1);
    this.processSide(value, timestamp, false);
  }

  private processSide(value: unknown, timestamp: number, isLeft: boolean): void {
    if (timestamp === NO_TIMESTAMP) {
      throw new UserFunctionError(`${this.name}: interval joins need event timestamps; give both sources a WatermarkStrategy with a timestamp assigner`);
    }
    if (timestamp < this.currentWatermark) {
      this.metrics.numLateRecordsDropped++;
      return;
    }
    const ours = isLeft ? this.leftBuffer : this.rightBuffer;
    const theirs = isLeft ? this.rightBuffer : this.leftBuffer;
    const buffer = ours.get(0) ?? new Map<number, unknown[]>();
    const atTime = buffer.get(timestamp);
    if (atTime) atTime.push(value);
    else buffer.set(timestamp, [value]);
    ours.put(0, buffer);

    // For a right record, the left partner's time lies in [t - upper, t - lower].
    const relativeLower = isLeft ? this.lowerMs : -this.upperMs;
    const relativeUpper = isLeft ? this.upperMs : -this.lowerMs;
    const other = theirs.get(0);
    if (other) {
      for (const [otherTs, records] of other) {
        if (otherTs < timestamp + relativeLower || otherTs > timestamp + relativeUpper) continue;
        for (const record of records) {
          if (isLeft) this.emit(value, timestamp, record, otherTs);
          else this.emit(record, otherTs, value, timestamp);
        }
      }
    }
    const cleanupTime = relativeUpper > 0 ? timestamp + relativeUpper : timestamp;
    this.registerEventTimeTimer(cleanupTime, isLeft ? CLEANUP_LEFT : CLEANUP_RIGHT);
  }

  private emit(left: unknown, leftTs: number, right: unknown, rightTs: number): void {
    this.leftTs = leftTs;
    this.rightTs = rightTs;
    this.resultTs = Math.max(leftTs, rightTs);
    this.spec.fn.processElement(left, right, this.context, this.collector);
  }

  protected override onEventTime(timer: Timer): void {
    const isLeft = timer.namespace === CLEANUP_LEFT;
    const table = isLeft ? this.leftBuffer : this.rightBuffer;
    const recordTs = isLeft
      ? this.upperMs <= 0 ? timer.timestamp : timer.timestamp - this.upperMs
      : this.lowerMs <= 0 ? timer.timestamp + this.lowerMs : timer.timestamp;
    const buffer = table.get(0);
    if (!buffer) return;
    buffer.delete(recordTs);
    if (buffer.size === 0) table.remove(0);
    else table.put(0, buffer);
  }
}
