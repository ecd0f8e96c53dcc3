// The inputs of the window operator's differential test: a seeded PRNG, the shape of one case
// (window kind, window function, allowed lateness, late side output, parallelism, backend, and
// for some the source and the watermark interval) and
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

export type WindowClass = 'tumbling' | 'tumbling-offset' | 'sliding-multiple' | 'sliding-uneven' | 'session' | 'count';
export const WINDOW_CLASSES: readonly WindowClass[] = ['tumbling', 'tumbling-offset', 'sliding-multiple', 'sliding-uneven', 'session', 'count'];

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

export type WindowSpec =
  | { readonly kind: 'tumbling'; readonly sizeMs: number; readonly offsetMs: number }
  | { readonly kind: 'sliding'; readonly sizeMs: number; readonly slideMs: number; readonly offsetMs: number }
  | { readonly kind: 'session'; readonly gapMs: number }
  | { readonly kind: 'count'; readonly size: number };

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
}

export function caseName(c: CaseClass): string {
  const source = c.source === undefined ? '' : `/${c.source}`;
  const interval = c.watermarkInterval === undefined ? '' : `/wm-${c.watermarkInterval}`;
  return `${c.window}/${c.fn}/${c.lateness}/${c.sideOutput ? 'side' : 'drop'}/p${c.parallelism}/${c.backend}${source}${interval}`;
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
  const allowedLatenessMs =
    cls.window === 'count' || cls.lateness === 'L0'
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
  return { ...cls, name: caseName(cls), seed, spec, allowedLatenessMs, outOfOrdernessMs, recordsPerPoll, exchangeBatchSize, events, streamShape: shape };
}

function drawWindowSpec(cls: WindowClass, unitMs: number, rng: SeededRandom): WindowSpec {
  switch (cls) {
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
  if (spec.kind === 'count' || !Number.isFinite(watermark)) return { t: rng.pick(earlier).t + delta };
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

/** A case with a different (usually shrunk) event list. */
export function withEvents(c: DiffCase, events: readonly DiffEvent[]): DiffCase {
  return { ...c, events };
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
  switch (spec.kind) {
    case 'tumbling':
      return `TumblingEventTimeWindows.of(${spec.sizeMs}, ${spec.offsetMs})`;
    case 'sliding':
      return `SlidingEventTimeWindows.of(${spec.sizeMs}, ${spec.slideMs}, ${spec.offsetMs})`;
    case 'session':
      return `EventTimeSessionWindows.withGap(${spec.gapMs})`;
    case 'count':
      return `countWindow(${spec.size})`;
  }
}
