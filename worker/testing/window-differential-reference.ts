// A deliberately naive model of Flink's keyed WindowOperator, for differential tests of
// worker/operators/window-operator.ts. It shares no code with the engine: it replays the records
// one by one, keeps the watermark of a single-split bounded-out-of-orderness source, finds each
// record's windows by enumeration, keeps every element of every (key, window) in a plain list,
// and computes each firing's result from that list. The rules it follows (Flink 1.x
// WindowOperator with the default EventTimeTrigger):
//
// - A record is processed with the watermark left by the records before it; after the record (at
//   watermark interval 0; at the default interval, after each poll's last record) the source's
//   watermark becomes max(previous, maxTimestampSeen - outOfOrderness - 1); at the end of the
//   input it becomes +Infinity. Source subtasks without a split hold nothing back.
// - A window is late when maxTimestamp + allowedLateness <= watermark (isWindowLate): the record
//   is not added to it. A record added to no window is late if timestamp + allowedLateness <=
//   watermark (isElementLate): it goes to the late side output, or is dropped and counted.
// - A window fires (one output record, with all its elements so far) when the watermark reaches
//   its maxTimestamp (the event-time timer), and once more for every record added while
//   maxTimestamp <= watermark (a late record within the allowed lateness re-fires it).
// - Its state is dropped once maxTimestamp + allowedLateness <= watermark (the cleanup timer).
// - Session windows merge when they overlap or touch (TimeWindow.intersects); a merged window
//   is one window holding all elements of the windows it replaced.
// - countWindow(n) is GlobalWindows with PurgingTrigger(CountTrigger(n)): every n-th record of a
//   key fires and purges; leftovers never fire; nothing is ever late.
// - Every result carries its window's maxTimestamp (end - 1; +Infinity for the global window).
//
// Cases with other assigners, triggers, evictors or a restore go to window-differential-flink-model.ts,
// which agrees with this model on the cases here.

import { recordsPerWatermark, type DiffCase, type DiffEvent, type EventKey, type FunctionKind } from './window-differential-cases.ts';

export interface WindowBounds {
  readonly start: number;
  readonly end: number;
}

export interface Summary {
  readonly c: number;
  readonly s: number;
  readonly q: number;
  readonly lo: number;
  readonly hi: number;
}

/** Keys compare by this text: numbers, strings and tuples (arrays) of them. */
export function keyText(key: unknown): string {
  return JSON.stringify(key);
}

export function windowText(window: WindowBounds | 'global'): string {
  return window === 'global' ? 'G' : `[${window.start},${window.end})`;
}

export function summaryText(s: Summary): string {
  return `c=${s.c} s=${s.s} q=${s.q} lo=${s.lo} hi=${s.hi}`;
}

export function lateText(e: { id: number; k: unknown; t: number }, timestamp: number): string {
  return `late id=${e.id} k=${keyText(e.k)} t=${e.t} @${timestamp}`;
}

/** The canonical line of one firing, computed from the window's full element list. */
export function firingText(fn: FunctionKind, key: EventKey, window: WindowBounds | 'global', elements: readonly DiffEvent[], timestamp: number): string {
  const summary: Summary = {
    c: elements.length,
    s: elements.reduce((sum, e) => sum + e.id, 0),
    q: elements.reduce((sum, e) => sum + e.id * e.id, 0),
    lo: Math.min(...elements.map((e) => e.t)),
    hi: Math.max(...elements.map((e) => e.t)),
  };
  switch (fn) {
    case 'reduce':
      return `R k=${keyText(key)} ${summaryText(summary)} @${timestamp}`;
    case 'aggregate':
    case 'aggregate-acc-result':
      return `A k=${keyText(key)} ${summaryText(summary)} @${timestamp}`;
    case 'reduce+window':
      return `RW k=${keyText(key)} w=${windowText(window)} ${summaryText(summary)} @${timestamp}`;
    case 'aggregate+window':
      return `AW k=${keyText(key)} w=${windowText(window)} ${summaryText(summary)} @${timestamp}`;
    case 'process':
    case 'process-emit-elements':
      return `P k=${keyText(key)} w=${windowText(window)} ids=${elements.map((e) => e.id).sort((a, b) => a - b).join(',')} @${timestamp}`;
  }
}

export interface ModelOutput {
  /** Canonical lines of the main output, in the model's firing order. */
  readonly main: string[];
  readonly late: string[];
  /** Late records without a side output: dropped and counted (numLateRecordsDropped). */
  readonly droppedLate: number;
  /** Records in no window that were not late (sliding windows smaller than their slide): dropped, not counted. */
  readonly inNoWindow: number;
  /** Count windows: records still waiting in a window that never filled up. */
  readonly neverFired: number;
  /** The watermark each record was processed under. */
  readonly watermarkBefore: number[];
}

interface OpenWindow {
  readonly key: EventKey;
  readonly start: number;
  readonly end: number;
  readonly elements: DiffEvent[];
}

export function runReferenceModel(c: DiffCase): ModelOutput {
  const main: string[] = [];
  const late: string[] = [];
  let droppedLate = 0;
  let inNoWindow = 0;
  const watermarkBefore: number[] = [];
  const lateness = c.spec.kind === 'count' ? 0 : c.allowedLatenessMs;
  const spec = c.spec;

  // Every open (key, window), sessions included, in one flat list: naive on purpose.
  let open: OpenWindow[] = [];
  const sameKey = (a: EventKey, b: EventKey) => keyText(a) === keyText(b);
  const countBuffers = new Map<string, { key: EventKey; elements: DiffEvent[] }>();
  let watermark = Number.NEGATIVE_INFINITY;
  let maxTimestampSeen = Number.NEGATIVE_INFINITY;

  const fire = (w: OpenWindow) => main.push(firingText(c.fn, w.key, { start: w.start, end: w.end }, w.elements, w.end - 1));

  const recordLate = (e: DiffEvent) => {
    if (c.sideOutput) late.push(lateText(e, e.t));
    else droppedLate++;
  };

  const advanceWatermark = (next: number) => {
    if (next <= watermark) return;
    // Event-time timers: each window whose maxTimestamp the watermark now reaches fires once.
    for (const w of open) if (w.end - 1 > watermark && w.end - 1 <= next) fire(w);
    // Cleanup timers.
    open = open.filter((w) => !(w.end - 1 + lateness <= next));
    watermark = next;
  };

  const watermarkEvery = recordsPerWatermark(c);
  for (const [index, e] of c.events.entries()) {
    watermarkBefore.push(watermark);
    switch (spec.kind) {
      case 'tumbling':
      case 'sliding': {
        const sizeMs = spec.sizeMs;
        const slideMs = spec.kind === 'sliding' ? spec.slideMs : spec.sizeMs;
        // Brute force: every start s ≡ offset (mod slide) with s <= t < s + size.
        const windows: WindowBounds[] = [];
        for (let s = e.t - sizeMs - slideMs; s <= e.t; s++) {
          if ((((s - spec.offsetMs) % slideMs) + slideMs) % slideMs !== 0) continue;
          if (s <= e.t && e.t < s + sizeMs) windows.push({ start: s, end: s + sizeMs });
        }
        let added = false;
        for (const bounds of windows) {
          if (bounds.end - 1 + lateness <= watermark) continue; // the window is late
          added = true;
          let w = open.find((o) => sameKey(o.key, e.k) && o.start === bounds.start && o.end === bounds.end);
          if (!w) open.push((w = { key: e.k, start: bounds.start, end: bounds.end, elements: [] }));
          w.elements.push(e);
          if (w.end - 1 <= watermark) fire(w); // late but within the allowed lateness
        }
        if (!added) {
          if (e.t + lateness <= watermark) recordLate(e);
          else inNoWindow++;
        }
        break;
      }
      case 'session': {
        const fresh: WindowBounds = { start: e.t, end: e.t + spec.gapMs };
        const touching = open.filter((o) => sameKey(o.key, e.k) && o.start <= fresh.end && o.end >= fresh.start);
        const start = Math.min(fresh.start, ...touching.map((o) => o.start));
        const end = Math.max(fresh.end, ...touching.map((o) => o.end));
        if (end - 1 + lateness <= watermark) {
          // Only possible when nothing was touched: open windows are never late.
          if (e.t + lateness <= watermark) recordLate(e);
          else inNoWindow++;
          break;
        }
        open = open.filter((o) => !touching.includes(o));
        const merged: OpenWindow = { key: e.k, start, end, elements: [...touching.flatMap((o) => o.elements), e] };
        open.push(merged);
        if (end - 1 <= watermark) fire(merged);
        break;
      }
      case 'count': {
        const id = keyText(e.k);
        let buffer = countBuffers.get(id);
        if (!buffer) countBuffers.set(id, (buffer = { key: e.k, elements: [] }));
        buffer.elements.push(e);
        if (buffer.elements.length === spec.size) {
          main.push(firingText(c.fn, e.k, 'global', buffer.elements, Number.POSITIVE_INFINITY));
          buffer.elements = [];
        }
        break;
      }
    }
    maxTimestampSeen = Math.max(maxTimestampSeen, e.t);
    if ((index + 1) % watermarkEvery === 0) advanceWatermark(maxTimestampSeen - c.outOfOrdernessMs - 1);
  }
  advanceWatermark(Number.POSITIVE_INFINITY);

  let neverFired = 0;
  for (const b of countBuffers.values()) neverFired += b.elements.length;
  return { main, late, droppedLate, inNoWindow, neverFired, watermarkBefore };
}
