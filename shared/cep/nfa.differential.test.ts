// The NFA against the naive reference matcher (testing/naive-matcher.ts) on random patterns and
// inputs: stages with random conditions, contiguity (next, followedBy, followedByAny),
// quantifiers (optional, times, times ranges, oneOrMore, timesOrMore) with consecutive or
// allowCombinations, windows and all five skip strategies. Each case prints nothing unless it
// fails; a failure names its seed, and `SLUICE_SEED=<seed>` runs that case alone
// (`SLUICE_CEP_CASES=n` runs n cases).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AfterMatchSkipStrategy, Pattern } from '../api/index.ts';
import { seededRandom } from '../testing/seeded-random.ts';
import { feedNfa } from './testing/nfa-test-harness.ts';
import { referenceMatches, type PatternSpec, type ReferenceEvent, type ReferenceMatch, type SkipSpec, type StageSpec } from './testing/naive-matcher.ts';

/** `SLUICE_CEP_CASES=5000` for a longer run. */
const CASES = Number(process.env.SLUICE_CEP_CASES ?? 300);
const LETTERS = ['a', 'b', 'c', 'd'];

function randomSpec(random: () => number): PatternSpec {
  const pick = <X>(items: readonly X[]): X => items[Math.floor(random() * items.length)]!;
  const stageCount = 1 + Math.floor(random() * 3);
  const stages: StageSpec[] = [];
  for (let i = 0; i < stageCount; i++) {
    const letters = LETTERS.slice(0, 3).filter(() => random() < 0.5);
    const [min, max] = pick<[number, number]>([[1, 1], [1, 1], [1, 1], [0, 1], [2, 2], [1, 3], [0, 2], [1, Infinity], [2, Infinity], [0, Infinity]]);
    stages.push({
      name: `s${i}`,
      letters: letters.length > 0 ? letters : [pick(LETTERS.slice(0, 3))],
      contiguity: pick(['next', 'followedBy', 'followedByAny'] as const),
      min,
      max,
      inner: max > 1 ? pick(['relaxed', 'relaxed', 'consecutive', 'combinations'] as const) : 'relaxed',
    });
  }
  const skip: SkipSpec = pick<SkipSpec>([
    { kind: 'no-skip' },
    { kind: 'no-skip' },
    { kind: 'skip-to-next' },
    { kind: 'skip-past-last-event' },
    { kind: 'skip-to-first', name: pick(stages).name },
    { kind: 'skip-to-last', name: pick(stages).name },
  ]);
  // A skip strategy holds matches back while an earlier partial match lives; a window ends them all.
  const windowMs = skip.kind !== 'no-skip' || random() < 0.5 ? 2 + Math.floor(random() * 8) : undefined;
  return { stages, windowMs, skip };
}

function toPattern(spec: PatternSpec): Pattern<ReferenceEvent> {
  const skip = (s: SkipSpec) => {
    switch (s.kind) {
      case 'no-skip':
        return AfterMatchSkipStrategy.noSkip();
      case 'skip-to-next':
        return AfterMatchSkipStrategy.skipToNext();
      case 'skip-past-last-event':
        return AfterMatchSkipStrategy.skipPastLastEvent();
      case 'skip-to-first':
        return AfterMatchSkipStrategy.skipToFirst(s.name);
      case 'skip-to-last':
        return AfterMatchSkipStrategy.skipToLast(s.name);
    }
  };
  let pattern: Pattern<ReferenceEvent> | undefined;
  for (const stage of spec.stages) {
    if (pattern === undefined) pattern = Pattern.begin<ReferenceEvent>(stage.name, skip(spec.skip));
    else if (stage.contiguity === 'next') pattern = pattern.next(stage.name);
    else if (stage.contiguity === 'followedBy') pattern = pattern.followedBy(stage.name);
    else pattern = pattern.followedByAny(stage.name);
    const letters = stage.letters;
    pattern.where((e) => letters.includes(e.letter));
    if (stage.max === Infinity) {
      pattern.timesOrMore(Math.max(1, stage.min));
      if (stage.min === 0) pattern.optional();
    } else if (stage.max > 1) {
      if (stage.min === stage.max) pattern.times(stage.min);
      else pattern.times(stage.min, stage.max);
    } else if (stage.min === 0) {
      pattern.optional();
    }
    if (stage.max > 1 && stage.inner === 'consecutive') pattern.consecutive();
    if (stage.max > 1 && stage.inner === 'combinations') pattern.allowCombinations();
  }
  if (spec.windowMs !== undefined) pattern!.within(spec.windowMs);
  return pattern!;
}

function randomEvents(random: () => number): ReferenceEvent[] {
  const count = 3 + Math.floor(random() * 6);
  const events: ReferenceEvent[] = [];
  let timestamp = 0;
  for (let index = 0; index < count; index++) {
    timestamp += Math.floor(random() * 3); // equal timestamps too: they keep arrival order
    events.push({ index, letter: LETTERS[Math.floor(random() * LETTERS.length)]!, timestamp });
  }
  return events;
}

const show = (matches: readonly ReferenceMatch[]) => matches.map((m) => m.map(([stage, ids]) => `${stage}:${ids.join(',')}`).join(' ')).sort();

function describeCase(seed: number, spec: PatternSpec, events: readonly ReferenceEvent[]): string {
  const stages = spec.stages.map((s) => `${s.contiguity} ${s.name}[${s.letters.join('')}]{${s.min},${s.max}} ${s.inner}`).join(' → ');
  const input = events.map((e) => `${e.letter}${e.index}@${e.timestamp}`).join(' ');
  return `seed ${seed} (rerun with SLUICE_SEED=${seed}): ${stages}; within ${spec.windowMs}; ${spec.skip.kind}${'name' in spec.skip ? `(${spec.skip.name})` : ''}; input ${input}`;
}

function runCase(seed: number): void {
  const random = seededRandom(seed);
  const spec = randomSpec(random);
  const events = randomEvents(random);
  const run = feedNfa(toPattern(spec), events.map((e) => [e, e.timestamp] as const), { advanceTo: 1_000_000 });
  const actual = run.matches.map((m): ReferenceMatch => [...m].map(([stage, es]) => [stage, es.map((e) => e.index)] as const));
  assert.deepEqual(show(actual), show(referenceMatches(spec, events)), describeCase(seed, spec, events));
}

describe('NFA vs the naive reference matcher on random patterns', () => {
  const only = process.env.SLUICE_SEED;
  if (only !== undefined) {
    it(`seed ${only}`, () => runCase(Number(only)));
    return;
  }
  const baseSeed = 1_000;
  it(`${CASES} random cases, seeds ${baseSeed}…${baseSeed + CASES - 1}`, () => {
    for (let seed = baseSeed; seed < baseSeed + CASES; seed++) runCase(seed);
  });
});
