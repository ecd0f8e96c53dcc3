// The keyed window operator, with Flink's WindowOperator semantics: assign each record to its
// windows, keep one accumulator per (key, window) in keyed state, fire when the trigger says
// (by default when the watermark passes the window's end), keep windows for the allowed
// lateness and fire again for late records, then clean up. Records later than that go to the
// late-data side output or are dropped and counted.
//
// Windows of a fixed size are keyed in state by their start (a number). A session window keeps
// its contents under the namespace it was created with ("start:end" of its first element) while
// it grows and merges, as Flink's MergingWindowSet keeps a "state window": extending a session
// moves no contents. Its trigger state and timers are keyed by its current bounds ("[start,end)"),
// as Flink keys them by the window: when sessions merge, the trigger folds the merged windows'
// state into the new one's (onMerge) and clears theirs. TimeWindow objects are made only when a
// window fires or a trigger needs one.
//
// With an evictor (Flink's EvictingWindowOperator) a window keeps its elements with their
// timestamps as one flat list [value, timestamp, value, timestamp, …], and each firing evicts,
// applies the reduce, aggregate or process function to what is left, evicts again and keeps the rest.

import type { WindowFunctionSpec } from '../../shared/api/graph.ts';
import type { OutputTag } from '../../shared/api/output-tag.ts';
import type { StateDescriptor } from '../../shared/api/state.ts';
import { NO_TIMESTAMP } from '../../shared/api/time.ts';
import { TimestampedValue, type Evictor, type EvictorContext } from '../../shared/api/window-evictors.ts';
import {
  EventTimeTrigger,
  GlobalWindow,
  ProcessingTimeTrigger,
  TimeWindow,
  isMergingAssigner,
  windowStartWithOffset,
  type MergeableStateDescriptor,
  type OnMergeContext,
  type Trigger,
  type TriggerResult,
  type Window,
  type WindowAssigner,
} from '../../shared/api/windows.ts';
import { UserFunctionError } from '../../shared/errors.ts';
import { VOID_NAMESPACE, type Namespace, type StateTable } from '../state/keyed-state-backend.ts';
import { createStateHandle, type AnyStateHandle } from '../runtime/keyed-state-handles.ts';
import { AbstractWindowOperator } from './abstract-window-operator.ts';
import { deepCopy } from '../runtime/value-copy.ts';
import type { Timer } from '../runtime/timer-service.ts';

/** A live session of a key: its current bounds and the namespace its contents use. */
type Session = [start: number, end: number, stateNamespace: string];

/** The namespace of a session's trigger state and timers: its current bounds. */
function sessionNamespace(start: number, end: number): string {
  return `[${start},${end})`;
}

export interface WindowOperatorSpec {
  readonly assigner: WindowAssigner;
  readonly trigger?: Trigger<any, Window>;
  readonly evictor?: Evictor<any, Window>;
  readonly allowedLatenessMs: number;
  readonly lateDataTag?: OutputTag<any>;
  readonly function: WindowFunctionSpec;
}

export class WindowOperator extends AbstractWindowOperator<Window> {
  private readonly assigner: WindowAssigner;
  private readonly trigger: Trigger<any, Window>;
  private readonly evictor: Evictor<any, Window> | undefined;
  /** The default event-time trigger is inlined: one timer per window, registered when the window opens. */
  private readonly inlineEventTimeTrigger: boolean;
  private readonly isEventTime: boolean;
  private readonly isMerging: boolean;
  /** Whether contents can stay in state after a FIRE and change later: a firing then emits a copy. */
  private readonly contentsOutliveFiring: boolean;
  private readonly sizeMs: number;
  private readonly slideMs: number;
  private readonly offsetMs: number;
  private readonly fn: WindowFunctionSpec;
  private contents!: StateTable<any>;
  private sessions!: StateTable<Session[]>;
  /** Where the current window's contents are: its start, VOID for the global window, a session's state namespace. */
  private currentNamespace: Namespace = VOID_NAMESPACE;
  /** Where the current window's trigger state and timers are: the same, but a session's current bounds. */
  private triggerNamespace: Namespace = VOID_NAMESPACE;
  /** While the trigger's onMerge runs: the trigger namespaces of the windows being merged. */
  private mergingTriggerNamespaces: Namespace[] | undefined;
  private readonly triggerStates = new Map<string, AnyStateHandle>();
  private readonly triggerContext: OnMergeContext;
  private readonly evictorContext: EvictorContext;
  private elementSkipped = false;

  constructor(spec: WindowOperatorSpec) {
    super(spec, GlobalWindow.INSTANCE);
    this.assigner = spec.assigner;
    this.trigger = spec.trigger ?? spec.assigner.defaultTrigger();
    this.evictor = spec.evictor;
    this.inlineEventTimeTrigger = this.trigger === EventTimeTrigger.INSTANCE && this.evictor === undefined;
    this.isEventTime = spec.assigner.isEventTime;
    this.isMerging = isMergingAssigner(spec.assigner);
    this.contentsOutliveFiring = this.allowedLatenessMs > 0 || (this.trigger !== EventTimeTrigger.INSTANCE && this.trigger !== ProcessingTimeTrigger.INSTANCE);
    const a = spec.assigner;
    const fixedSize = a.kind === 'tumbling-event-time' || a.kind === 'sliding-event-time' || a.kind === 'tumbling-processing-time' || a.kind === 'sliding-processing-time';
    this.sizeMs = fixedSize ? a.sizeMs : 0;
    this.slideMs = a.kind === 'sliding-event-time' || a.kind === 'sliding-processing-time' ? a.slideMs : this.sizeMs;
    this.offsetMs = fixedSize ? a.offsetMs : 0;
    this.fn = spec.function;
    const watermark = () => this.currentWatermark;
    const processingTime = () => this.setupInfo.clock.now();
    const triggerState = (d: StateDescriptor) => this.triggerState(d);
    this.triggerContext = {
      getCurrentWatermark: watermark,
      currentWatermark: watermark,
      getCurrentProcessingTime: processingTime,
      currentProcessingTime: processingTime,
      registerEventTimeTimer: (t) => this.registerEventTimeTimer(t, this.triggerNamespace),
      registerProcessingTimeTimer: (t) => this.registerProcessingTimeTimer(t, this.triggerNamespace),
      deleteEventTimeTimer: (t) => this.deleteEventTimeTimer(t, this.triggerNamespace),
      deleteProcessingTimeTimer: (t) => this.deleteProcessingTimeTimer(t, this.triggerNamespace),
      getPartitionedState: triggerState as OnMergeContext['getPartitionedState'],
      getReducingState: triggerState as OnMergeContext['getReducingState'],
      mergePartitionedState: (d) => this.mergeTriggerState(d),
    };
    this.evictorContext = { getCurrentWatermark: watermark, getCurrentProcessingTime: processingTime };
  }

  /** The trigger's state `descriptor` of the current key and window. */
  private triggerState(descriptor: StateDescriptor): AnyStateHandle {
    let state = this.triggerStates.get(descriptor.name);
    if (!state) {
      state = createStateHandle(descriptor, this.backend!.getTable(`__trigger_${descriptor.name}`));
      this.triggerStates.set(descriptor.name, state);
    }
    state.namespace = this.triggerNamespace;
    return state;
  }

  /** OnMergeContext.mergePartitionedState: folds the merging windows' state into the merged window's. */
  private mergeTriggerState(descriptor: MergeableStateDescriptor): void {
    const sources = this.mergingTriggerNamespaces;
    if (sources === undefined) throw new UserFunctionError(`${this.trigger.name}: mergePartitionedState can only be called in onMerge`);
    let combine: (a: any, b: any) => any;
    switch (descriptor.kind) {
      case 'reducing':
        combine = descriptor.reduceFunction;
        break;
      case 'aggregating': {
        const merge = descriptor.aggregateFunction.merge;
        if (typeof merge !== 'function') throw new UserFunctionError(`${this.trigger.name}: state "${descriptor.name}" cannot merge: its AggregateFunction has no merge()`);
        combine = (a, b) => merge.call(descriptor.aggregateFunction, a, b);
        break;
      }
      case 'list':
        combine = (a: unknown[], b: unknown[]) => a.concat(b);
        break;
      default:
        throw new UserFunctionError(`${this.trigger.name}: state "${(descriptor as StateDescriptor).name}" is not mergeable (reducing, aggregating or list state are)`);
    }
    const table = this.backend!.getTable<any>(`__trigger_${descriptor.name}`);
    let merged = table.get(this.triggerNamespace);
    for (const namespace of sources) {
      const value = table.get(namespace);
      if (value === undefined) continue;
      table.remove(namespace);
      merged = merged === undefined ? value : combine(merged, value);
    }
    if (merged !== undefined) table.put(this.triggerNamespace, merged);
  }

  override open(): void {
    const backend = this.requireKeyed('windows');
    this.contents = backend.getTable('__window_contents');
    this.sessions = backend.getTable('__window_sessions');
    super.open();
  }

  processElement(value: unknown, timestamp: number): void {
    this.currentKey = this.setKeyContext(value, 0);
    this.elementSkipped = true;
    switch (this.assigner.kind) {
      case 'tumbling-event-time': {
        this.requireTimestamp(timestamp);
        const start = windowStartWithOffset(timestamp, this.offsetMs, this.sizeMs);
        this.addToFixedWindow(start, value, timestamp);
        break;
      }
      case 'sliding-event-time': {
        this.requireTimestamp(timestamp);
        const lastStart = windowStartWithOffset(timestamp, this.offsetMs, this.slideMs);
        for (let start = lastStart; start > timestamp - this.sizeMs; start -= this.slideMs) this.addToFixedWindow(start, value, timestamp);
        break;
      }
      case 'tumbling-processing-time': {
        const start = windowStartWithOffset(this.setupInfo.clock.now(), this.offsetMs, this.sizeMs);
        this.addToFixedWindow(start, value, timestamp);
        break;
      }
      case 'sliding-processing-time': {
        const now = this.setupInfo.clock.now();
        const lastStart = windowStartWithOffset(now, this.offsetMs, this.slideMs);
        for (let start = lastStart; start > now - this.sizeMs; start -= this.slideMs) this.addToFixedWindow(start, value, timestamp);
        break;
      }
      case 'global':
        this.addToWindow(VOID_NAMESPACE, VOID_NAMESPACE, GlobalWindow.INSTANCE, value, timestamp);
        break;
      case 'session-event-time':
        this.requireTimestamp(timestamp);
        this.addToSession(value, timestamp, timestamp, this.sessionGap(value));
        break;
      case 'session-processing-time':
        this.addToSession(value, timestamp, this.setupInfo.clock.now(), this.sessionGap(value));
        break;
    }
    if (this.elementSkipped && this.isEventTime && timestamp + this.allowedLatenessMs <= this.currentWatermark) {
      this.reportLate(value, timestamp);
    }
  }

  private requireTimestamp(timestamp: number): void {
    if (timestamp === NO_TIMESTAMP) {
      throw new UserFunctionError(
        `${this.name}: a record has no event timestamp; give its source a WatermarkStrategy with a timestamp assigner, or use processing-time windows`,
      );
    }
  }

  /** A session's gap: the assigner's, or the one its gap extractor gives the element. */
  private sessionGap(value: unknown): number {
    const assigner = this.assigner as Extract<WindowAssigner, { kind: 'session-event-time' | 'session-processing-time' }>;
    if (assigner.gapExtractor === undefined) return assigner.gapMs;
    const gapMs = assigner.gapExtractor(value);
    if (typeof gapMs !== 'number' || !Number.isFinite(gapMs) || gapMs <= 0) {
      throw new UserFunctionError(`${this.name}: the session gap extractor returned ${String(gapMs)}; a dynamic session gap must be a positive number of ms`);
    }
    return gapMs;
  }

  private addToFixedWindow(start: number, value: unknown, timestamp: number): void {
    const maxTimestamp = start + this.sizeMs - 1;
    if (this.isEventTime && maxTimestamp + this.allowedLatenessMs <= this.currentWatermark) return; // late window
    this.elementSkipped = false;
    if (this.inlineEventTimeTrigger) {
      const previous = this.contents.get(start);
      const next = this.accumulate(previous, value, timestamp);
      this.contents.put(start, next);
      if (maxTimestamp <= this.currentWatermark) {
        // A late record within the allowed lateness: fire again with the updated contents.
        this.currentNamespace = start;
        this.emitWindow(new TimeWindow(start, start + this.sizeMs), next);
      } else if (previous === undefined) {
        this.registerEventTimeTimer(maxTimestamp, start);
      }
      if (previous === undefined && this.allowedLatenessMs > 0) this.registerEventTimeTimer(maxTimestamp + this.allowedLatenessMs, start);
      return;
    }
    this.addToWindow(start, start, new TimeWindow(start, start + this.sizeMs), value, timestamp);
  }

  /** The general path (Flink's WindowOperator.processElement for one window): any trigger, any window. */
  private addToWindow(namespace: Namespace, triggerNamespace: Namespace, window: Window, value: unknown, timestamp: number): void {
    this.elementSkipped = false;
    this.currentNamespace = namespace;
    this.triggerNamespace = triggerNamespace;
    this.currentWindow = window;
    const next = this.accumulate(this.contents.get(namespace), value, timestamp);
    this.contents.put(namespace, next);
    const result = this.trigger.onElement(value, timestamp, window, this.triggerContext);
    this.handleTriggerResult(result, namespace, window);
    this.registerCleanupTimer(triggerNamespace, window);
  }

  /**
   * Flink's MergingWindowSet.addWindow with the WindowOperator's merge callback: the element's
   * window [start, start + gap) merges with every session of the key it overlaps or touches.
   */
  private addToSession(value: unknown, timestamp: number, start: number, gapMs: number): void {
    const existing = this.sessions.get(VOID_NAMESPACE) ?? [];
    const newEnd = start + gapMs;
    let mergedStart = start;
    let mergedEnd = newEnd;
    const overlapping: Session[] = [];
    const kept: Session[] = [];
    // Flink's TimeWindow.intersects: windows that touch merge too.
    for (const s of existing) {
      if (s[0] <= newEnd && s[1] >= start) overlapping.push(s);
      else kept.push(s);
    }
    for (const s of overlapping) {
      mergedStart = Math.min(mergedStart, s[0]);
      mergedEnd = Math.max(mergedEnd, s[1]);
    }
    const window = new TimeWindow(mergedStart, mergedEnd);
    if (this.isEventTime && window.maxTimestamp() + this.allowedLatenessMs <= this.currentWatermark) return; // late: nothing merges
    const triggerNamespace = sessionNamespace(mergedStart, mergedEnd);
    let namespace: string;
    if (overlapping.length === 0) {
      namespace = `${start}:${newEnd}`;
    } else if (overlapping.length === 1 && overlapping[0]![0] === mergedStart && overlapping[0]![1] === mergedEnd) {
      namespace = overlapping[0]![2]; // within a session: nothing merges
    } else {
      // The earliest merged session keeps its contents; the contents of any others fold into it.
      overlapping.sort((a, b) => a[0] - b[0]);
      namespace = overlapping[0]![2];
      this.mergeSessions(overlapping, window, triggerNamespace, namespace);
    }
    kept.push([mergedStart, mergedEnd, namespace]);
    this.sessions.put(VOID_NAMESPACE, kept);
    this.addToWindow(namespace, triggerNamespace, window, value, timestamp);
  }

  /** Flink's merge callback: the trigger merges into `window`, forgets the merged windows, and their contents fold into `namespace`. */
  private mergeSessions(merged: readonly Session[], window: TimeWindow, triggerNamespace: string, namespace: string): void {
    this.currentNamespace = namespace;
    this.triggerNamespace = triggerNamespace;
    this.currentWindow = window;
    this.mergingTriggerNamespaces = merged.map((s) => sessionNamespace(s[0], s[1]));
    try {
      this.trigger.onMerge?.(window, this.triggerContext);
    } finally {
      this.mergingTriggerNamespaces = undefined;
    }
    for (const s of merged) {
      // The merged windows' trigger state and timers are for bounds that no longer exist.
      const old = new TimeWindow(s[0], s[1]);
      this.triggerNamespace = sessionNamespace(s[0], s[1]);
      this.currentWindow = old;
      this.trigger.clear(old, this.triggerContext);
      this.deleteCleanupTimer(this.triggerNamespace, old);
    }
    let contents: unknown = this.contents.get(namespace);
    for (const s of merged) {
      if (s[2] === namespace) continue;
      const other = this.contents.get(s[2]);
      if (other === undefined) continue;
      contents = contents === undefined ? other : this.mergeAccumulators(contents, other);
      this.contents.remove(s[2]);
    }
    if (contents !== undefined) this.contents.put(namespace, contents);
  }

  private accumulate(previous: any, value: unknown, timestamp: number): any {
    if (this.evictor !== undefined) {
      if (previous === undefined) return [value, timestamp];
      previous.push(value, timestamp);
      return previous;
    }
    const fn = this.fn;
    switch (fn.kind) {
      case 'reduce':
        return previous === undefined ? value : fn.reduce(previous, value);
      case 'aggregate':
        return fn.aggregate.add(value, previous === undefined ? fn.aggregate.createAccumulator() : previous);
      case 'process':
        if (previous === undefined) return [value];
        previous.push(value);
        return previous;
    }
  }

  private mergeAccumulators(a: any, b: any): any {
    if (this.evictor !== undefined) return a.concat(b);
    const fn = this.fn;
    switch (fn.kind) {
      case 'reduce':
        return fn.reduce(a, b);
      case 'aggregate':
        return fn.aggregate.merge!(a, b);
      case 'process':
        return a.concat(b);
    }
  }

  private handleTriggerResult(result: TriggerResult, namespace: Namespace, window: Window): void {
    if (result === 'CONTINUE') return;
    const contents = this.contents.get(namespace);
    if (contents === undefined) return;
    if (result === 'FIRE' || result === 'FIRE_AND_PURGE') {
      if (this.evictor !== undefined) this.emitEvicting(namespace, window, contents);
      else this.emitWindow(window, contents, result === 'FIRE' && this.contentsOutliveFiring);
    }
    if (result === 'PURGE' || result === 'FIRE_AND_PURGE') this.contents.remove(namespace);
  }

  /**
   * `copy`: the contents stay in state after this firing and later records may change them in
   * place (allowed lateness, or a trigger that fires before the window ends); what was emitted
   * must not change.
   */
  private emitWindow(window: Window, contents: any, copy: boolean = this.allowedLatenessMs > 0): void {
    this.currentWindow = window;
    const fn = this.fn;
    switch (fn.kind) {
      case 'process':
        this.emitElements(fn.process, copy ? contents.slice() : contents);
        return;
      case 'reduce':
      case 'aggregate': {
        const result = fn.kind === 'aggregate' ? fn.aggregate.getResult(contents) : contents;
        this.emitResult(copy ? deepCopy(result) : result);
      }
    }
  }

  /**
   * Flink's EvictingWindowOperator.emitWindowContents: evict, apply the window function to the
   * elements left, evict again, and keep what is left.
   */
  private emitEvicting(namespace: Namespace, window: Window, flat: unknown[]): void {
    const evictor = this.evictor!;
    const elements: TimestampedValue<unknown>[] = [];
    for (let i = 0; i < flat.length; i += 2) elements.push(new TimestampedValue(flat[i], flat[i + 1] as number));
    evictor.evictBefore(elements, elements.length, window, this.evictorContext);
    const values = elements.map((e) => e.value);
    this.currentWindow = window;
    const fn = this.fn;
    switch (fn.kind) {
      case 'process':
        this.emitElements(fn.process, values);
        break;
      case 'reduce': {
        // Flink would hand on null for a window evicted empty; nothing is emitted instead.
        if (values.length === 0) break;
        // The elements stay in state: a reduce that updates its first argument must not change one.
        let result = deepCopy(values[0]);
        for (let i = 1; i < values.length; i++) result = fn.reduce(result, values[i]);
        this.emitResult(result);
        break;
      }
      case 'aggregate': {
        let accumulator = fn.aggregate.createAccumulator();
        for (const value of values) accumulator = fn.aggregate.add(value, accumulator);
        this.emitResult(fn.aggregate.getResult(accumulator));
        break;
      }
    }
    evictor.evictAfter(elements, elements.length, window, this.evictorContext);
    if (elements.length === 0) {
      this.contents.remove(namespace);
      return;
    }
    const kept: unknown[] = [];
    for (const e of elements) kept.push(e.value, e.timestamp);
    this.contents.put(namespace, kept);
  }

  private cleanupTime(window: Window): number {
    const maxTimestamp = window.maxTimestamp();
    return this.isEventTime ? maxTimestamp + this.allowedLatenessMs : maxTimestamp;
  }

  private registerCleanupTimer(namespace: Namespace, window: Window): void {
    const time = this.cleanupTime(window);
    if (!Number.isFinite(time)) return;
    if (this.isEventTime) this.registerEventTimeTimer(time, namespace);
    else this.registerProcessingTimeTimer(time, namespace);
  }

  private deleteCleanupTimer(namespace: Namespace, window: TimeWindow): void {
    const time = this.cleanupTime(window);
    if (this.isEventTime) this.deleteEventTimeTimer(time, namespace);
    else this.deleteProcessingTimeTimer(time, namespace);
  }

  /** Makes the window of a timer's namespace the current one; false if it is gone (a session merged into another). */
  private enterTimerWindow(namespace: Namespace): boolean {
    switch (this.assigner.kind) {
      case 'global':
        this.currentNamespace = this.triggerNamespace = VOID_NAMESPACE;
        this.currentWindow = GlobalWindow.INSTANCE;
        return true;
      case 'session-event-time':
      case 'session-processing-time': {
        const sessions = this.sessions.get(VOID_NAMESPACE);
        // Checkpoints of earlier versions keyed a session's timers by its state namespace ("start:end"):
        // such a timer finds the session's current bounds.
        const session = sessions?.find((s) => sessionNamespace(s[0], s[1]) === namespace) ?? sessions?.find((s) => s[2] === namespace);
        if (session === undefined) return false;
        this.currentNamespace = session[2];
        this.triggerNamespace = sessionNamespace(session[0], session[1]);
        this.currentWindow = new TimeWindow(session[0], session[1]);
        return true;
      }
      default:
        this.currentNamespace = this.triggerNamespace = namespace;
        this.currentWindow = new TimeWindow(namespace as number, (namespace as number) + this.sizeMs);
        return true;
    }
  }

  protected override onEventTime(timer: Timer): void {
    this.onTimer(timer, true);
  }

  protected override onProcessingTime(timer: Timer): void {
    this.onTimer(timer, false);
  }

  /** Flink's WindowOperator.onEventTime / onProcessingTime: the trigger is asked even when the window is empty (purged). */
  private onTimer(timer: Timer, eventTime: boolean): void {
    this.currentKey = timer.key;
    if (!this.enterTimerWindow(timer.namespace)) return;
    const namespace = this.currentNamespace;
    const window = this.currentWindow;
    let result: TriggerResult;
    if (this.inlineEventTimeTrigger) result = eventTime && timer.timestamp === window.maxTimestamp() ? 'FIRE' : 'CONTINUE';
    else if (eventTime) result = this.trigger.onEventTime(timer.timestamp, window, this.triggerContext);
    else result = this.trigger.onProcessingTime(timer.timestamp, window, this.triggerContext);
    this.handleTriggerResult(result, namespace, window);
    if (eventTime === this.isEventTime && timer.timestamp === this.cleanupTime(window)) this.clearAllState(namespace, window);
  }

  private clearAllState(namespace: Namespace, window: Window): void {
    this.contents.remove(namespace);
    if (!this.inlineEventTimeTrigger) this.trigger.clear(window, this.triggerContext);
    if (this.isMerging) {
      const sessions = (this.sessions.get(VOID_NAMESPACE) ?? []).filter((s) => s[2] !== namespace);
      if (sessions.length > 0) this.sessions.put(VOID_NAMESPACE, sessions);
      else this.sessions.remove(VOID_NAMESPACE);
    }
  }
}
