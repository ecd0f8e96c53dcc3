// The inputs of the window operator's differential test: a seeded PRNG, the shape of one case
// (window kind, window function, allowed lateness, late side output, parallelism, backend, and
// for some the source and the watermark interval, a trigger, an evictor, a restore) and
// the random event stream of a seed. Everything a case needs is derived from its seed and its
// class labels, so `SLUICE_SEED=<seed>` plus the case name replays it exactly.

import type { StateBackendKind } from '../../shared/config/state-backend.ts';
import { seededRandom } from '../../shared/testing/seeded-random.ts';

export class SeededRandom {
  private readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = seededRandom(seed);
  }
  /** In [0, 1). */
  float(): number {
    return this.next();
  }
  /** An integer in [lo, hi], both included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/** Keys are numbers, strings or tuples (as keyBy on two fields gives). */
export type EventKey = number | string | readonly [string, number];

/**
 * One input record. `c, s, q, lo, hi` make it its own one-element summary, so a plain
 * ReduceFunction<Event> can fold a window into count, sum of ids, sum of squared ids and the
 * timestamp range: a summary that does not depend on the order of the elements but still sees a
 * lost or doubled element.
 */
export interface DiffEvent {
  readonly k: EventKey;
  readonly t: number;
  readonly id: number;
  readonly c: number;
  readonly s: number;
  readonly q: number;
  readonly lo: number;
  readonly hi: number;
}

export function makeEvent(id: number, k: EventKey, t: number): DiffEvent {
  return { k, t, id, c: 1, s: id, q: id * id, lo: t, hi: t };
}

/** The window classes with the default trigger and no evictor: the plain reference model's. */
export type DefaultWindowClass = 'tumbling' | 'tumbling-offset' | 'sliding-multiple' | 'sliding-uneven' | 'session' | 'count';
export const WINDOW_CLASSES: readonly DefaultWindowClass[] = ['tumbling', 'tumbling-offset', 'sliding-multiple', 'sliding-uneven', 'session', 'count'];

/**
 * The other assigners, and the triggers and evictors, each on a window kind where it matters
 * (the merging ones on sessions): Flink's model (window-differential-flink-model.ts) checks them.
 */
export type TriggerWindowClass =
  | 'session-dynamic'
  | 'tumbling-processing'
  | 'sliding-processing'
  | 'session-processing'
  | 'session-processing-dynamic'
  | 'count-sliding'
  | 'tumbling-continuous'
  | 'session-continuous'
  | 'sliding-count-trigger'
  | 'session-count-trigger'
  | 'tumbling-delta-trigger'
  | 'session-processing-continuous'
  | 'tumbling-count-evictor'
  | 'sliding-time-evictor'
  | 'session-delta-evictor'
  | 'sliding-processing-count-evictor';
export const TRIGGER_WINDOW_CLASSES: readonly TriggerWindowClass[] = [
  'session-dynamic',
  'tumbling-processing',
  'sliding-processing',
  'session-processing',
  'session-processing-dynamic',
  'count-sliding',
  'tumbling-continuous',
  'session-continuous',
  'sliding-count-trigger',
  'session-count-trigger',
  'tumbling-delta-trigger',
  'session-processing-continuous',
  'tumbling-count-evictor',
  'sliding-time-evictor',
  'session-delta-evictor',
  'sliding-processing-count-evictor',
];

export type WindowClass = DefaultWindowClass | TriggerWindowClass;

/** Whether a window class assigns by processing time. */
export function isProcessingTimeClass(window: WindowClass): boolean {
  return window.includes('-processing');
}

/**
 * The window functions. The first five are pure: they never change an object after handing it
 * over, and use plain objects. The last two are written the way Flink users write them: an
 * AggregateFunction whose accumulator is an instance of a class and whose getResult returns it,
 * and a ProcessWindowFunction that emits the element list it was given. Flink hands every record
 * on as its own copy of the same type (object reuse is off by default), so for Flink these
 * behave exactly like their pure twins: a result, once emitted, does not change, and an
 * accumulator or result of a class stays an instance of it.
 */
export type FunctionKind = 'reduce' | 'reduce+window' | 'aggregate' | 'aggregate+window' | 'process' | 'aggregate-acc-result' | 'process-emit-elements';
export const FUNCTION_KINDS: readonly FunctionKind[] = [
  'reduce',
  'reduce+window',
  'aggregate',
  'aggregate+window',
  'process',
  'aggregate-acc-result',
  'process-emit-elements',
];

export type LatenessClass = 'L0' | 'Lsmall' | 'Llarge';
export const LATENESS_CLASSES: readonly LatenessClass[] = ['L0', 'Lsmall', 'Llarge'];

/** `time: 'processing'`: windows by processing time (see processingTimesOf). */
export type WindowSpec =
  | { readonly kind: 'tumbling'; readonly sizeMs: number; readonly offsetMs: number; readonly time?: 'processing' }
  | { readonly kind: 'sliding'; readonly sizeMs: number; readonly slideMs: number; readonly offsetMs: number; readonly time?: 'processing' }
  | { readonly kind: 'session'; readonly gapMs: number; readonly dynamicGap?: DynamicGap; readonly time?: 'processing' }
  | { readonly kind: 'count'; readonly size: number; readonly slide?: number };

/** A dynamic session gap: record e opens a session of baseMs + (e.id mod modulo) × stepMs. */
export interface DynamicGap {
  readonly baseMs: number;
  readonly stepMs: number;
  readonly modulo: number;
}

/** The session gap of `e` under `spec`: the engine's gap extractor and the model both use this. */
export function sessionGapOf(spec: Extract<WindowSpec, { kind: 'session' }>, e: DiffEvent): number {
  const dynamic = spec.dynamicGap;
  return dynamic === undefined ? spec.gapMs : dynamic.baseMs + (e.id % dynamic.modulo) * dynamic.stepMs;
}

/** `purging`: wrapped in PurgingTrigger. Delta triggers and evictors measure |Δt| between records. */
export type TriggerSpec =
  | { readonly kind: 'continuous-event-time'; readonly intervalMs: number; readonly purging: boolean }
  | { readonly kind: 'continuous-processing-time'; readonly intervalMs: number; readonly purging: boolean }
  | { readonly kind: 'count'; readonly count: number; readonly purging: boolean }
  | { readonly kind: 'delta'; readonly threshold: number; readonly purging: boolean };

/** `after`: evict after the window function (doEvictAfter). */
export type EvictorSpec =
  | { readonly kind: 'count'; readonly maxCount: number; readonly after: boolean }
  | { readonly kind: 'time'; readonly windowMs: number; readonly after: boolean }
  | { readonly kind: 'delta'; readonly threshold: number; readonly after: boolean };

/** The delta of DeltaTrigger and DeltaEvictor in these cases: how far apart two records are in event time. */
export function timestampDelta(a: DiffEvent, b: DiffEvent): number {
  return Math.abs(b.t - a.t);
}

/**
 * Processing time, for the processing-time classes: record i arrives when the clock reads the
 * highest event timestamp among records 0..i (a source that reads as fast as events happen, with
 * out-of-order records arriving in the same instant), and each record arrives alone.
 */
export function processingTimesOf(events: readonly DiffEvent[]): number[] {
  let clock = Number.NEGATIVE_INFINITY;
  return events.map((e) => (clock = Math.max(clock, e.t)));
}

/** After the last record the clock jumps this far ahead, so every processing-time window with an end fires. */
export const FINAL_PROCESSING_TIME_JUMP_MS = 1_000_000_000;

/** The class labels of a case: what the matrix enumerates. */
export interface CaseClass {
  readonly window: WindowClass;
  readonly fn: FunctionKind;
  readonly lateness: LatenessClass;
  readonly sideOutput: boolean;
  readonly parallelism: number;
  readonly backend: StateBackendKind;
  /**
   * Absent: one source subtask replays the records. 'one-file': a JSON Lines file read at the
   * job's parallelism, so every source subtask but one has no split.
   */
  readonly source?: 'one-file';
  /**
   * Absent: interval 0, a watermark after every record. 'default': the default interval, with one
   * interval passing per poll of `recordsPerPoll` records (a watermark after each poll).
   */
  readonly watermarkInterval?: 'default';
  /**
   * The job stops with a checkpoint in the middle of the input and is restored from it; then it
   * fails a few records later and is restored from that checkpoint again, and runs to the end.
   */
  readonly restore?: boolean;
}

/** A fully resolved case: the class plus everything drawn from the seed. */
export interface DiffCase extends CaseClass {
  readonly name: string;
  readonly seed: number;
  readonly spec: WindowSpec;
  readonly allowedLatenessMs: number;
  readonly outOfOrdernessMs: number;
  readonly recordsPerPoll: number;
  /** Records per batch between tasks: 1 ships every record alone, 1024 is the default. */
  readonly exchangeBatchSize: number;
  readonly events: readonly DiffEvent[];
  /** How the stream was drawn, for the failure message. */
  readonly streamShape: string;
  readonly trigger?: TriggerSpec;
  readonly evictor?: EvictorSpec;
  /** With `restore`: the job stops before record restoreAt (a checkpoint), fails before crashAt (if set). */
  readonly restoreAt?: number;
  readonly crashAt?: number;
}

export function caseName(c: CaseClass): string {
  const source = c.source === undefined ? '' : `/${c.source}`;
  const interval = c.watermarkInterval === undefined ? '' : `/wm-${c.watermarkInterval}`;
  const restore = c.restore ? '/restore' : '';
  return `${c.window}/${c.fn}/${c.lateness}/${c.sideOutput ? 'side' : 'drop'}/p${c.parallelism}/${c.backend}${source}${interval}${restore}`;
}

/** Records a case's watermark advances after: 1 at interval 0, a poll's worth at the default interval. */
export function recordsPerWatermark(c: DiffCase): number {
  return c.watermarkInterval === 'default' ? c.recordsPerPoll : 1;
}

/** Draws the window, the lateness, the watermark bound and the stream of `seed` for class `cls`. */
export function resolveCase(cls: CaseClass, seed: number): DiffCase {
  const rng = new SeededRandom(seed);
  // The time unit scales the whole case: window sizes, gaps, disorder and lateness are multiples of it.
  const unitMs = rng.pick([10, 20, 50, 100, 250]);
  const spec = drawWindowSpec(cls.window, unitMs, rng);
  const { trigger, evictor } = drawTriggerAndEvictor(cls.window, spec, unitMs, rng);
  const allowedLatenessMs =
    spec.kind === 'count' || spec.time === 'processing' || cls.lateness === 'L0'
      ? 0
      : cls.lateness === 'Lsmall'
        ? rng.int(1, Math.max(1, Math.floor(unitMs / 3)))
        : rng.int(2 * unitMs, 12 * unitMs);
  const outOfOrdernessMs = rng.pick([0, 0, 1, Math.floor(unitMs / 4), Math.floor(unitMs / 2), unitMs, 3 * unitMs]);
  const recordsPerPoll = rng.pick([1, 3, 7, 7, 7, 16, 64, 1000]);
  const exchangeBatchSize = rng.pick([1, 2, 5, 1024, 1024]);
  // A watermark held back by source subtasks without a split shows only in late records.
  const minLateShare = cls.source === 'one-file' ? 0.15 : 0;
  const { events, shape } = drawEvents(rng, unitMs, outOfOrdernessMs, spec, allowedLatenessMs, minLateShare);
  const drawn: DiffCase = { ...cls, name: caseName(cls), seed, spec, allowedLatenessMs, outOfOrdernessMs, recordsPerPoll, exchangeBatchSize, events, streamShape: shape };
  const extras = { ...(trigger ? { trigger } : {}), ...(evictor ? { evictor } : {}) };
  if (!cls.restore) return { ...drawn, ...extras };
  const restoreAt = rng.int(1, Math.max(1, events.length - 1));
  const crashAt = rng.chance(0.7) ? rng.int(restoreAt + 1, events.length) : undefined;
  return withRestorePoints({ ...drawn, ...extras }, restoreAt, crashAt);
}

/** Puts the restore points inside the input (after shrinking or replacing it): a stop after at least one record, a crash after the stop. */
function withRestorePoints(c: DiffCase, restoreAt: number, crashAt: number | undefined): DiffCase {
  const { restoreAt: _r, crashAt: _c, ...rest } = c;
  if (c.events.length < 2) return rest;
  const stop = Math.min(Math.max(1, restoreAt), c.events.length - 1);
  const crash = crashAt === undefined || crashAt <= stop ? undefined : Math.min(crashAt, c.events.length);
  return { ...rest, restoreAt: stop, ...(crash !== undefined && crash < c.events.length ? { crashAt: crash } : {}) };
}

function drawWindowSpec(cls: WindowClass, unitMs: number, rng: SeededRandom): WindowSpec {
  switch (cls) {
    case 'session-dynamic':
    case 'session-processing-dynamic': {
      const dynamicGap = { baseMs: rng.int(1, unitMs), stepMs: rng.int(0, unitMs), modulo: rng.pick([1, 2, 3, 5]) };
      return { kind: 'session', gapMs: dynamicGap.baseMs, dynamicGap, ...(cls === 'session-processing-dynamic' ? { time: 'processing' as const } : {}) };
    }
    case 'tumbling-processing': {
      const sizeMs = rng.int(1, 3) * unitMs + (rng.chance(0.3) ? rng.int(1, unitMs) : 0);
      return { kind: 'tumbling', sizeMs, offsetMs: rng.chance(0.3) ? rng.int(-(sizeMs - 1), sizeMs - 1) : 0, time: 'processing' };
    }
    case 'sliding-processing':
    case 'sliding-processing-count-evictor':
      return { ...(drawWindowSpec(rng.chance(0.5) ? 'sliding-multiple' : 'sliding-uneven', unitMs, rng) as Extract<WindowSpec, { kind: 'sliding' }>), time: 'processing' };
    case 'session-processing':
    case 'session-processing-continuous':
      return { kind: 'session', gapMs: rng.int(1, 2 * unitMs), time: 'processing' };
    case 'count-sliding': {
      const size = rng.pick([1, 2, 3, 4, 6]);
      return { kind: 'count', size, slide: rng.int(1, size + 1) };
    }
    case 'tumbling-continuous':
    case 'tumbling-delta-trigger':
    case 'tumbling-count-evictor':
      return { kind: 'tumbling', sizeMs: rng.int(1, 4) * unitMs + (rng.chance(0.3) ? rng.int(1, unitMs) : 0), offsetMs: rng.chance(0.3) ? rng.int(0, unitMs - 1) : 0 };
    case 'sliding-count-trigger':
    case 'sliding-time-evictor':
      return drawWindowSpec(rng.chance(0.5) ? 'sliding-multiple' : 'sliding-uneven', unitMs, rng);
    case 'session-continuous':
    case 'session-count-trigger':
    case 'session-delta-evictor':
      return drawWindowSpec('session', unitMs, rng);
    case 'tumbling':
      return { kind: 'tumbling', sizeMs: rng.int(1, 2) * unitMs + (rng.chance(0.3) ? rng.int(1, unitMs) : 0), offsetMs: 0 };
    case 'tumbling-offset': {
      const sizeMs = unitMs + rng.int(1, unitMs);
      let offsetMs = rng.int(-(sizeMs - 1), sizeMs - 1);
      if (offsetMs === 0) offsetMs = 1;
      return { kind: 'tumbling', sizeMs, offsetMs };
    }
    case 'sliding-multiple': {
      const slideMs = Math.max(1, Math.floor(unitMs / rng.pick([1, 2, 4])));
      const sizeMs = slideMs * rng.int(2, 5);
      const offsetMs = rng.chance(0.3) ? rng.int(-(slideMs - 1), slideMs - 1) : 0;
      return { kind: 'sliding', sizeMs, slideMs, offsetMs };
    }
    case 'sliding-uneven': {
      const slideMs = Math.max(2, Math.floor(unitMs / rng.pick([1, 2, 3])));
      let sizeMs: number;
      if (rng.chance(0.25)) {
        sizeMs = rng.int(1, slideMs - 1); // smaller than the slide: some records belong to no window
      } else {
        do sizeMs = rng.int(slideMs + 1, 4 * slideMs);
        while (sizeMs % slideMs === 0);
      }
      const offsetMs = rng.chance(0.4) ? rng.int(-(slideMs - 1), slideMs - 1) : 0;
      return { kind: 'sliding', sizeMs, slideMs, offsetMs };
    }
    case 'session':
      return { kind: 'session', gapMs: rng.int(1, 2 * unitMs) };
    case 'count':
      return { kind: 'count', size: rng.pick([1, 2, 3, 3, 4, 5, 8]) };
  }
}

/** The trigger and evictor of a class, their parameters drawn from the seed (never ones that can empty a window: Flink hands on null then). */
function drawTriggerAndEvictor(cls: WindowClass, spec: WindowSpec, unitMs: number, rng: SeededRandom): { trigger?: TriggerSpec; evictor?: EvictorSpec } {
  const windowMs = spec.kind === 'session' ? spec.gapMs : spec.kind === 'count' ? unitMs : spec.sizeMs;
  const interval = () => rng.int(1, Math.max(1, rng.chance(0.2) ? 2 * windowMs : windowMs));
  const purging = () => rng.chance(0.35);
  const continuousOrDefault = (): TriggerSpec | undefined => (rng.chance(0.3) ? { kind: 'continuous-event-time', intervalMs: interval(), purging: false } : undefined);
  switch (cls) {
    case 'tumbling-continuous':
    case 'session-continuous':
      return { trigger: { kind: 'continuous-event-time', intervalMs: interval(), purging: purging() } };
    case 'session-processing-continuous':
      return { trigger: { kind: 'continuous-processing-time', intervalMs: interval(), purging: purging() } };
    case 'sliding-count-trigger':
    case 'session-count-trigger':
      return { trigger: { kind: 'count', count: rng.int(1, 4), purging: purging() } };
    case 'tumbling-delta-trigger':
      return { trigger: { kind: 'delta', threshold: rng.int(0, 2 * unitMs), purging: purging() } };
    case 'tumbling-count-evictor': {
      const trigger = continuousOrDefault();
      return { ...(trigger ? { trigger } : {}), evictor: { kind: 'count', maxCount: rng.int(1, 4), after: rng.chance(0.5) } };
    }
    case 'sliding-time-evictor': {
      const trigger: TriggerSpec | undefined = rng.chance(0.3) ? { kind: 'count', count: rng.int(1, 3), purging: false } : undefined;
      return { ...(trigger ? { trigger } : {}), evictor: { kind: 'time', windowMs: rng.int(1, windowMs), after: rng.chance(0.5) } };
    }
    case 'session-delta-evictor': {
      const trigger = continuousOrDefault();
      return { ...(trigger ? { trigger } : {}), evictor: { kind: 'delta', threshold: rng.int(1, 2 * unitMs), after: rng.chance(0.5) } };
    }
    case 'sliding-processing-count-evictor':
      return { evictor: { kind: 'count', maxCount: rng.int(1, 4), after: rng.chance(0.5) } };
    default:
      return {};
  }
}

/**
 * A stream of 20-300 records: an event-time clock that mostly creeps forward (often by 0, so
 * timestamps repeat), sometimes jumps (an idle stretch), records placed within the
 * out-of-orderness bound behind the clock, some further behind (late for the watermark), some
 * repeating an earlier record's timestamp exactly, and some placed on purpose on a boundary
 * where off-by-one mistakes show: a window's last or first millisecond right at the watermark or
 * at watermark - allowed lateness, a record exactly allowed-lateness behind the watermark, a
 * session that just touches (or just misses) an earlier one of its key.
 */
function drawEvents(
  rng: SeededRandom,
  unitMs: number,
  outOfOrdernessMs: number,
  spec: WindowSpec,
  allowedLatenessMs: number,
  minLateShare: number,
): { events: DiffEvent[]; shape: string } {
  const count = rng.chance(0.7) ? rng.int(20, 120) : rng.int(121, 300);
  const manyKeys = rng.chance(0.4);
  const keyCount = manyKeys ? rng.int(8, 60) : rng.int(1, 3);
  const keyKind = rng.pick(['number', 'string', 'tuple'] as const);
  const keyOf = (index: number): EventKey => (keyKind === 'number' ? index : keyKind === 'string' ? `k${index}` : [`g${index % 3}`, index]);
  const start = rng.chance(0.2) ? -rng.int(0, 20 * unitMs) : rng.int(0, 50 * unitMs);
  const pIdle = rng.pick([0, 0.02, 0.05, 0.1]);
  const pLate = Math.max(minLateShare, rng.pick([0, 0.05, 0.15, 0.3]));
  const pRepeat = rng.pick([0, 0.05, 0.15]);
  const pBoundary = rng.pick([0, 0.1, 0.25]);
  const pStill = rng.pick([0.1, 0.3, 0.6]);
  const stepMs = Math.max(1, Math.floor(unitMs / rng.pick([1, 3, 10])));
  const events: DiffEvent[] = [];
  let clock = start;
  let maxTimestamp = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < count; i++) {
    if (rng.chance(pIdle)) clock += rng.int(2, 10) * unitMs + rng.int(0, unitMs);
    else if (!rng.chance(pStill)) clock += rng.int(1, stepMs);
    const keyIndex = manyKeys && rng.chance(0.5) ? rng.int(0, Math.min(2, keyCount - 1)) : rng.int(0, keyCount - 1); // a few hot keys
    let key: EventKey = keyOf(keyIndex);
    let t: number;
    const roll = rng.float();
    const watermark = maxTimestamp - outOfOrdernessMs - 1; // what the source's watermark is now
    if (events.length > 0 && roll < pBoundary) {
      const boundary = boundaryTimestamp(rng, spec, watermark, allowedLatenessMs, events);
      t = boundary.t;
      key = boundary.key ?? key;
    } else if (events.length > 0 && roll < pBoundary + pRepeat) t = rng.pick(events).t;
    else if (roll < pBoundary + pRepeat + pLate) t = clock - outOfOrdernessMs - 1 - rng.int(0, 4 * unitMs);
    else t = clock - rng.int(0, outOfOrdernessMs);
    if (t > clock) clock = t;
    maxTimestamp = Math.max(maxTimestamp, t);
    events.push(makeEvent(i, key, t));
  }
  const shape =
    `${count} events, ${keyCount} ${keyKind} keys, unit ${unitMs} ms, start ${start}, ` +
    `pIdle ${pIdle}, pLate ${pLate}, pRepeat ${pRepeat}, pBoundary ${pBoundary}, pStill ${pStill}, step ≤ ${stepMs} ms`;
  return { events, shape };
}

function floorToGrid(x: number, offsetMs: number, stepMs: number): number {
  return x - ((((x - offsetMs) % stepMs) + stepMs) % stepMs);
}

/** A timestamp on an edge of the lateness, firing or merging rules (and, for sessions, the key it needs). */
function boundaryTimestamp(
  rng: SeededRandom,
  spec: WindowSpec,
  watermark: number,
  allowedLatenessMs: number,
  earlier: readonly DiffEvent[],
): { t: number; key?: EventKey } {
  const delta = rng.int(-1, 1);
  if (spec.kind === 'session' && rng.chance(0.6)) {
    // Just touching an earlier record's session on either side (or one millisecond off).
    const other = rng.pick(earlier);
    return { t: other.t + (rng.chance(0.5) ? spec.gapMs : -spec.gapMs) + delta, key: other.k };
  }
  if (spec.kind === 'count' || spec.time === 'processing' || !Number.isFinite(watermark)) return { t: rng.pick(earlier).t + delta };
  const choice = rng.int(0, 2);
  if (choice === 0) return { t: watermark - allowedLatenessMs + delta }; // isElementLate's edge
  if (spec.kind === 'session') return { t: watermark - spec.gapMs + 1 - allowedLatenessMs * rng.int(0, 1) + delta };
  // A window whose maxTimestamp (choice 1) or maxTimestamp + lateness (choice 2) is at the watermark.
  const sizeMs = spec.sizeMs;
  const slideMs = spec.kind === 'sliding' ? spec.slideMs : spec.sizeMs;
  const targetMaxTimestamp = watermark - (choice === 2 ? allowedLatenessMs : 0) + delta;
  const windowStart = floorToGrid(targetMaxTimestamp - sizeMs + 1, spec.offsetMs, slideMs);
  return { t: rng.chance(0.5) ? windowStart + sizeMs - 1 : windowStart };
}

/** A case with a different (usually shrunk) event list; restore points stay inside it. */
export function withEvents(c: DiffCase, events: readonly DiffEvent[]): DiffCase {
  const replaced = { ...c, events };
  return c.restoreAt === undefined ? replaced : withRestorePoints(replaced, c.restoreAt, c.crashAt);
}

/** Compact text of an event list: `[id,key,t]` triples, replayable with SLUICE_EVENTS. */
export function eventsToJson(events: readonly DiffEvent[]): string {
  return JSON.stringify(events.map((e) => [e.id, e.k, e.t]));
}

export function eventsFromJson(text: string): DiffEvent[] {
  const raw = JSON.parse(text) as Array<[number, EventKey, number]>;
  return raw.map(([id, k, t]) => makeEvent(id, k, t));
}

export function describeSpec(spec: WindowSpec): string {
  const time = spec.kind !== 'count' && spec.time === 'processing' ? 'ProcessingTime' : 'EventTime';
  switch (spec.kind) {
    case 'tumbling':
      return `Tumbling${time}Windows.of(${spec.sizeMs}, ${spec.offsetMs})`;
    case 'sliding':
      return `Sliding${time}Windows.of(${spec.sizeMs}, ${spec.slideMs}, ${spec.offsetMs})`;
    case 'session': {
      const sessions = spec.time === 'processing' ? 'ProcessingTimeSessionWindows' : 'EventTimeSessionWindows';
      const g = spec.dynamicGap;
      return g ? `${sessions}.withDynamicGap(e => ${g.baseMs} + (e.id % ${g.modulo}) * ${g.stepMs})` : `${sessions}.withGap(${spec.gapMs})`;
    }
    case 'count':
      return spec.slide === undefined ? `countWindow(${spec.size})` : `countWindow(${spec.size}, ${spec.slide})`;
  }
}

export function describeTrigger(trigger: TriggerSpec | undefined): string {
  if (trigger === undefined) return 'the default trigger';
  const inner = (() => {
    switch (trigger.kind) {
      case 'continuous-event-time':
        return `ContinuousEventTimeTrigger.of(${trigger.intervalMs})`;
      case 'continuous-processing-time':
        return `ContinuousProcessingTimeTrigger.of(${trigger.intervalMs})`;
      case 'count':
        return `CountTrigger.of(${trigger.count})`;
      case 'delta':
        return `DeltaTrigger.of(${trigger.threshold}, |Δt|)`;
    }
  })();
  return trigger.purging ? `PurgingTrigger.of(${inner})` : inner;
}

export function describeEvictor(evictor: EvictorSpec | undefined): string {
  if (evictor === undefined) return 'no evictor';
  const after = evictor.after ? ', true' : '';
  switch (evictor.kind) {
    case 'count':
      return `CountEvictor.of(${evictor.maxCount}${after})`;
    case 'time':
      return `TimeEvictor.of(${evictor.windowMs}${after})`;
    case 'delta':
      return `DeltaEvictor.of(${evictor.threshold}, |Δt|${after})`;
  }
}
