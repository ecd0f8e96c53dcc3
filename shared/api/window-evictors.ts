// Evictors, as Flink's: they remove elements from a window when it fires, before the window
// function sees them or after it has. A window with an evictor keeps its elements as a list (with
// their timestamps) and applies its reduce or aggregate function to what is left at each firing,
// as Flink's EvictingWindowOperator: it cannot pre-aggregate.

import { NO_TIMESTAMP } from './time.ts';
import type { DeltaFunction, Window } from './windows.ts';

/** An element of a window with its timestamp (NO_TIMESTAMP when it has none). */
export class TimestampedValue<T> {
  constructor(
    readonly value: T,
    readonly timestamp: number,
  ) {}

  hasTimestamp(): boolean {
    return this.timestamp !== NO_TIMESTAMP;
  }
}

export interface EvictorContext {
  getCurrentProcessingTime(): number;
  getCurrentWatermark(): number;
}

/**
 * Removes elements from a firing window: `elements` is the window's contents in the order they
 * were added (merged sessions: the earliest session's first), and an evictor removes from it in
 * place (splice, or compact and set length). What is left stays in the window. `size` is the
 * number of elements when the method is called.
 */
export interface Evictor<T = unknown, W extends Window = Window> {
  readonly name: string;
  evictBefore(elements: TimestampedValue<T>[], size: number, window: W, ctx: EvictorContext): void;
  evictAfter(elements: TimestampedValue<T>[], size: number, window: W, ctx: EvictorContext): void;
}

/** Keeps the elements for which `keep` holds, in order, in place. */
function retain<T>(elements: TimestampedValue<T>[], keep: (element: TimestampedValue<T>) => boolean): void {
  let kept = 0;
  for (let i = 0; i < elements.length; i++) {
    const element = elements[i]!;
    if (keep(element)) elements[kept++] = element;
  }
  elements.length = kept;
}

/** Keeps the last `maxCount` elements of the window (removes the first ones). */
export class CountEvictor<W extends Window = Window> implements Evictor<unknown, W> {
  readonly name: string;
  private constructor(
    readonly maxCount: number,
    readonly doEvictAfter: boolean,
  ) {
    this.name = `CountEvictor(${maxCount}${doEvictAfter ? ', after' : ''})`;
  }

  /** `doEvictAfter`: evict after the window function ran, instead of before. */
  static of<W extends Window = Window>(maxCount: number, doEvictAfter = false): CountEvictor<W> {
    if (!Number.isInteger(maxCount) || maxCount < 0) throw new RangeError(`CountEvictor maxCount must be a non-negative integer, got ${maxCount}`);
    return new CountEvictor<W>(maxCount, doEvictAfter);
  }

  evictBefore(elements: TimestampedValue<unknown>[], size: number): void {
    if (!this.doEvictAfter) this.evict(elements, size);
  }

  evictAfter(elements: TimestampedValue<unknown>[], size: number): void {
    if (this.doEvictAfter) this.evict(elements, size);
  }

  private evict(elements: TimestampedValue<unknown>[], size: number): void {
    if (size <= this.maxCount) return;
    elements.splice(0, size - this.maxCount);
  }
}

/**
 * Keeps the elements whose timestamp is within `windowMs` of the newest element's: removes those
 * at or before (newest timestamp - windowMs). Elements without timestamps are kept.
 */
export class TimeEvictor<W extends Window = Window> implements Evictor<unknown, W> {
  readonly name: string;
  private constructor(
    readonly windowMs: number,
    readonly doEvictAfter: boolean,
  ) {
    this.name = `TimeEvictor(${windowMs}${doEvictAfter ? ', after' : ''})`;
  }

  static of<W extends Window = Window>(windowMs: number, doEvictAfter = false): TimeEvictor<W> {
    if (!Number.isFinite(windowMs) || windowMs < 0) throw new RangeError(`TimeEvictor window must be a non-negative number of ms, got ${windowMs}`);
    return new TimeEvictor<W>(windowMs, doEvictAfter);
  }

  evictBefore(elements: TimestampedValue<unknown>[]): void {
    if (!this.doEvictAfter) this.evict(elements);
  }

  evictAfter(elements: TimestampedValue<unknown>[]): void {
    if (this.doEvictAfter) this.evict(elements);
  }

  private evict(elements: TimestampedValue<unknown>[]): void {
    // As Flink, the first element says whether the elements have timestamps.
    if (elements.length === 0 || !elements[0]!.hasTimestamp()) return;
    let newest = Number.NEGATIVE_INFINITY;
    for (const element of elements) newest = Math.max(newest, element.timestamp);
    const cutoff = newest - this.windowMs;
    retain(elements, (element) => element.timestamp > cutoff);
  }
}

/** Removes the elements whose delta to the window's last element is at least `threshold`. */
export class DeltaEvictor<T, W extends Window = Window> implements Evictor<T, W> {
  readonly name: string;
  private constructor(
    readonly threshold: number,
    private readonly deltaFunction: DeltaFunction<T>,
    readonly doEvictAfter: boolean,
  ) {
    this.name = `DeltaEvictor(${threshold}${doEvictAfter ? ', after' : ''})`;
  }

  static of<T, W extends Window = Window>(threshold: number, deltaFunction: DeltaFunction<T>, doEvictAfter = false): DeltaEvictor<T, W> {
    if (typeof threshold !== 'number' || Number.isNaN(threshold)) throw new RangeError(`DeltaEvictor threshold must be a number, got ${threshold}`);
    if (typeof deltaFunction !== 'function') throw new TypeError('DeltaEvictor needs a delta function (oldDataPoint, newDataPoint) => number');
    return new DeltaEvictor<T, W>(threshold, deltaFunction, doEvictAfter);
  }

  evictBefore(elements: TimestampedValue<T>[]): void {
    if (!this.doEvictAfter) this.evict(elements);
  }

  evictAfter(elements: TimestampedValue<T>[]): void {
    if (this.doEvictAfter) this.evict(elements);
  }

  private evict(elements: TimestampedValue<T>[]): void {
    if (elements.length === 0) return;
    const last = elements[elements.length - 1]!.value;
    retain(elements, (element) => this.deltaFunction(element.value, last) < this.threshold);
  }
}
