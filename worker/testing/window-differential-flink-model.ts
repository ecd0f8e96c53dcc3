// A naive simulation of Flink's WindowOperator and EvictingWindowOperator (Flink 1.x), for the
// differential cases the plain model (window-differential-reference.ts) does not cover:
// processing-time windows, dynamic session gaps, sliding count windows, triggers other than the
// default, evictors, and a restore in the middle of the input. It shares no code with the
// engine: Flink's triggers and evictors are written again here, over explicit per-(key, window)
// trigger state and timer lists, and every window keeps its elements in a plain list. Rules
// beyond the plain model's:
//
// - Timers: a trigger's timers and state, and the window's cleanup timer (event time: end - 1 +
//   allowed lateness; processing time: end - 1), belong to (key, window) and are deduplicated.
//   A rising watermark (or the clock) fires every timer up to it in time order, those registered
//   meanwhile included; a timer registered behind the watermark waits for its next rise. A timer
//   asks the trigger even when the window is empty (a FIRE then emits nothing), then clears the
//   window if it is its cleanup time.
// - Processing time (processingTimesOf): before record i, every processing-time timer up to its
//   arrival time fires; after it (and after the watermark it moves), those it made due. After the
//   last record the clock jumps FINAL_PROCESSING_TIME_JUMP_MS ahead.
// - Sessions (TimeWindow.mergeWindows, MergingWindowSet): the element's window merges with every
//   session of its key it overlaps or touches; unless it lies within one session, the trigger's
//   onMerge runs for the merged window (folding the merged windows' state), then clear() for each
//   merged window and its cleanup timer goes. Contents are concatenated in start order (Flink's
//   order depends on hashing here). An element window equal to a session counts as within it
//   (Flink would replace that session's state window: a bug with dynamic gaps).
// - Evictors: at a firing the window's list (as [element, timestamp]) is evicted before, the
//   function sees what is left, then evicted after, and what is left stays.
// - A restore before record m keeps every window, trigger state and timer; the watermark starts
//   again from -Infinity (watermarks are not in checkpoints and the source's generator restarts),
//   so windows may fire again. A crash after the restore replays from m: no difference here.

import {
  FINAL_PROCESSING_TIME_JUMP_MS,
  processingTimesOf,
  recordsPerWatermark,
  sessionGapOf,
  timestampDelta,
  type DiffCase,
  type DiffEvent,
  type EventKey,
  type EvictorSpec,
  type TriggerSpec,
} from './window-differential-cases.ts';
import { firingText, keyText, lateText, type ModelOutput, type WindowBounds } from './window-differential-reference.ts';

/** A window: bounds, or the global window. */
type ModelWindow = WindowBounds | 'global';

const maxTimestampOf = (w: ModelWindow): number => (w === 'global' ? Number.POSITIVE_INFINITY : w.end - 1);
const windowId = (w: ModelWindow): string => (w === 'global' ? 'G' : `${w.start},${w.end}`);

interface Fired {
  readonly fire: boolean;
  readonly purge: boolean;
}
const CONTINUE: Fired = { fire: false, purge: false };
const FIRE: Fired = { fire: true, purge: false };

/** What a trigger sees: time, timers and state of one (key, window). */
interface TriggerCtx {
  watermark(): number;
  now(): number;
  registerEvent(t: number): void;
  registerProcessing(t: number): void;
  deleteEvent(t: number): void;
  deleteProcessing(t: number): void;
  get(name: string): unknown;
  set(name: string, value: unknown): void;
  remove(name: string): void;
  /** onMerge: folds state `name` of the merged windows into this window's. */
  mergeState(name: string, combine: (a: any, b: any) => unknown): void;
}

interface ModelTrigger {
  onElement(e: DiffEvent, timestamp: number, w: ModelWindow, ctx: TriggerCtx): Fired;
  onEventTime(time: number, w: ModelWindow, ctx: TriggerCtx): Fired;
  onProcessingTime(time: number, w: ModelWindow, ctx: TriggerCtx): Fired;
  onMerge(w: ModelWindow, ctx: TriggerCtx): void;
  clear(w: ModelWindow, ctx: TriggerCtx): void;
}

const eventTimeTrigger: ModelTrigger = {
  onElement(_e, _ts, w, ctx) {
    if (maxTimestampOf(w) <= ctx.watermark()) return FIRE;
    ctx.registerEvent(maxTimestampOf(w));
    return CONTINUE;
  },
  onEventTime: (time, w) => (time === maxTimestampOf(w) ? FIRE : CONTINUE),
  onProcessingTime: () => CONTINUE,
  onMerge(w, ctx) {
    if (maxTimestampOf(w) > ctx.watermark()) ctx.registerEvent(maxTimestampOf(w));
  },
  clear: (w, ctx) => ctx.deleteEvent(maxTimestampOf(w)),
};

const processingTimeTrigger: ModelTrigger = {
  onElement(_e, _ts, w, ctx) {
    ctx.registerProcessing(maxTimestampOf(w));
    return CONTINUE;
  },
  onEventTime: () => CONTINUE,
  onProcessingTime: () => FIRE,
  onMerge(w, ctx) {
    if (maxTimestampOf(w) > ctx.now()) ctx.registerProcessing(maxTimestampOf(w));
  },
  clear: (w, ctx) => ctx.deleteProcessing(maxTimestampOf(w)),
};

function countTrigger(count: number): ModelTrigger {
  return {
    onElement(_e, _ts, _w, ctx) {
      const n = ((ctx.get('count') as number | undefined) ?? 0) + 1;
      if (n >= count) {
        ctx.remove('count');
        return FIRE;
      }
      ctx.set('count', n);
      return CONTINUE;
    },
    onEventTime: () => CONTINUE,
    onProcessingTime: () => CONTINUE,
    onMerge: (_w, ctx) => ctx.mergeState('count', (a: number, b: number) => a + b),
    clear: (_w, ctx) => ctx.remove('count'),
  };
}

/** ContinuousEventTimeTrigger (domain 'event') and ContinuousProcessingTimeTrigger ('processing'). */
function continuousTrigger(intervalMs: number, domain: 'event' | 'processing'): ModelTrigger {
  const register = (ctx: TriggerCtx, t: number) => (domain === 'event' ? ctx.registerEvent(t) : ctx.registerProcessing(t));
  const scheduleNext = (from: number, w: ModelWindow, ctx: TriggerCtx) => {
    const next = Math.min(from + intervalMs, maxTimestampOf(w));
    const current = ctx.get('fire-time') as number | undefined;
    ctx.set('fire-time', current === undefined ? next : Math.min(current, next));
    register(ctx, next);
  };
  const onTimer = (time: number, w: ModelWindow, ctx: TriggerCtx): Fired => {
    if (time === maxTimestampOf(w)) return FIRE;
    if (ctx.get('fire-time') === time) {
      ctx.remove('fire-time');
      scheduleNext(time, w, ctx);
      return FIRE;
    }
    return CONTINUE;
  };
  return {
    onElement(_e, timestamp, w, ctx) {
      let from: number;
      if (domain === 'event') {
        if (maxTimestampOf(w) <= ctx.watermark()) return FIRE;
        ctx.registerEvent(maxTimestampOf(w));
        from = timestamp;
      } else {
        from = ctx.now();
      }
      // Java's %: the remainder has the sign of the dividend.
      if (ctx.get('fire-time') === undefined) scheduleNext(from - (from % intervalMs), w, ctx);
      return CONTINUE;
    },
    onEventTime: (time, w, ctx) => (domain === 'event' ? onTimer(time, w, ctx) : CONTINUE),
    onProcessingTime: (time, w, ctx) => (domain === 'processing' ? onTimer(time, w, ctx) : CONTINUE),
    onMerge(_w, ctx) {
      ctx.mergeState('fire-time', (a: number, b: number) => Math.min(a, b));
      const next = ctx.get('fire-time') as number | undefined;
      if (next !== undefined) register(ctx, next);
    },
    clear(_w, ctx) {
      const next = ctx.get('fire-time') as number | undefined;
      if (next === undefined) return;
      if (domain === 'event') ctx.deleteEvent(next);
      else ctx.deleteProcessing(next);
      ctx.remove('fire-time');
    },
  };
}

function deltaTrigger(threshold: number): ModelTrigger {
  return {
    onElement(e, _ts, _w, ctx) {
      const last = ctx.get('last') as DiffEvent | undefined;
      if (last === undefined) {
        ctx.set('last', e);
        return CONTINUE;
      }
      if (timestampDelta(last, e) > threshold) {
        ctx.set('last', e);
        return FIRE;
      }
      return CONTINUE;
    },
    onEventTime: () => CONTINUE,
    onProcessingTime: () => CONTINUE,
    onMerge: () => {
      throw new Error('DeltaTrigger cannot merge');
    },
    clear: (_w, ctx) => ctx.remove('last'),
  };
}

function purging(nested: ModelTrigger): ModelTrigger {
  const purge = (r: Fired): Fired => (r.fire ? { fire: true, purge: true } : r);
  return {
    onElement: (e, ts, w, ctx) => purge(nested.onElement(e, ts, w, ctx)),
    onEventTime: (t, w, ctx) => purge(nested.onEventTime(t, w, ctx)),
    onProcessingTime: (t, w, ctx) => purge(nested.onProcessingTime(t, w, ctx)),
    onMerge: (w, ctx) => nested.onMerge(w, ctx),
    clear: (w, ctx) => nested.clear(w, ctx),
  };
}

function triggerOf(c: DiffCase): ModelTrigger {
  const spec = c.trigger;
  if (spec === undefined) {
    if (c.spec.kind === 'count') return c.spec.slide === undefined ? purging(countTrigger(c.spec.size)) : countTrigger(c.spec.slide);
    return c.spec.time === 'processing' ? processingTimeTrigger : eventTimeTrigger;
  }
  const inner = (s: TriggerSpec): ModelTrigger => {
    switch (s.kind) {
      case 'continuous-event-time':
        return continuousTrigger(s.intervalMs, 'event');
      case 'continuous-processing-time':
        return continuousTrigger(s.intervalMs, 'processing');
      case 'count':
        return countTrigger(s.count);
      case 'delta':
        return deltaTrigger(s.threshold);
    }
  };
  return spec.purging ? purging(inner(spec)) : inner(spec);
}

/** An element of a firing window, as an evictor sees it. */
interface Stamped {
  readonly e: DiffEvent;
  readonly t: number;
}

/** Flink's evictors: what is left of `elements` (they never reorder). */
function evict(spec: EvictorSpec, elements: readonly Stamped[], size: number): Stamped[] {
  switch (spec.kind) {
    case 'count':
      return size <= spec.maxCount ? [...elements] : elements.slice(size - spec.maxCount);
    case 'time': {
      if (elements.length === 0) return [];
      const cutoff = Math.max(...elements.map((x) => x.t)) - spec.windowMs;
      return elements.filter((x) => x.t > cutoff);
    }
    case 'delta': {
      if (elements.length === 0) return [];
      const last = elements[elements.length - 1]!.e;
      return elements.filter((x) => timestampDelta(x.e, last) < spec.threshold);
    }
  }
}

interface Timer {
  readonly domain: 'event' | 'processing';
  readonly key: EventKey;
  readonly window: ModelWindow;
  readonly time: number;
}

interface Session {
  start: number;
  end: number;
  readonly stateId: string;
}

export function runFlinkModel(c: DiffCase): ModelOutput {
  const spec = c.spec;
  const isEventTime = spec.kind !== 'count' && spec.time !== 'processing';
  const isMerging = spec.kind === 'session';
  const lateness = isEventTime ? c.allowedLatenessMs : 0;
  const trigger = triggerOf(c);
  const evictor: EvictorSpec | undefined = c.evictor ?? (spec.kind === 'count' && spec.slide !== undefined ? { kind: 'count', maxCount: spec.size, after: false } : undefined);

  const main: string[] = [];
  const late: string[] = [];
  const watermarkBefore: number[] = [];
  const firedIds = new Set<number>();
  let droppedLate = 0;
  let inNoWindow = 0;
  let watermark = Number.NEGATIVE_INFINITY;
  let now = Number.NEGATIVE_INFINITY;

  // Every piece of state in flat maps keyed by text: naive on purpose.
  const contents = new Map<string, { key: EventKey; elements: DiffEvent[] }>(); // key|stateId →
  const triggerState = new Map<string, unknown>(); // key|windowId|name →
  const sessions = new Map<string, Session[]>(); // key →
  let timers: Timer[] = [];

  const cleanupTime = (w: ModelWindow) => maxTimestampOf(w) + lateness;
  const isWindowLate = (w: ModelWindow) => isEventTime && cleanupTime(w) <= watermark;
  const sameTimer = (a: Timer, b: Timer) => a.domain === b.domain && keyText(a.key) === keyText(b.key) && windowId(a.window) === windowId(b.window) && a.time === b.time;
  const register = (timer: Timer) => {
    if (!timers.some((t) => sameTimer(t, timer))) timers.push(timer);
  };
  const unregister = (timer: Timer) => {
    timers = timers.filter((t) => !sameTimer(t, timer));
  };

  const ctxFor = (key: EventKey, w: ModelWindow, merged: readonly ModelWindow[] = []): TriggerCtx => {
    const slot = (window: ModelWindow, name: string) => `${keyText(key)}|${windowId(window)}|${name}`;
    return {
      watermark: () => watermark,
      now: () => now,
      registerEvent: (time) => register({ domain: 'event', key, window: w, time }),
      registerProcessing: (time) => register({ domain: 'processing', key, window: w, time }),
      deleteEvent: (time) => unregister({ domain: 'event', key, window: w, time }),
      deleteProcessing: (time) => unregister({ domain: 'processing', key, window: w, time }),
      get: (name) => triggerState.get(slot(w, name)),
      set: (name, value) => void triggerState.set(slot(w, name), value),
      remove: (name) => void triggerState.delete(slot(w, name)),
      mergeState(name, combine) {
        let value = triggerState.get(slot(w, name));
        for (const m of merged) {
          const other = triggerState.get(slot(m, name));
          if (other === undefined) continue;
          triggerState.delete(slot(m, name));
          value = value === undefined ? other : combine(value, other);
        }
        if (value !== undefined) triggerState.set(slot(w, name), value);
      },
    };
  };

  const registerCleanup = (key: EventKey, w: ModelWindow) => {
    const time = cleanupTime(w);
    if (Number.isFinite(time)) register({ domain: isEventTime ? 'event' : 'processing', key, window: w, time });
  };
  const deleteCleanup = (key: EventKey, w: ModelWindow) => unregister({ domain: isEventTime ? 'event' : 'processing', key, window: w, time: cleanupTime(w) });

  /** Emits the window's result (after eviction, keeping what is left), or nothing for an empty window. */
  const fire = (key: EventKey, w: ModelWindow, stateId: string) => {
    const slot = contents.get(`${keyText(key)}|${stateId}`);
    if (slot === undefined || slot.elements.length === 0) return;
    const timestamp = maxTimestampOf(w);
    let elements: readonly DiffEvent[] = slot.elements;
    if (evictor !== undefined) {
      let stamped = slot.elements.map((e) => ({ e, t: e.t }));
      if (!evictor.after) stamped = evict(evictor, stamped, stamped.length);
      elements = stamped.map((x) => x.e);
      if (evictor.after) stamped = evict(evictor, stamped, stamped.length);
      slot.elements = stamped.map((x) => x.e);
    }
    if (elements.length === 0) throw new Error('the model emptied a firing window: the case drew an evictor that can remove every element (Flink hands on null then)');
    for (const e of elements) firedIds.add(e.id);
    main.push(firingText(c.fn, key, w, elements, timestamp));
  };

  const applyResult = (key: EventKey, w: ModelWindow, stateId: string, result: Fired) => {
    if (result.fire) fire(key, w, stateId);
    if (result.purge) contents.delete(`${keyText(key)}|${stateId}`);
  };

  /** Flink's WindowOperator.processElement for one (actual) window whose contents are under stateId. */
  const addToWindow = (e: DiffEvent, w: ModelWindow, stateId: string) => {
    const id = `${keyText(e.k)}|${stateId}`;
    let slot = contents.get(id);
    if (!slot) contents.set(id, (slot = { key: e.k, elements: [] }));
    slot.elements.push(e);
    applyResult(e.k, w, stateId, trigger.onElement(e, e.t, w, ctxFor(e.k, w)));
    registerCleanup(e.k, w);
  };

  const onTimer = (timer: Timer) => {
    const { key, window: w } = timer;
    let stateId = windowId(w);
    if (isMerging) {
      const session = (sessions.get(keyText(key)) ?? []).find((s) => w !== 'global' && s.start === w.start && s.end === w.end);
      if (session === undefined) return; // a merged-away window
      stateId = session.stateId;
    }
    const ctx = ctxFor(key, w);
    applyResult(key, w, stateId, timer.domain === 'event' ? trigger.onEventTime(timer.time, w, ctx) : trigger.onProcessingTime(timer.time, w, ctx));
    if ((timer.domain === 'event') === isEventTime && timer.time === cleanupTime(w)) {
      contents.delete(`${keyText(key)}|${stateId}`);
      trigger.clear(w, ctx);
      if (isMerging) sessions.set(keyText(key), (sessions.get(keyText(key)) ?? []).filter((s) => s.stateId !== stateId));
    }
  };

  /**
   * Fires the timers of `domain` up to `time`, in time order, those registered meanwhile included.
   * Event time moves only when the watermark rises (a timer registered behind the watermark waits
   * for the next rise); processing-time timers fire whenever they are due.
   */
  const advance = (domain: Timer['domain'], time: number) => {
    if (domain === 'event') {
      if (time <= watermark) return;
      watermark = time;
    } else now = Math.max(now, time);
    for (;;) {
      const due = timers.filter((t) => t.domain === domain && t.time <= time);
      if (due.length === 0) return;
      const next = due.reduce((a, b) => (b.time < a.time ? b : a));
      unregister(next);
      onTimer(next);
    }
  };

  const processSession = (e: DiffEvent, start: number): boolean => {
    const gap = sessionGapOf(spec as Extract<typeof spec, { kind: 'session' }>, e);
    const fresh = { start, end: start + gap };
    const list = sessions.get(keyText(e.k)) ?? [];
    const touching = list.filter((s) => s.start <= fresh.end && s.end >= fresh.start).sort((a, b) => a.start - b.start);
    const merged = { start: Math.min(fresh.start, ...touching.map((s) => s.start)), end: Math.max(fresh.end, ...touching.map((s) => s.end)) };
    let stateId: string;
    if (touching.length === 0) {
      if (isWindowLate(merged)) return false;
      stateId = `${fresh.start}:${fresh.end}`;
      list.push({ ...merged, stateId });
    } else if (touching.length === 1 && touching[0]!.start === merged.start && touching[0]!.end === merged.end) {
      stateId = touching[0]!.stateId;
    } else {
      if (isWindowLate(merged)) throw new Error('the model merged sessions into a late window');
      stateId = touching[0]!.stateId;
      const mergedWindows = touching.map((s) => ({ start: s.start, end: s.end }));
      trigger.onMerge(merged, ctxFor(e.k, merged, mergedWindows));
      for (const m of mergedWindows) {
        trigger.clear(m, ctxFor(e.k, m));
        deleteCleanup(e.k, m);
      }
      const all: DiffEvent[] = [];
      for (const s of touching) {
        const id = `${keyText(e.k)}|${s.stateId}`;
        all.push(...(contents.get(id)?.elements ?? []));
        contents.delete(id);
      }
      if (all.length > 0) contents.set(`${keyText(e.k)}|${stateId}`, { key: e.k, elements: all });
      const others = list.filter((s) => !touching.includes(s));
      list.length = 0;
      list.push(...others, { ...merged, stateId });
    }
    sessions.set(keyText(e.k), list);
    addToWindow(e, merged, stateId);
    return true;
  };

  /** The windows of a fixed size that hold time `t`. */
  const fixedWindows = (t: number, sizeMs: number, slideMs: number, offsetMs: number): WindowBounds[] => {
    const windows: WindowBounds[] = [];
    for (let s = t - sizeMs - slideMs; s <= t; s++) {
      if ((((s - offsetMs) % slideMs) + slideMs) % slideMs === 0 && s <= t && t < s + sizeMs) windows.push({ start: s, end: s + sizeMs });
    }
    return windows;
  };

  const arrivals = processingTimesOf(c.events);
  const watermarkEvery = recordsPerWatermark(c);
  let maxTimestampSeen = Number.NEGATIVE_INFINITY;
  for (const [index, e] of c.events.entries()) {
    if (index === c.restoreAt) {
      watermark = Number.NEGATIVE_INFINITY;
      maxTimestampSeen = Number.NEGATIVE_INFINITY;
    }
    if (!isEventTime) advance('processing', arrivals[index]!);
    watermarkBefore.push(watermark);
    const assignTime = isEventTime ? e.t : arrivals[index]!;
    let added = false;
    switch (spec.kind) {
      case 'tumbling':
      case 'sliding': {
        const slideMs = spec.kind === 'sliding' ? spec.slideMs : spec.sizeMs;
        for (const w of fixedWindows(assignTime, spec.sizeMs, slideMs, spec.offsetMs)) {
          if (isWindowLate(w)) continue;
          added = true;
          addToWindow(e, w, windowId(w));
        }
        break;
      }
      case 'session':
        added = processSession(e, assignTime);
        break;
      case 'count':
        added = true;
        addToWindow(e, 'global', windowId('global'));
        break;
    }
    if (!added) {
      if (isEventTime && e.t + lateness <= watermark) {
        if (c.sideOutput) late.push(lateText(e, e.t));
        else droppedLate++;
      } else inNoWindow++;
    }
    maxTimestampSeen = Math.max(maxTimestampSeen, e.t);
    if ((index + 1) % watermarkEvery === 0) advance('event', maxTimestampSeen - c.outOfOrdernessMs - 1);
    if (!isEventTime) advance('processing', arrivals[index]!);
  }
  if (!isEventTime && arrivals.length > 0) advance('processing', arrivals[arrivals.length - 1]! + FINAL_PROCESSING_TIME_JUMP_MS);
  advance('event', Number.POSITIVE_INFINITY);

  const neverFired = c.events.length - firedIds.size - late.length - droppedLate - inNoWindow;
  return { main, late, droppedLate, inNoWindow, neverFired, watermarkBefore };
}
