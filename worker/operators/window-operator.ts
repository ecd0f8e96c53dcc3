// The keyed window operator, with Flink's WindowOperator semantics: assign each record to its
// windows, keep one accumulator per (key, window) in keyed state, fire when the trigger says
// (by default when the watermark passes the window's end), keep windows for the allowed
// lateness and fire again for late records, then clean up. Records later than that go to the
// late-data side output or are dropped and counted.
//
// Windows of a fixed size are keyed in state by their start (a number). A session window keeps
// the namespace it was created with ("start:end" of its first element) while it grows and
// merges, as Flink's MergingWindowSet keeps a "state window": extending a session moves no state.
// "start:end". TimeWindow objects are made only when a window fires or a custom trigger asks.

import type { WindowFunctionSpec } from '../../shared/api/graph.ts';
import type { OutputTag } from '../../shared/api/output-tag.ts';
import type { ReducingState, ReducingStateDescriptor } from '../../shared/api/state.ts';
import { NO_TIMESTAMP } from '../../shared/api/time.ts';
import {
  EventTimeTrigger,
  GlobalWindow,
  TimeWindow,
  windowStartWithOffset,
  type Trigger,
  type TriggerContext,
  type TriggerResult,
  type Window,
  type WindowAssigner,
} from '../../shared/api/windows.ts';
import { UserFunctionError } from '../../shared/errors.ts';
import { VOID_NAMESPACE, type Namespace, type StateTable } from '../state/keyed-state-backend.ts';
import { TableReducingState } from '../runtime/keyed-state-handles.ts';
import { AbstractWindowOperator } from './abstract-window-operator.ts';
import { deepCopy } from '../runtime/value-copy.ts';
import type { Timer } from '../runtime/timer-service.ts';

/** A live session of a key: its current bounds and the namespace its contents and timers use. */
type Session = [start: number, end: number, stateNamespace: string];


export interface WindowOperatorSpec {
  readonly assigner: WindowAssigner;
  readonly trigger?: Trigger<any, Window>;
  readonly allowedLatenessMs: number;
  readonly lateDataTag?: OutputTag<any>;
  readonly function: WindowFunctionSpec;
}

export class WindowOperator extends AbstractWindowOperator<Window> {
  private readonly assigner: WindowAssigner;
  private readonly trigger: Trigger<any, Window>;
  /** The default event-time trigger is inlined: one timer per window, registered when the window opens. */
  private readonly inlineEventTimeTrigger: boolean;
  private readonly isEventTime: boolean;
  private readonly sizeMs: number;
  private readonly slideMs: number;
  private readonly offsetMs: number;
  private readonly fn: WindowFunctionSpec;
  private contents!: StateTable<any>;
  private sessions!: StateTable<Session[]>;
  private currentNamespace: Namespace = VOID_NAMESPACE;
  private readonly triggerStates = new Map<string, TableReducingState<any>>();
  private readonly triggerContext: TriggerContext;
  private elementSkipped = false;

  constructor(spec: WindowOperatorSpec) {
    super(spec, GlobalWindow.INSTANCE);
    this.assigner = spec.assigner;
    this.trigger = spec.trigger ?? spec.assigner.defaultTrigger();
    this.inlineEventTimeTrigger = this.trigger === EventTimeTrigger.INSTANCE;
    this.isEventTime = spec.assigner.isEventTime;
    const a = spec.assigner;
    this.sizeMs = a.kind === 'tumbling-event-time' || a.kind === 'sliding-event-time' || a.kind === 'tumbling-processing-time' ? a.sizeMs : 0;
    this.slideMs = a.kind === 'sliding-event-time' ? a.slideMs : this.sizeMs;
    this.offsetMs = a.kind === 'tumbling-event-time' || a.kind === 'sliding-event-time' || a.kind === 'tumbling-processing-time' ? a.offsetMs : 0;
    this.fn = spec.function;
    this.triggerContext = {
      currentWatermark: () => this.currentWatermark,
      currentProcessingTime: () => this.setupInfo.clock.now(),
      registerEventTimeTimer: (t) => this.registerEventTimeTimer(t, this.currentNamespace),
      registerProcessingTimeTimer: (t) => this.registerProcessingTimeTimer(t, this.currentNamespace),
      deleteEventTimeTimer: (t) => this.deleteEventTimeTimer(t, this.currentNamespace),
      deleteProcessingTimeTimer: (t) => this.deleteProcessingTimeTimer(t, this.currentNamespace),
      getReducingState: <T>(d: ReducingStateDescriptor<T>): ReducingState<T> => {
        let state = this.triggerStates.get(d.name);
        if (!state) {
          state = new TableReducingState<any>(this.backend!.getTable(`__trigger_${d.name}`), d.reduceFunction);
          this.triggerStates.set(d.name, state);
        }
        state.namespace = this.currentNamespace;
        return state;
      },
    };
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
      case 'global':
        this.addToWindow(VOID_NAMESPACE, GlobalWindow.INSTANCE, value, timestamp);
        break;
      case 'session-event-time':
        this.requireTimestamp(timestamp);
        this.addToSession(value, timestamp, this.assigner.gapMs);
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

  private addToFixedWindow(start: number, value: unknown, timestamp: number): void {
    const maxTimestamp = start + this.sizeMs - 1;
    if (this.isEventTime && maxTimestamp + this.allowedLatenessMs <= this.currentWatermark) return; // late window
    this.elementSkipped = false;
    if (this.inlineEventTimeTrigger) {
      const previous = this.contents.get(start);
      const next = this.accumulate(previous, value);
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
    this.addToWindow(start, new TimeWindow(start, start + this.sizeMs), value, timestamp);
  }

  /** The general path: any trigger, any window. */
  private addToWindow(namespace: Namespace, window: Window, value: unknown, timestamp: number): void {
    this.elementSkipped = false;
    this.currentNamespace = namespace;
    this.currentWindow = window;
    const next = this.accumulate(this.contents.get(namespace), value);
    this.contents.put(namespace, next);
    const result = this.trigger.onElement(value, timestamp, window, this.triggerContext);
    this.handleTriggerResult(result, namespace, window);
    this.registerCleanupTimer(namespace, window);
  }

  private addToSession(value: unknown, timestamp: number, gapMs: number): void {
    const existing = this.sessions.get(VOID_NAMESPACE) ?? [];
    let start = timestamp;
    let end = timestamp + gapMs;
    const overlapping: Session[] = [];
    const kept: Session[] = [];
    // Flink's TimeWindow.intersects: windows that touch merge too.
    for (const s of existing) {
      if (s[0] <= end && s[1] >= start) overlapping.push(s);
      else kept.push(s);
    }
    for (const s of overlapping) {
      start = Math.min(start, s[0]);
      end = Math.max(end, s[1]);
    }
    const window = new TimeWindow(start, end);
    if (window.maxTimestamp() + this.allowedLatenessMs <= this.currentWatermark) return; // late: nothing merges
    let namespace: string;
    if (overlapping.length === 0) {
      namespace = `${start}:${end}`;
    } else {
      // The earliest merged session keeps its state; the contents of any others fold into it.
      overlapping.sort((a, b) => a[0] - b[0]);
      namespace = overlapping[0]![2];
      let merged: unknown = this.contents.get(namespace);
      for (const s of overlapping) {
        if (s[2] !== namespace) {
          const acc = this.contents.get(s[2]);
          if (acc !== undefined) merged = merged === undefined ? acc : this.mergeAccumulators(merged, acc);
          this.contents.remove(s[2]);
        }
        // The merged windows' timers are for bounds that no longer exist.
        this.currentNamespace = s[2];
        this.currentWindow = new TimeWindow(s[0], s[1]);
        this.trigger.clear(this.currentWindow, this.triggerContext);
        this.deleteCleanupTimer(s[2], this.currentWindow as TimeWindow);
      }
      if (merged !== undefined) this.contents.put(namespace, merged);
    }
    kept.push([start, end, namespace]);
    this.sessions.put(VOID_NAMESPACE, kept);
    this.currentNamespace = namespace;
    this.currentWindow = window;
    if (overlapping.length > 0) this.trigger.onMerge?.(window, this.triggerContext);
    this.addToWindow(namespace, window, value, timestamp);
  }

  private accumulate(previous: any, value: unknown): any {
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
    if (result === 'FIRE' || result === 'FIRE_AND_PURGE') this.emitWindow(window, contents);
    if (result === 'PURGE' || result === 'FIRE_AND_PURGE') this.contents.remove(namespace);
  }

  private emitWindow(window: Window, contents: any): void {
    this.currentWindow = window;
    const fn = this.fn;
    switch (fn.kind) {
      case 'process':
        // With allowed lateness the list keeps growing after this firing; hand out a copy.
        this.emitElements(fn.process, this.allowedLatenessMs > 0 ? contents.slice() : contents);
        return;
      case 'reduce':
      case 'aggregate': {
        const result = fn.kind === 'aggregate' ? fn.aggregate.getResult(contents) : contents;
        // With allowed lateness the accumulator stays in state and later records may update it
        // in place; what was emitted must not change.
        this.emitResult(this.allowedLatenessMs > 0 ? deepCopy(result) : result);
      }
    }
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

  private windowOf(namespace: Namespace): Window | undefined {
    switch (this.assigner.kind) {
      case 'global':
        return GlobalWindow.INSTANCE;
      case 'session-event-time': {
        // The session's current bounds; a timer set for earlier bounds then neither fires nor
        // cleans up (its time is neither the end nor the cleanup time of these).
        const session = this.sessions.get(VOID_NAMESPACE)?.find((s) => s[2] === namespace);
        return session ? new TimeWindow(session[0], session[1]) : undefined;
      }
      default:
        return new TimeWindow(namespace as number, (namespace as number) + this.sizeMs);
    }
  }

  protected override onEventTime(timer: Timer): void {
    this.onTimer(timer, true);
  }

  protected override onProcessingTime(timer: Timer): void {
    this.onTimer(timer, false);
  }

  private onTimer(timer: Timer, eventTime: boolean): void {
    this.currentKey = timer.key;
    const namespace = timer.namespace;
    const window = this.windowOf(namespace);
    if (!window) return;
    this.currentNamespace = namespace;
    this.currentWindow = window;
    const contents = this.contents.get(namespace);
    if (contents !== undefined) {
      let result: TriggerResult;
      if (this.inlineEventTimeTrigger) result = eventTime && timer.timestamp === window.maxTimestamp() ? 'FIRE' : 'CONTINUE';
      else if (eventTime) result = this.trigger.onEventTime(timer.timestamp, window, this.triggerContext);
      else result = this.trigger.onProcessingTime(timer.timestamp, window, this.triggerContext);
      this.handleTriggerResult(result, namespace, window);
    }
    if (eventTime === this.isEventTime && timer.timestamp === this.cleanupTime(window)) this.clearAllState(namespace, window);
  }

  private clearAllState(namespace: Namespace, window: Window): void {
    this.contents.remove(namespace);
    if (!this.inlineEventTimeTrigger) this.trigger.clear(window, this.triggerContext);
    if (this.assigner.kind === 'session-event-time') {
      const sessions = (this.sessions.get(VOID_NAMESPACE) ?? []).filter((s) => s[2] !== namespace);
      if (sessions.length > 0) this.sessions.put(VOID_NAMESPACE, sessions);
      else this.sessions.remove(VOID_NAMESPACE);
    }
  }
}
