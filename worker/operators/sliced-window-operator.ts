// Tumbling and sliding event-time windows with an incremental function (reduce, or aggregate
// with merge) and the default trigger, computed on slices ("panes"): each record updates the one
// pane of gcd(size, slide) it falls in, and a window's result merges its panes when it fires.
// A record therefore costs one state update however many windows overlap (q5's 10 s / 2 s
// windows: one instead of five). The results are those of WindowOperator, Flink's semantics:
// same firings, late firings within the allowed lateness, late records dropped or side-output.
//
// Firing is driven by one timer chain per key: a timer at the end of the first unfired window
// that holds a pane of the key; when it fires, it fires that window and, if the key still has
// panes in the next window, registers that window's end. Panes go when the last window that
// holds them is past its allowed lateness.

import type { WindowFunctionSpec } from '../../shared/api/graph.ts';
import { NO_TIMESTAMP } from '../../shared/api/time.ts';
import { TimeWindow, windowStartWithOffset, type SlidingEventTimeWindows, type TumblingEventTimeWindows } from '../../shared/api/windows.ts';
import { UserFunctionError } from '../../shared/errors.ts';
import { VOID_NAMESPACE, type StateTable } from '../state/keyed-state-backend.ts';
import { AbstractWindowOperator } from './abstract-window-operator.ts';
import { deepCopy } from '../runtime/value-copy.ts';
import type { Timer } from '../runtime/timer-service.ts';
import type { WindowOperatorSpec } from './window-operator.ts';

/**
 * A key's panes, in one state entry: [start, accumulator, start, accumulator, …] by start. One
 * read and one write per record, one read per firing, whatever the number of panes.
 */
type PaneList = unknown[];

/** Namespace of the firing-chain timers; pane cleanup timers use the pane's start (a number). */
const FIRE_CHAIN = 'fire';

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * Whether `spec` can run sliced: fixed-size event-time windows, the default trigger, no evictor
 * (an evictor needs every element of a window), a mergeable function.
 */
export function canSliceWindows(spec: WindowOperatorSpec): boolean {
  const kind = spec.assigner.kind;
  if (kind !== 'tumbling-event-time' && kind !== 'sliding-event-time') return false;
  if (spec.trigger !== undefined || spec.evictor !== undefined) return false;
  const fn = spec.function;
  if (fn.kind === 'reduce') return true;
  if (fn.kind === 'aggregate') return typeof fn.aggregate.merge === 'function' || kind === 'tumbling-event-time';
  return false;
}


export class SlicedWindowOperator extends AbstractWindowOperator<TimeWindow> {
  private readonly sizeMs: number;
  private readonly slideMs: number;
  private readonly offsetMs: number;
  private readonly paneMs: number;
  private readonly fn: WindowFunctionSpec;
  private panes!: StateTable<PaneList>;

  constructor(spec: WindowOperatorSpec) {
    super(spec, new TimeWindow(0, 0));
    const assigner = spec.assigner as TumblingEventTimeWindows | SlidingEventTimeWindows;
    this.sizeMs = assigner.sizeMs;
    this.slideMs = assigner.kind === 'sliding-event-time' ? assigner.slideMs : assigner.sizeMs;
    this.offsetMs = assigner.offsetMs;
    this.paneMs = gcd(this.sizeMs, this.slideMs);
    this.fn = spec.function;
  }

  override open(): void {
    this.panes = this.requireKeyed('windows').getTable('__window_panes');
    super.open();
  }

  processElement(value: unknown, timestamp: number): void {
    if (timestamp === NO_TIMESTAMP) {
      throw new UserFunctionError(`${this.name}: a record has no event timestamp; give its source a WatermarkStrategy with a timestamp assigner`);
    }
    this.currentKey = this.setKeyContext(value, 0);
    const watermark = this.currentWatermark;
    const lateness = this.allowedLatenessMs;
    const slide = this.slideMs;
    const size = this.sizeMs;
    // The windows holding this record: starts from lastStart down, as Flink assigns them.
    const lastStart = windowStartWithOffset(timestamp, this.offsetMs, slide);
    const lastEnd = lastStart + size;
    // With windows smaller than their slide, a record between two windows belongs to none.
    const inNoWindow = timestamp >= lastEnd;
    if (inNoWindow || lastEnd - 1 + lateness <= watermark) {
      // No window of this record can still fire (or it has none); Flink reports it only if it is late.
      if (timestamp + lateness <= watermark) this.reportLate(value, timestamp);
      return;
    }
    const paneStart = windowStartWithOffset(timestamp, this.offsetMs, this.paneMs);
    const panes = this.panes.get(VOID_NAMESPACE) ?? [];
    const newPaneIndex = this.accumulateInto(panes, paneStart, value);
    const isNewPane = newPaneIndex >= 0;
    this.panes.put(VOID_NAMESPACE, panes);

    let firstEnd = lastEnd;
    while (firstEnd - slide > timestamp) firstEnd -= slide;
    for (let end = firstEnd; end <= lastEnd; end += slide) {
      if (end - 1 + lateness <= watermark) continue; // that window is gone
      if (end - 1 <= watermark) {
        this.fire(panes, end); // a late record within the allowed lateness: fire again, updated
        continue;
      }
      // The chain of an earlier pane that is also in this window reaches it already.
      const chainReachesIt = newPaneIndex >= 2 && (panes[newPaneIndex - 2] as number) >= end - size;
      if (isNewPane && !chainReachesIt) this.registerEventTimeTimer(end - 1, FIRE_CHAIN);
      break;
    }
    if (isNewPane && lateness > 0) this.registerEventTimeTimer(lastEnd - 1 + lateness, paneStart);
  }

  /** Adds `value` to the pane starting at `paneStart`; returns the index of a new pane, or -1. */
  private accumulateInto(panes: PaneList, paneStart: number, value: unknown): number {
    const fn = this.fn;
    // Records mostly arrive for the newest pane, so search from the end.
    let i = panes.length - 2;
    while (i >= 0 && (panes[i] as number) > paneStart) i -= 2;
    if (i >= 0 && panes[i] === paneStart) {
      const previous = panes[i + 1];
      panes[i + 1] = fn.kind === 'reduce' ? fn.reduce(previous, value) : fn.kind === 'aggregate' ? fn.aggregate.add(value, previous) : previous;
      return -1;
    }
    const first = fn.kind === 'reduce' ? value : fn.kind === 'aggregate' ? fn.aggregate.add(value, fn.aggregate.createAccumulator()) : undefined;
    if (i + 2 === panes.length) panes.push(paneStart, first);
    else panes.splice(i + 2, 0, paneStart, first);
    return i + 2;
  }

  /** Merges the key's panes of window [end - size, end) and emits the result, if there is one. */
  private fire(panes: PaneList, end: number): void {
    const fn = this.fn;
    const start = end - this.sizeMs;
    let merged: any = undefined;
    for (let i = 0; i < panes.length; i += 2) {
      const paneStart = panes[i] as number;
      if (paneStart < start) continue;
      if (paneStart >= end) break;
      const acc = panes[i + 1];
      // merge and reduce may update their first argument in place; a pane must not change.
      if (merged === undefined) merged = this.paneMs === this.sizeMs ? acc : deepCopy(acc);
      else merged = fn.kind === 'reduce' ? fn.reduce(merged, acc) : fn.kind === 'aggregate' ? fn.aggregate.merge!(merged, acc) : merged;
    }
    if (merged === undefined) return;
    this.currentWindow = new TimeWindow(start, end);
    let result = fn.kind === 'aggregate' ? fn.aggregate.getResult(merged) : merged;
    // A single pane is the state itself; with allowed lateness it may change after this firing.
    if (this.allowedLatenessMs > 0 && this.paneMs === this.sizeMs) result = deepCopy(result);
    this.emitResult(result);
  }

  protected override onEventTime(timer: Timer): void {
    this.currentKey = timer.key;
    const panes = this.panes.get(VOID_NAMESPACE);
    if (panes === undefined) return;
    if (timer.namespace !== FIRE_CHAIN) {
      // The last window holding this pane is past its allowed lateness.
      const i = panes.indexOf(timer.namespace);
      if (i >= 0 && i % 2 === 0) panes.splice(i, 2);
      this.storePanes(panes);
      return;
    }
    const end = timer.timestamp + 1;
    this.fire(panes, end);
    const nextStart = end - this.sizeMs + this.slideMs;
    if (this.allowedLatenessMs === 0) {
      // Panes before the next window's start are in no window that can still fire.
      let drop = 0;
      while (drop < panes.length && (panes[drop] as number) < nextStart) drop += 2;
      if (drop > 0) {
        panes.splice(0, drop);
        this.storePanes(panes);
      }
    }
    for (let i = 0; i < panes.length; i += 2) {
      const paneStart = panes[i] as number;
      if (paneStart >= end) break;
      if (paneStart >= nextStart) {
        this.registerEventTimeTimer(end + this.slideMs - 1, FIRE_CHAIN);
        return;
      }
    }
  }

  private storePanes(panes: PaneList): void {
    if (panes.length === 0) this.panes.remove(VOID_NAMESPACE);
    else this.panes.put(VOID_NAMESPACE, panes);
  }
}
