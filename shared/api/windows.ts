// Windows, window assigners and triggers, as Flink's. Time windows with a fixed size are
// identified by their start, so the window operator keys its state by a number and builds a
// TimeWindow object only when a window fires.

import type { ReducingState, ReducingStateDescriptor } from './state.ts';

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

export interface TriggerContext {
  currentWatermark(): number;
  currentProcessingTime(): number;
  registerEventTimeTimer(timestampMs: number): void;
  registerProcessingTimeTimer(timestampMs: number): void;
  deleteEventTimeTimer(timestampMs: number): void;
  deleteProcessingTimeTimer(timestampMs: number): void;
  /** Per-key, per-window state for the trigger itself (CountTrigger keeps its count here). */
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>;
}

export interface Trigger<T = unknown, W extends Window = Window> {
  readonly name: string;
  onElement(element: T, timestamp: number, window: W, ctx: TriggerContext): TriggerResult;
  onEventTime(timeMs: number, window: W, ctx: TriggerContext): TriggerResult;
  onProcessingTime(timeMs: number, window: W, ctx: TriggerContext): TriggerResult;
  /** Called when windows merge into `window` (session windows); re-register timers here. */
  onMerge?(window: W, ctx: TriggerContext): void;
  clear(window: W, ctx: TriggerContext): void;
}

/** Fires when the watermark passes the end of the window; fires again for each late element. */
export class EventTimeTrigger implements Trigger<unknown, TimeWindow> {
  static readonly INSTANCE = new EventTimeTrigger();
  static create(): EventTimeTrigger {
    return EventTimeTrigger.INSTANCE;
  }
  readonly name = 'EventTimeTrigger';
  onElement(_element: unknown, _timestamp: number, window: TimeWindow, ctx: TriggerContext): TriggerResult {
    if (window.maxTimestamp() <= ctx.currentWatermark()) return 'FIRE';
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
    if (window.maxTimestamp() > ctx.currentWatermark()) ctx.registerEventTimeTimer(window.maxTimestamp());
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
    ctx.registerProcessingTimeTimer(window.maxTimestamp());
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
  onMerge(window: W, ctx: TriggerContext): void {
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
  | GlobalWindows;

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
  private constructor(readonly gapMs: number) {}
  static withGap(gapMs: number): EventTimeSessionWindows {
    checkPositive('session gap', gapMs);
    return new EventTimeSessionWindows(gapMs);
  }
  defaultTrigger(): Trigger<unknown, TimeWindow> {
    return EventTimeTrigger.INSTANCE;
  }
  toString(): string {
    return `EventTimeSessionWindows(${this.gapMs})`;
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
