// User functions of the DataStream API, with Flink's names and meaning. Simple transformations
// take plain functions; process functions are objects with optional lifecycle methods.

import type { MetricGroup } from './metrics.ts';
import type {
  AggregatingState,
  AggregatingStateDescriptor,
  ListState,
  ListStateDescriptor,
  MapState,
  MapStateDescriptor,
  ReducingState,
  ReducingStateDescriptor,
  ValueState,
  ValueStateDescriptor,
} from './state.ts';
import type { OutputTag } from './output-tag.ts';
import type { TimeWindow, Window } from './windows.ts';

export interface Collector<T> {
  collect(value: T): void;
}

export type MapFunction<IN, OUT> = (value: IN) => OUT;
export type FilterFunction<T> = (value: T) => boolean;
export type FlatMapFunction<IN, OUT> = (value: IN, out: Collector<OUT>) => void;
export type KeySelector<T, K> = (value: T) => K;
export type JoinFunction<L, R, OUT> = (left: L, right: R) => OUT;

export interface RuntimeContext {
  readonly operatorName: string;
  readonly operatorUid: string;
  readonly indexOfThisSubtask: number;
  readonly numberOfParallelSubtasks: number;
  readonly maxNumberOfParallelSubtasks: number;
  /** The operator's metric group: counters, gauges, meters and histograms exported on /metrics. */
  getMetricGroup(): MetricGroup;
  /** Runtime properties (`--property group.key=value`), as in Managed Flink's property groups. */
  readonly properties: Readonly<Record<string, Readonly<Record<string, string>>>>;
  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>;
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>;
  getMapState<K, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V>;
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>;
  getAggregatingState<IN, ACC, OUT>(descriptor: AggregatingStateDescriptor<IN, ACC, OUT>): AggregatingState<IN, OUT>;
}

export interface TimerService {
  currentProcessingTime(): number;
  currentWatermark(): number;
  registerEventTimeTimer(timestampMs: number): void;
  registerProcessingTimeTimer(timestampMs: number): void;
  deleteEventTimeTimer(timestampMs: number): void;
  deleteProcessingTimeTimer(timestampMs: number): void;
}

export interface ProcessContext {
  /** The event timestamp of the element being processed, or undefined if it has none. */
  timestamp(): number | undefined;
  output<X>(tag: OutputTag<X>, value: X): void;
  /** Timers need a key: on a non-keyed stream this throws, naming keyBy (as Flink does). */
  timerService(): TimerService;
}

export interface KeyedProcessContext<K> extends ProcessContext {
  getCurrentKey(): K;
}

export interface OnTimerContext<K> extends KeyedProcessContext<K> {
  timeDomain(): 'event-time' | 'processing-time';
}

interface Lifecycle {
  open?(context: RuntimeContext): void;
  close?(): void;
}

/**
 * A function object, or a factory that makes one. Each subtask runs its own: a factory is called
 * once per subtask, an object is copied (own fields included). Per-subtask state kept in a
 * closure needs the factory form: `process(() => { let seen; return { open…, processElement… } })`.
 */
export type FunctionOrFactory<F> = F | (() => F);

export interface ProcessFunction<IN, OUT> extends Lifecycle {
  processElement(value: IN, ctx: ProcessContext, out: Collector<OUT>): void;
}

export interface KeyedProcessFunction<K, IN, OUT> extends Lifecycle {
  processElement(value: IN, ctx: KeyedProcessContext<K>, out: Collector<OUT>): void;
  onTimer?(timestampMs: number, ctx: OnTimerContext<K>, out: Collector<OUT>): void;
}

export interface CoProcessFunction<IN1, IN2, OUT> extends Lifecycle {
  processElement1(value: IN1, ctx: ProcessContext, out: Collector<OUT>): void;
  processElement2(value: IN2, ctx: ProcessContext, out: Collector<OUT>): void;
}

export interface KeyedCoProcessFunction<K, IN1, IN2, OUT> extends Lifecycle {
  processElement1(value: IN1, ctx: KeyedProcessContext<K>, out: Collector<OUT>): void;
  processElement2(value: IN2, ctx: KeyedProcessContext<K>, out: Collector<OUT>): void;
  onTimer?(timestampMs: number, ctx: OnTimerContext<K>, out: Collector<OUT>): void;
}

export interface WindowContext<W extends Window> {
  readonly window: W;
  currentWatermark(): number;
  currentProcessingTime(): number;
  output<X>(tag: OutputTag<X>, value: X): void;
}

export interface ProcessWindowFunction<IN, OUT, K, W extends Window = TimeWindow> extends Lifecycle {
  process(key: K, context: WindowContext<W>, elements: readonly IN[], out: Collector<OUT>): void;
}

export interface ProcessJoinContext {
  leftTimestamp(): number;
  rightTimestamp(): number;
  timestamp(): number;
  output<X>(tag: OutputTag<X>, value: X): void;
}

export interface ProcessJoinFunction<L, R, OUT> extends Lifecycle {
  processElement(left: L, right: R, ctx: ProcessJoinContext, out: Collector<OUT>): void;
}
