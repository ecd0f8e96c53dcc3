// Windows, window assigners and triggers, as Flink's. Time windows with a fixed size are
// identified by their start, so the window operator keys its state by a number and builds a
// TimeWindow object only when a window fires. More triggers are in window-triggers.ts, evictors
// in window-evictors.ts.

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

export interface Window {
  maxTimestamp(): number;
}

export class TimeWindow implements Window {
  constructor(
    readonly start: number,
    readonly end: number,
  ) {}

  /** The last millisecond that belongs to the window; results carry it as their timestamp. */
  maxTimestamp(): number {
    return this.end - 1;
  }

  intersects(other: TimeWindow): boolean {
    return this.start <= other.end && this.end >= other.start;
  }

  cover(other: TimeWindow): TimeWindow {
    return new TimeWindow(Math.min(this.start, other.start), Math.max(this.end, other.end));
  }

  toString(): string {
    return `TimeWindow{start=${this.start}, end=${this.end}}`;
  }
}

export class GlobalWindow implements Window {
  static readonly INSTANCE = new GlobalWindow();
  private constructor() {}
  maxTimestamp(): number {
    return Number.POSITIVE_INFINITY;
  }
  toString(): string {
    return 'GlobalWindow';
  }
}

/** Flink's TimeWindow.getWindowStartWithOffset. */
export function windowStartWithOffset(timestamp: number, offsetMs: number, windowSizeMs: number): number {
  const remainder = (timestamp - offsetMs) % windowSizeMs;
  return remainder < 0 ? timestamp - (remainder + windowSizeMs) : timestamp - remainder;
}

export type TriggerResult = 'CONTINUE' | 'FIRE' | 'PURGE' | 'FIRE_AND_PURGE';

/**
 * What a trigger sees of the window operator, for the current key and window. Timers and state
 * belong to that (key, window): they are keyed state, in every checkpoint, and the trigger's
 * clear() must delete what it registered.
 */
export interface TriggerContext {
  getCurrentWatermark(): number;
  getCurrentProcessingTime(): number;
  /** The same as getCurrentWatermark (the name a WindowContext uses). */
  currentWatermark(): number;
  /** The same as getCurrentProcessingTime. */
  currentProcessingTime(): number;
  registerEventTimeTimer(timestampMs: number): void;
  registerProcessingTimeTimer(timestampMs: number): void;
  deleteEventTimeTimer(timestampMs: number): void;
  deleteProcessingTimeTimer(timestampMs: number): void;
  /** State of the trigger itself, per key and window (CountTrigger keeps its count here). */
  getPartitionedState<V>(descriptor: ValueStateDescriptor<V>): ValueState<V>;
  getPartitionedState<V>(descriptor: ListStateDescriptor<V>): ListState<V>;
  getPartitionedState<K, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V>;
  getPartitionedState<V>(descriptor: ReducingStateDescriptor<V>): ReducingState<V>;
  getPartitionedState<IN, ACC, OUT>(descriptor: AggregatingStateDescriptor<IN, ACC, OUT>): AggregatingState<IN, OUT>;
  /** The same as getPartitionedState for a ReducingStateDescriptor. */
  getReducingState<V>(descriptor: ReducingStateDescriptor<V>): ReducingState<V>;
}

/** The state a trigger can fold together when windows merge: Flink's MergingState. */
export type MergeableStateDescriptor = ReducingStateDescriptor<any> | AggregatingStateDescriptor<any, any, any> | ListStateDescriptor<any>;

/** The context of Trigger.onMerge. */
export interface OnMergeContext extends TriggerContext {
  /**
   * Folds this state of the windows being merged into the merged window's (reducing state with
   * its reduce function, aggregating state with the AggregateFunction's merge, lists by
   * concatenation); the merged windows' state is gone afterwards.
   */
  mergePartitionedState(descriptor: MergeableStateDescriptor): void;
}

/**
 * Decides when a window fires and when it is purged. A trigger keeps no state in its fields (one
 * instance serves every key and window): its state lives in the context's partitioned state.
 */
export interface Trigger<T = unknown, W extends Window = Window> {
  readonly name: string;
  onElement(element: T, timestamp: number, window: W, ctx: TriggerContext): TriggerResult;
  onEventTime(timeMs: number, window: W, ctx: TriggerContext): TriggerResult;
  onProcessingTime(timeMs: number, window: W, ctx: TriggerContext): TriggerResult;
  /** Whether it works with merging (session) windows. Default: whether it has onMerge. */
  canMerge?(): boolean;
  /**
   * Called when windows merge into `window` (session windows), before clear() of each window
   * merged: fold their state into `window`'s (mergePartitionedState) and register its timers.
   */
  onMerge?(window: W, ctx: OnMergeContext): void;
  clear(window: W, ctx: TriggerContext): void;
}

/** Flink's Trigger.canMerge: merging window assigners need a trigger for which this holds. */
export function triggerCanMerge(trigger: Trigger<any, any>): boolean {
  return trigger.canMerge ? trigger.canMerge() : trigger.onMerge !== undefined;
}

/** Fires when the watermark passes the end of the window; fires again for each late element. */
export class EventTimeTrigger implements Trigger<unknown, TimeWindow> {
  static readonly INSTANCE = new EventTimeTrigger();
  static create(): EventTimeTrigger {
    return EventTimeTrigger.INSTANCE;
  }
  readonly name = 'EventTimeTrigger';
  onElement(_element: unknown, _timestamp: number, window: TimeWindow, ctx: TriggerContext): TriggerResult {
    if (window.maxTimestamp() <= ctx.getCurrentWatermark()) return 'FIRE';
    ctx.registerEventTimeTimer(window.maxTimestamp());
    return 'CONTINUE';
  }
  onEventTime(timeMs: number, window: TimeWindow): TriggerResult {
    return timeMs === window.maxTimestamp() ? 'FIRE' : 'CONTINUE';
  }
  onProcessingTime(): TriggerResult {
    return 'CONTINUE';
  }
  onMerge(window: TimeWindow, ctx: TriggerContext): void {
    if (window.maxTimestamp() > ctx.getCurrentWatermark()) ctx.registerEventTimeTimer(window.maxTimestamp());
  }
  clear(window: TimeWindow, ctx: TriggerContext): void {
    ctx.deleteEventTimeTimer(window.maxTimestamp());
  }
}

export class ProcessingTimeTrigger implements Trigger<unknown, TimeWindow> {
  static readonly INSTANCE = new ProcessingTimeTrigger();
  static create(): ProcessingTimeTrigger {
    return ProcessingTimeTrigger.INSTANCE;
  }
  readonly name = 'ProcessingTimeTrigger';
  onElement(_element: unknown, _timestamp: number, window: TimeWindow, ctx: TriggerContext): TriggerResult {
    ctx.registerProcessingTimeTimer(window.maxTimestamp());
    return 'CONTINUE';
  }
  onEventTime(): TriggerResult {
    return 'CONTINUE';
  }
  onProcessingTime(): TriggerResult {
    return 'FIRE';
  }
  onMerge(window: TimeWindow, ctx: TriggerContext): void {
    if (window.maxTimestamp() > ctx.getCurrentProcessingTime()) ctx.registerProcessingTimeTimer(window.maxTimestamp());
  }
  clear(window: TimeWindow, ctx: TriggerContext): void {
    ctx.deleteProcessingTimeTimer(window.maxTimestamp());
  }
}

/** Fires once `maxCount` elements are in the window (and again every `maxCount` more). */
export class CountTrigger<W extends Window = Window> implements Trigger<unknown, W> {
  readonly name: string;
  private readonly countDescriptor: ReducingStateDescriptor<number>;

  private constructor(readonly maxCount: number) {
    if (!Number.isInteger(maxCount) || maxCount < 1) throw new RangeError(`CountTrigger maxCount must be a positive integer, got ${maxCount}`);
    this.name = `CountTrigger(${maxCount})`;
    this.countDescriptor = { kind: 'reducing', name: '__count', reduceFunction: (a: number, b: number) => a + b } as ReducingStateDescriptor<number>;
  }

  static of<W extends Window = Window>(maxCount: number): CountTrigger<W> {
    return new CountTrigger<W>(maxCount);
  }

  onElement(_element: unknown, _timestamp: number, _window: W, ctx: TriggerContext): TriggerResult {
    const count = ctx.getReducingState(this.countDescriptor);
    count.add(1);
    if ((count.get() ?? 0) >= this.maxCount) {
      count.clear();
      return 'FIRE';
    }
    return 'CONTINUE';
  }
  onEventTime(): TriggerResult {
    return 'CONTINUE';
  }
  onProcessingTime(): TriggerResult {
    return 'CONTINUE';
  }
  onMerge(_window: W, ctx: OnMergeContext): void {
    ctx.mergePartitionedState(this.countDescriptor);
  }
  clear(_window: W, ctx: TriggerContext): void {
    ctx.getReducingState(this.countDescriptor).clear();
  }
}

/** Turns every FIRE of the nested trigger into FIRE_AND_PURGE. */
export class PurgingTrigger<T, W extends Window> implements Trigger<T, W> {
  readonly name: string;
  private constructor(private readonly nested: Trigger<T, W>) {
    this.name = `PurgingTrigger(${nested.name})`;
  }
  static of<T, W extends Window>(nested: Trigger<T, W>): PurgingTrigger<T, W> {
    return new PurgingTrigger(nested);
  }
  private purging(result: TriggerResult): TriggerResult {
    return result === 'FIRE' ? 'FIRE_AND_PURGE' : result;
  }
  onElement(element: T, timestamp: number, window: W, ctx: TriggerContext): TriggerResult {
    return this.purging(this.nested.onElement(element, timestamp, window, ctx));
  }
  onEventTime(timeMs: number, window: W, ctx: TriggerContext): TriggerResult {
    return this.purging(this.nested.onEventTime(timeMs, window, ctx));
  }
  onProcessingTime(timeMs: number, window: W, ctx: TriggerContext): TriggerResult {
    return this.purging(this.nested.onProcessingTime(timeMs, window, ctx));
  }
  canMerge(): boolean {
    return triggerCanMerge(this.nested);
  }
  onMerge(window: W, ctx: OnMergeContext): void {
    this.nested.onMerge?.(window, ctx);
  }
  clear(window: W, ctx: TriggerContext): void {
    this.nested.clear(window, ctx);
  }
}

/** Where elements go: the kinds of window Sluice offers, described as data the operator reads. */
export type WindowAssigner =
  | TumblingEventTimeWindows
  | SlidingEventTimeWindows
  | EventTimeSessionWindows
  | TumblingProcessingTimeWindows
  | SlidingProcessingTimeWindows
  | ProcessingTimeSessionWindows
  | GlobalWindows;

/** Session windows merge: their trigger must be able to merge too (Flink's MergingWindowAssigner). */
export function isMergingAssigner(assigner: WindowAssigner): assigner is EventTimeSessionWindows | ProcessingTimeSessionWindows {
  return assigner.kind === 'session-event-time' || assigner.kind === 'session-processing-time';
}

/** The session gap of an element, in ms (Flink's SessionWindowTimeGapExtractor); must be positive. */
export type SessionWindowTimeGapExtractor<T> = (element: T) => number;

/** How far apart two elements are (Flink's DeltaFunction), for DeltaTrigger and DeltaEvictor. */
export type DeltaFunction<T> = (oldDataPoint: T, newDataPoint: T) => number;

function checkPositive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0 || !Number.isInteger(value)) throw new RangeError(`${name} must be a positive integer of milliseconds, got ${value}`);
  return value;
}

export class TumblingEventTimeWindows {
  readonly kind = 'tumbling-event-time' as const;
  readonly isEventTime = true;
  private constructor(readonly sizeMs: number, readonly offsetMs: number) {}
  static of(sizeMs: number, offsetMs = 0): TumblingEventTimeWindows {
    checkPositive('window size', sizeMs);
    if (Math.abs(offsetMs) >= sizeMs) throw new RangeError(`window offset must be smaller than the size (${sizeMs} ms), got ${offsetMs}`);
    return new TumblingEventTimeWindows(sizeMs, offsetMs);
  }
  defaultTrigger(): Trigger<unknown, TimeWindow> {
    return EventTimeTrigger.INSTANCE;
  }
  toString(): string {
    return `TumblingEventTimeWindows(${this.sizeMs})`;
  }
}

export class SlidingEventTimeWindows {
  readonly kind = 'sliding-event-time' as const;
  readonly isEventTime = true;
  private constructor(readonly sizeMs: number, readonly slideMs: number, readonly offsetMs: number) {}
  static of(sizeMs: number, slideMs: number, offsetMs = 0): SlidingEventTimeWindows {
    checkPositive('window size', sizeMs);
    checkPositive('window slide', slideMs);
    if (Math.abs(offsetMs) >= slideMs) throw new RangeError(`window offset must be smaller than the slide (${slideMs} ms), got ${offsetMs}`);
    return new SlidingEventTimeWindows(sizeMs, slideMs, offsetMs);
  }
  defaultTrigger(): Trigger<unknown, TimeWindow> {
    return EventTimeTrigger.INSTANCE;
  }
  toString(): string {
    return `SlidingEventTimeWindows(${this.sizeMs}, ${this.slideMs})`;
  }
}

export class EventTimeSessionWindows {
  readonly kind = 'session-event-time' as const;
  readonly isEventTime = true;
  /** With a gap extractor, `gapMs` is 0 and each element gives its own gap. */
  private constructor(readonly gapMs: number, readonly gapExtractor: SessionWindowTimeGapExtractor<any> | undefined) {}
  static withGap(gapMs: number): EventTimeSessionWindows {
    checkPositive('session gap', gapMs);
    return new EventTimeSessionWindows(gapMs, undefined);
  }
  /** Each element opens a session of its own gap, `extractor(element)` ms (Flink's DynamicEventTimeSessionWindows). */
  static withDynamicGap<T>(extractor: SessionWindowTimeGapExtractor<T>): EventTimeSessionWindows {
    if (typeof extractor !== 'function') throw new TypeError('withDynamicGap needs a function from an element to its session gap in ms');
    return new EventTimeSessionWindows(0, extractor);
  }
  defaultTrigger(): Trigger<unknown, TimeWindow> {
    return EventTimeTrigger.INSTANCE;
  }
  toString(): string {
    return this.gapExtractor ? 'EventTimeSessionWindows(dynamic gap)' : `EventTimeSessionWindows(${this.gapMs})`;
  }
}

export class TumblingProcessingTimeWindows {
  readonly kind = 'tumbling-processing-time' as const;
  readonly isEventTime = false;
  private constructor(readonly sizeMs: number, readonly offsetMs: number) {}
  static of(sizeMs: number, offsetMs = 0): TumblingProcessingTimeWindows {
    checkPositive('window size', sizeMs);
    return new TumblingProcessingTimeWindows(sizeMs, offsetMs);
  }
  defaultTrigger(): Trigger<unknown, TimeWindow> {
    return ProcessingTimeTrigger.INSTANCE;
  }
  toString(): string {
    return `TumblingProcessingTimeWindows(${this.sizeMs})`;
  }
}

/** Windows of `sizeMs` every `slideMs` of processing time: an element goes to those open when it arrives. */
export class SlidingProcessingTimeWindows {
  readonly kind = 'sliding-processing-time' as const;
  readonly isEventTime = false;
  private constructor(readonly sizeMs: number, readonly slideMs: number, readonly offsetMs: number) {}
  static of(sizeMs: number, slideMs: number, offsetMs = 0): SlidingProcessingTimeWindows {
    checkPositive('window size', sizeMs);
    checkPositive('window slide', slideMs);
    if (Math.abs(offsetMs) >= slideMs) throw new RangeError(`window offset must be smaller than the slide (${slideMs} ms), got ${offsetMs}`);
    return new SlidingProcessingTimeWindows(sizeMs, slideMs, offsetMs);
  }
  defaultTrigger(): Trigger<unknown, TimeWindow> {
    return ProcessingTimeTrigger.INSTANCE;
  }
  toString(): string {
    return `SlidingProcessingTimeWindows(${this.sizeMs}, ${this.slideMs})`;
  }
}

/** Sessions in processing time: an element arriving at `now` opens [now, now + gap), merged with the sessions it touches. */
export class ProcessingTimeSessionWindows {
  readonly kind = 'session-processing-time' as const;
  readonly isEventTime = false;
  /** With a gap extractor, `gapMs` is 0 and each element gives its own gap. */
  private constructor(readonly gapMs: number, readonly gapExtractor: SessionWindowTimeGapExtractor<any> | undefined) {}
  static withGap(gapMs: number): ProcessingTimeSessionWindows {
    checkPositive('session gap', gapMs);
    return new ProcessingTimeSessionWindows(gapMs, undefined);
  }
  /** Each element opens a session of its own gap (Flink's DynamicProcessingTimeSessionWindows). */
  static withDynamicGap<T>(extractor: SessionWindowTimeGapExtractor<T>): ProcessingTimeSessionWindows {
    if (typeof extractor !== 'function') throw new TypeError('withDynamicGap needs a function from an element to its session gap in ms');
    return new ProcessingTimeSessionWindows(0, extractor);
  }
  defaultTrigger(): Trigger<unknown, TimeWindow> {
    return ProcessingTimeTrigger.INSTANCE;
  }
  toString(): string {
    return this.gapExtractor ? 'ProcessingTimeSessionWindows(dynamic gap)' : `ProcessingTimeSessionWindows(${this.gapMs})`;
  }
}

export class GlobalWindows {
  readonly kind = 'global' as const;
  readonly isEventTime = false;
  private constructor() {}
  static create(): GlobalWindows {
    return new GlobalWindows();
  }
  /** Never fires by itself: give it a trigger (`countWindow` does). */
  defaultTrigger(): Trigger<unknown, GlobalWindow> {
    return { name: 'NeverTrigger', onElement: () => 'CONTINUE', onEventTime: () => 'CONTINUE', onProcessingTime: () => 'CONTINUE', clear: () => {} };
  }
  toString(): string {
    return 'GlobalWindows';
  }
}
