// Flink's triggers that fire a window before it ends: every interval of event or processing time
// (ContinuousEventTimeTrigger, ContinuousProcessingTimeTrigger) or when an element is far enough
// from the one that fired last (DeltaTrigger). Like every trigger they keep their state in the
// trigger context (per key and window, in checkpoints), never in their own fields.

import type { ReducingStateDescriptor, ValueStateDescriptor } from './state.ts';
import type { DeltaFunction, OnMergeContext, Trigger, TriggerContext, TriggerResult, Window } from './windows.ts';

/** The next firing time of a continuous trigger; the smallest wins when windows merge. */
function fireTimeDescriptor(): ReducingStateDescriptor<number> {
  return { kind: 'reducing', name: '__fire-time', reduceFunction: (a: number, b: number) => Math.min(a, b) } as ReducingStateDescriptor<number>;
}

function checkInterval(name: string, intervalMs: number): number {
  if (!Number.isInteger(intervalMs) || intervalMs <= 0) throw new RangeError(`${name} interval must be a positive integer of ms, got ${intervalMs}`);
  return intervalMs;
}

/**
 * What both continuous triggers do in their own time domain: fire at the window's end and at each
 * registered fire time, then register the next one (never past the window's end); merge and clear
 * the fire time with its timer.
 */
abstract class ContinuousTrigger<W extends Window> implements Trigger<unknown, W> {
  readonly name: string;
  private readonly fireTime = fireTimeDescriptor();

  protected constructor(
    kind: string,
    readonly intervalMs: number,
  ) {
    this.name = `${kind}(${intervalMs})`;
  }

  abstract onElement(element: unknown, timestamp: number, window: W, ctx: TriggerContext): TriggerResult;
  abstract onEventTime(timeMs: number, window: W, ctx: TriggerContext): TriggerResult;
  abstract onProcessingTime(timeMs: number, window: W, ctx: TriggerContext): TriggerResult;
  protected abstract registerTimer(ctx: TriggerContext, timeMs: number): void;
  protected abstract deleteTimer(ctx: TriggerContext, timeMs: number): void;

  /** Registers the first fire time, the next multiple of the interval after `timeMs`, unless one is registered. */
  protected startFiring(timeMs: number, window: W, ctx: TriggerContext): void {
    // As Flink: the remainder keeps the sign of the time, so negative times round towards 0.
    if (ctx.getPartitionedState(this.fireTime).get() === undefined) this.registerNextFireTime(timeMs - (timeMs % this.intervalMs), window, ctx);
  }

  /** A timer of this trigger's time domain. */
  protected fireAt(timeMs: number, window: W, ctx: TriggerContext): TriggerResult {
    if (timeMs === window.maxTimestamp()) return 'FIRE';
    const fireTime = ctx.getPartitionedState(this.fireTime);
    if (fireTime.get() === timeMs) {
      fireTime.clear();
      this.registerNextFireTime(timeMs, window, ctx);
      return 'FIRE';
    }
    return 'CONTINUE';
  }

  onMerge(_window: W, ctx: OnMergeContext): void {
    ctx.mergePartitionedState(this.fireTime);
    const next = ctx.getPartitionedState(this.fireTime).get();
    if (next !== undefined) this.registerTimer(ctx, next);
  }

  clear(_window: W, ctx: TriggerContext): void {
    const fireTime = ctx.getPartitionedState(this.fireTime);
    const next = fireTime.get();
    if (next !== undefined) {
      this.deleteTimer(ctx, next);
      fireTime.clear();
    }
  }

  private registerNextFireTime(timeMs: number, window: W, ctx: TriggerContext): void {
    const next = Math.min(timeMs + this.intervalMs, window.maxTimestamp());
    ctx.getPartitionedState(this.fireTime).add(next);
    this.registerTimer(ctx, next);
  }
}

/**
 * Fires every `intervalMs` of event time while the window is open, on multiples of the interval
 * (the first at the next multiple after the window's first element), and when the watermark
 * passes the window's end; late elements within the allowed lateness fire it at once.
 */
export class ContinuousEventTimeTrigger<W extends Window = Window> extends ContinuousTrigger<W> {
  private constructor(intervalMs: number) {
    super('ContinuousEventTimeTrigger', intervalMs);
  }

  static of<W extends Window = Window>(intervalMs: number): ContinuousEventTimeTrigger<W> {
    return new ContinuousEventTimeTrigger<W>(checkInterval('ContinuousEventTimeTrigger', intervalMs));
  }

  onElement(_element: unknown, timestamp: number, window: W, ctx: TriggerContext): TriggerResult {
    if (window.maxTimestamp() <= ctx.getCurrentWatermark()) return 'FIRE';
    ctx.registerEventTimeTimer(window.maxTimestamp());
    this.startFiring(timestamp, window, ctx);
    return 'CONTINUE';
  }

  onEventTime(timeMs: number, window: W, ctx: TriggerContext): TriggerResult {
    return this.fireAt(timeMs, window, ctx);
  }

  onProcessingTime(): TriggerResult {
    return 'CONTINUE';
  }

  protected registerTimer(ctx: TriggerContext, timeMs: number): void {
    ctx.registerEventTimeTimer(timeMs);
  }

  protected deleteTimer(ctx: TriggerContext, timeMs: number): void {
    ctx.deleteEventTimeTimer(timeMs);
  }
}

/**
 * Fires every `intervalMs` of processing time while the window is open, on multiples of the
 * interval, and at the window's end (the window's cleanup timer, which asks the trigger first).
 */
export class ContinuousProcessingTimeTrigger<W extends Window = Window> extends ContinuousTrigger<W> {
  private constructor(intervalMs: number) {
    super('ContinuousProcessingTimeTrigger', intervalMs);
  }

  static of<W extends Window = Window>(intervalMs: number): ContinuousProcessingTimeTrigger<W> {
    return new ContinuousProcessingTimeTrigger<W>(checkInterval('ContinuousProcessingTimeTrigger', intervalMs));
  }

  onElement(_element: unknown, _timestamp: number, window: W, ctx: TriggerContext): TriggerResult {
    this.startFiring(ctx.getCurrentProcessingTime(), window, ctx);
    return 'CONTINUE';
  }

  onEventTime(): TriggerResult {
    return 'CONTINUE';
  }

  onProcessingTime(timeMs: number, window: W, ctx: TriggerContext): TriggerResult {
    return this.fireAt(timeMs, window, ctx);
  }

  protected registerTimer(ctx: TriggerContext, timeMs: number): void {
    ctx.registerProcessingTimeTimer(timeMs);
  }

  protected deleteTimer(ctx: TriggerContext, timeMs: number): void {
    ctx.deleteProcessingTimeTimer(timeMs);
  }
}

/**
 * Fires when `deltaFunction(last, element)` exceeds `threshold`, where `last` is the element that
 * fired last (the window's first element until then). It cannot merge, so not on session windows.
 */
export class DeltaTrigger<T, W extends Window = Window> implements Trigger<T, W> {
  readonly name: string;
  private readonly lastElement = { kind: 'value', name: '__last-element' } as ValueStateDescriptor<T>;

  private constructor(
    readonly threshold: number,
    private readonly deltaFunction: DeltaFunction<T>,
  ) {
    this.name = `DeltaTrigger(${threshold})`;
  }

  static of<T, W extends Window = Window>(threshold: number, deltaFunction: DeltaFunction<T>): DeltaTrigger<T, W> {
    if (typeof threshold !== 'number' || Number.isNaN(threshold)) throw new RangeError(`DeltaTrigger threshold must be a number, got ${threshold}`);
    if (typeof deltaFunction !== 'function') throw new TypeError('DeltaTrigger needs a delta function (oldDataPoint, newDataPoint) => number');
    return new DeltaTrigger<T, W>(threshold, deltaFunction);
  }

  onElement(element: T, _timestamp: number, _window: W, ctx: TriggerContext): TriggerResult {
    const last = ctx.getPartitionedState(this.lastElement);
    const previous = last.value();
    if (previous === undefined) {
      last.update(element);
      return 'CONTINUE';
    }
    if (this.deltaFunction(previous, element) > this.threshold) {
      last.update(element);
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
    ctx.getPartitionedState(this.lastElement).clear();
  }
}
