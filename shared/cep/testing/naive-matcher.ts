// A reference for the NFA, written from the definitions rather than from Flink's automaton: it
// enumerates every way to assign a key's events to the stages of a pattern, keeps the assignments
// that respect each stage's condition, quantifier, contiguity and the window, then applies the
// skip strategy to that list. Slow (exponential), obviously right, for small random inputs.
//
// Definitions: a match takes events in order; stage i takes between min and max events (0 when
// optional) that satisfy its condition. The first event of a stage relates to the last event
// taken before it (by any earlier stage): `next` must follow it directly, `followedBy` must be
// the first event after it that satisfies the stage's condition, `followedByAny` any later one.
// Events within a stage relate the same way by the stage's inner contiguity (consecutive,
// relaxed by default, allowCombinations). The whole match lies within the window: its last event
// is less than `windowMs` after its first. With a skip strategy, matches are taken in the order of
// (first event, last event, events, stages of the events), and each one taken drops the later
// ones it prunes.

export interface ReferenceEvent {
  readonly index: number;
  readonly letter: string;
  readonly timestamp: number;
}

export type Contiguity = 'next' | 'followedBy' | 'followedByAny';
export type InnerContiguity = 'consecutive' | 'relaxed' | 'combinations';
export type SkipSpec = { kind: 'no-skip' | 'skip-to-next' | 'skip-past-last-event' } | { kind: 'skip-to-first' | 'skip-to-last'; name: string };

export interface StageSpec {
  readonly name: string;
  /** The condition: the event's letter is one of these. */
  readonly letters: readonly string[];
  /** How the stage's first event relates to the event before it (ignored for the first stage). */
  readonly contiguity: Contiguity;
  /** 0 for an optional stage. */
  readonly min: number;
  /** Infinity for oneOrMore/timesOrMore. */
  readonly max: number;
  readonly inner: InnerContiguity;
}

export interface PatternSpec {
  readonly stages: readonly StageSpec[];
  readonly windowMs: number | undefined;
  readonly skip: SkipSpec;
}

/** A match: per stage that took events, the indices of its events. */
export type ReferenceMatch = ReadonlyArray<readonly [stage: string, indices: readonly number[]]>;

export function referenceMatches(spec: PatternSpec, events: readonly ReferenceEvent[]): ReferenceMatch[] {
  const all = allMatches(spec, events);
  return spec.skip.kind === 'no-skip' ? all : applySkip(spec.stages.map((s) => s.name), spec.skip, all);
}

function allMatches(spec: PatternSpec, events: readonly ReferenceEvent[]): ReferenceMatch[] {
  const found: ReferenceMatch[] = [];
  const satisfies = (stage: StageSpec, i: number) => stage.letters.includes(events[i]!.letter);
  /** Whether event `next` may follow event `last` for a stage, by contiguity. */
  const follows = (stage: StageSpec, how: Contiguity | InnerContiguity, last: number, next: number): boolean => {
    if (how === 'next' || how === 'consecutive') return next === last + 1;
    if (how === 'followedBy' || how === 'relaxed') {
      for (let between = last + 1; between < next; between++) if (satisfies(stage, between)) return false;
    }
    return true;
  };
  const inWindow = (first: number, index: number) => spec.windowMs === undefined || events[index]!.timestamp - events[first]!.timestamp < spec.windowMs;

  const visitStage = (stageIndex: number, last: number, first: number, taken: Array<[string, number[]]>): void => {
    if (stageIndex === spec.stages.length) {
      if (taken.length > 0) found.push(taken.map(([name, indices]) => [name, [...indices]] as const));
      return;
    }
    const stage = spec.stages[stageIndex]!;
    if (stage.min === 0) visitStage(stageIndex + 1, last, first, taken);
    for (let next = last + 1; next < events.length; next++) {
      if (!satisfies(stage, next)) continue;
      if (last >= 0 && !follows(stage, stage.contiguity, last, next)) continue;
      const matchStart = first < 0 ? next : first;
      if (!inWindow(matchStart, next)) continue;
      takeMore(stageIndex, [next], matchStart, taken);
    }
  };

  const takeMore = (stageIndex: number, stageEvents: number[], first: number, taken: Array<[string, number[]]>): void => {
    const stage = spec.stages[stageIndex]!;
    const last = stageEvents[stageEvents.length - 1]!;
    if (stageEvents.length >= Math.max(1, stage.min)) visitStage(stageIndex + 1, last, first, [...taken, [stage.name, stageEvents]]);
    if (stageEvents.length >= stage.max) return;
    for (let next = last + 1; next < events.length; next++) {
      if (!satisfies(stage, next) || !follows(stage, stage.inner, last, next) || !inWindow(first, next)) continue;
      takeMore(stageIndex, [...stageEvents, next], first, taken);
    }
  };

  visitStage(0, -1, -1, []);
  return found;
}

function applySkip(stageNames: readonly string[], skip: SkipSpec, matches: ReferenceMatch[]): ReferenceMatch[] {
  const indices = (m: ReferenceMatch) => m.flatMap(([, ids]) => ids);
  const stagesOf = (m: ReferenceMatch) => m.flatMap(([name, ids]) => ids.map(() => stageNames.indexOf(name)));
  const order = (a: ReferenceMatch, b: ReferenceMatch) => {
    const [x, y] = [indices(a), indices(b)];
    if (x[0] !== y[0]) return x[0]! - y[0]!;
    if (x[x.length - 1] !== y[y.length - 1]) return x[x.length - 1]! - y[y.length - 1]!;
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
    if (x.length !== y.length) return x.length - y.length;
    // The same events in other stages: earlier stages first.
    const [sx, sy] = [stagesOf(a), stagesOf(b)];
    for (let i = 0; i < sx.length; i++) if (sx[i] !== sy[i]) return sx[i]! - sy[i]!;
    return 0;
  };
  let remaining = [...matches].sort(order);
  const emitted: ReferenceMatch[] = [];
  while (remaining.length > 0) {
    const match = remaining.shift()!;
    emitted.push(match);
    const all = indices(match);
    let pruneBelowOrAt: number | undefined; // drop matches starting at or before this event
    let pruneBelow: number | undefined; // drop matches starting before this event
    if (skip.kind === 'skip-to-next') pruneBelowOrAt = all[0];
    else if (skip.kind === 'skip-past-last-event') pruneBelowOrAt = all[all.length - 1];
    else if (skip.kind === 'skip-to-first' || skip.kind === 'skip-to-last') {
      const stage = match.find(([name]) => name === skip.name)?.[1];
      if (stage !== undefined) pruneBelow = skip.kind === 'skip-to-first' ? stage[0] : stage[stage.length - 1];
    }
    remaining = remaining.filter((m) => {
      const start = indices(m)[0]!;
      return !((pruneBelowOrAt !== undefined && start <= pruneBelowOrAt) || (pruneBelow !== undefined && start < pruneBelow));
    });
  }
  return emitted;
}
