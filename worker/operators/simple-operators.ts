// Stateless one-record-at-a-time operators and the process-function operators. Each call into
// user code is wrapped only where an error needs the operator's name; the loop itself is plain.

import type {
  Collector,
  CoProcessFunction,
  FilterFunction,
  FlatMapFunction,
  KeyedCoProcessFunction,
  KeyedProcessContext,
  KeyedProcessFunction,
  MapFunction,
  OnTimerContext,
  ProcessContext,
  ProcessFunction,
} from '../../shared/api/functions.ts';
import type { OutputTag } from '../../shared/api/output-tag.ts';
import { NO_TIMESTAMP } from '../../shared/api/time.ts';
import type { WatermarkStrategy } from '../../shared/api/watermark-strategy.ts';
import type { Timer } from '../runtime/timer-service.ts';
import { InvalidPipelineError } from '../../shared/errors.ts';
import { AbstractStreamOperator } from '../runtime/stream-operator.ts';

export class MapOperator extends AbstractStreamOperator {
  constructor(private readonly fn: MapFunction<unknown, unknown>) {
    super();
  }
  processElement(value: unknown, timestamp: number): void {
    this.output.collect(this.fn(value), timestamp);
  }
}

export class FilterOperator extends AbstractStreamOperator {
  constructor(private readonly fn: FilterFunction<unknown>) {
    super();
  }
  processElement(value: unknown, timestamp: number): void {
    if (this.fn(value)) this.output.collect(value, timestamp);
  }
}

/** A Collector that stamps records with the timestamp of the record being processed. */
export class TimestampedCollector implements Collector<unknown> {
  timestamp = NO_TIMESTAMP;
  constructor(private readonly operator: { emit(value: unknown, timestamp: number): void }) {}
  collect(value: unknown): void {
    this.operator.emit(value, this.timestamp);
  }
}

export class FlatMapOperator extends AbstractStreamOperator {
  private readonly collector = new TimestampedCollector(this);
  constructor(private readonly fn: FlatMapFunction<unknown, unknown>) {
    super();
  }
  emit(value: unknown, timestamp: number): void {
    this.output.collect(value, timestamp);
  }
  processElement(value: unknown, timestamp: number): void {
    this.collector.timestamp = timestamp;
    this.fn(value, this.collector);
  }
}

function noTimersWithoutKey(operatorName: string): never {
  throw new InvalidPipelineError(`${operatorName}: timers can only be used on a keyed stream; call keyBy(...) before process(...)`);
}

export function timestampOrUndefined(ts: number): number | undefined {
  return ts === NO_TIMESTAMP ? undefined : ts;
}

export class ProcessOperator extends AbstractStreamOperator {
  private readonly collector = new TimestampedCollector(this);
  private readonly context: ProcessContext = {
    timestamp: () => timestampOrUndefined(this.currentTimestamp),
    output: <X>(tag: OutputTag<X>, value: X) => this.output.collectSide(tag.id, value, this.currentTimestamp),
    timerService: () => noTimersWithoutKey(this.name),
  };
  constructor(private readonly fn: ProcessFunction<unknown, unknown>) {
    super();
  }
  protected override userFunction(): unknown {
    return this.fn;
  }
  emit(value: unknown, timestamp: number): void {
    this.output.collect(value, timestamp);
  }
  override open(): void {
    this.fn.open?.(this.runtimeContext());
  }
  processElement(value: unknown, timestamp: number): void {
    this.currentTimestamp = timestamp;
    this.collector.timestamp = timestamp;
    this.fn.processElement(value, this.context, this.collector);
  }
  override close(): void {
    this.fn.close?.();
  }
}

/** Shared by the keyed one- and two-input process operators: contexts and timer callbacks. */
abstract class KeyedProcessBase extends AbstractStreamOperator {
  protected readonly collector = new TimestampedCollector(this);
  private timeDomain: 'event-time' | 'processing-time' = 'event-time';
  protected readonly context: OnTimerContext<unknown> = {
    timestamp: () => timestampOrUndefined(this.currentTimestamp),
    output: <X>(tag: OutputTag<X>, value: X) => this.output.collectSide(tag.id, value, this.currentTimestamp),
    getCurrentKey: () => this.backend!.getCurrentKey(),
    timerService: () => this.timers,
    timeDomain: () => this.timeDomain,
  };
  private timers!: ReturnType<AbstractStreamOperator['userTimerService']>;

  emit(value: unknown, timestamp: number): void {
    this.output.collect(value, timestamp);
  }

  override open(): void {
    this.timers = this.userTimerService();
  }

  protected abstract callOnTimer(timestamp: number, ctx: OnTimerContext<unknown>, out: Collector<unknown>): void;

  protected override onEventTime(timer: Timer): void {
    this.fire(timer, 'event-time');
  }

  protected override onProcessingTime(timer: Timer): void {
    this.fire(timer, 'processing-time');
  }

  private fire(timer: Timer, domain: 'event-time' | 'processing-time'): void {
    this.timeDomain = domain;
    // Flink stamps records emitted from an event-time timer with the timer's time.
    this.currentTimestamp = domain === 'event-time' ? timer.timestamp : NO_TIMESTAMP;
    this.collector.timestamp = this.currentTimestamp;
    this.callOnTimer(timer.timestamp, this.context, this.collector);
  }
}

export class KeyedProcessOperator extends KeyedProcessBase {
  constructor(private readonly fn: KeyedProcessFunction<unknown, unknown, unknown>) {
    super();
  }
  protected override userFunction(): unknown {
    return this.fn;
  }

  override open(): void {
    super.open();
    this.fn.open?.(this.runtimeContext());
  }
  processElement(value: unknown, timestamp: number): void {
    this.setKeyContext(value, 0);
    this.currentTimestamp = timestamp;
    this.collector.timestamp = timestamp;
    this.fn.processElement(value, this.context as KeyedProcessContext<unknown>, this.collector);
  }
  protected callOnTimer(timestamp: number, ctx: OnTimerContext<unknown>, out: Collector<unknown>): void {
    this.fn.onTimer?.(timestamp, ctx, out);
  }
  override close(): void {
    this.fn.close?.();
  }
}

export class KeyedCoProcessOperator extends KeyedProcessBase {
  constructor(private readonly fn: KeyedCoProcessFunction<unknown, unknown, unknown, unknown>) {
    super();
  }
  protected override userFunction(): unknown {
    return this.fn;
  }

  override open(): void {
    super.open();
    this.fn.open?.(this.runtimeContext());
  }
  processElement(value: unknown, timestamp: number): void {
    this.setKeyContext(value, 0);
    this.currentTimestamp = timestamp;
    this.collector.timestamp = timestamp;
    this.fn.processElement1(value, this.context, this.collector);
  }
  override processElement2(value: unknown, timestamp: number): void {
    this.setKeyContext(value, 1);
    this.currentTimestamp = timestamp;
    this.collector.timestamp = timestamp;
    this.fn.processElement2(value, this.context, this.collector);
  }
  protected callOnTimer(timestamp: number, ctx: OnTimerContext<unknown>, out: Collector<unknown>): void {
    this.fn.onTimer?.(timestamp, ctx, out);
  }
  override close(): void {
    this.fn.close?.();
  }
}

export class CoProcessOperator extends AbstractStreamOperator {
  private readonly collector = new TimestampedCollector(this);
  private readonly context: ProcessContext = {
    timestamp: () => timestampOrUndefined(this.currentTimestamp),
    output: <X>(tag: OutputTag<X>, value: X) => this.output.collectSide(tag.id, value, this.currentTimestamp),
    timerService: () => noTimersWithoutKey(this.name),
  };
  constructor(private readonly fn: CoProcessFunction<unknown, unknown, unknown>) {
    super();
  }
  protected override userFunction(): unknown {
    return this.fn;
  }

  emit(value: unknown, timestamp: number): void {
    this.output.collect(value, timestamp);
  }
  override open(): void {
    this.fn.open?.(this.runtimeContext());
  }
  processElement(value: unknown, timestamp: number): void {
    this.currentTimestamp = timestamp;
    this.collector.timestamp = timestamp;
    this.fn.processElement1(value, this.context, this.collector);
  }
  override processElement2(value: unknown, timestamp: number): void {
    this.currentTimestamp = timestamp;
    this.collector.timestamp = timestamp;
    this.fn.processElement2(value, this.context, this.collector);
  }
  override close(): void {
    this.fn.close?.();
  }
}

/**
 * assignTimestampsAndWatermarks downstream of a source: re-stamps records and generates
 * watermarks from them, ignoring upstream watermarks (as Flink's TimestampsAndWatermarksOperator).
 */
export class TimestampsAndWatermarksOperator extends AbstractStreamOperator {
  private readonly generator;
  private emitted = Number.NEGATIVE_INFINITY;
  constructor(private readonly strategy: WatermarkStrategy<unknown>, private readonly everyRecord: boolean) {
    super();
    this.generator = strategy.createGenerator();
  }
  processElement(value: unknown, timestamp: number): void {
    const assigner = this.strategy.timestampAssigner;
    const ts = assigner ? assigner(value, timestamp) : timestamp;
    this.generator.onEvent(ts);
    this.output.collect(value, ts);
    if (this.everyRecord) this.emitCurrentWatermark();
  }
  override processWatermark(watermark: number): void {
    // Only the end-of-input watermark passes through; the rest come from this operator.
    if (watermark === Number.POSITIVE_INFINITY) super.processWatermark(watermark);
  }
  /** Called by the task at the watermark interval. */
  emitCurrentWatermark(): void {
    const wm = this.generator.currentWatermark();
    if (wm > this.emitted) {
      this.emitted = wm;
      this.output.emitWatermark(wm);
    }
  }
}
