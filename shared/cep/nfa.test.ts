// The NFA against Flink's own IT cases (AfterMatchSkipITCase, NotPatternITCase, GreedyITCase,
// NFAITCase, TimesRangeITCase, UntilConditionITCase): the same patterns and inputs, the
// expected matches copied from Flink. Like Flink's comparePatterns, matches compare as a
// multiset of their events in stage order. Then what Flink's tests check in other words:
// windows and timeouts, iterative conditions, and the pattern API's refusals.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AfterMatchSkipStrategy, MalformedPatternError, Pattern, type ConditionContext } from '../api/index.ts';
import { feedNfa, flatten, type HarnessOptions } from './testing/nfa-test-harness.ts';

interface Event {
  readonly id: number;
  readonly name: string;
  readonly price: number;
}

const event = (id: number, name: string, price = 0): Event => ({ id, name, price });
const named = (name: string) => (e: Event) => e.name === name;
const contains = (text: string) => (e: Event) => e.name.includes(text);

/** Records at timestamps 1, 2, 3, … in the given order (Flink's tests mostly give no timestamps). */
const inOrder = (...events: Event[]): Array<[Event, number]> => events.map((e, i) => [e, i + 1]);

/** The matches as sorted strings of their events, e.g. "a1 b2" (by name and id). */
function matchesOf(pattern: Pattern<Event>, records: ReadonlyArray<readonly [Event, number]>, options?: HarnessOptions): string[] {
  return feedNfa(pattern, records, options).matches.map((m) => flatten(m).map(label).join(' ')).sort();
}

const label = (e: Event) => `${e.name}${e.id}`;
const expected = (...matches: Event[][]): string[] => matches.map((m) => m.map(label).join(' ')).sort();

describe('after-match skip strategies (Flink AfterMatchSkipITCase)', () => {
  const [a1, a2, a3, a4, a5, a6] = [1, 2, 3, 4, 5, 6].map((id) => event(id, 'a'));
  const threeAs = (skip: AfterMatchSkipStrategy) => Pattern.begin<Event>('start', skip).where(named('a')).times(3);

  it('testNoSkip: every window of three', () => {
    assert.deepEqual(matchesOf(threeAs(AfterMatchSkipStrategy.noSkip()), inOrder(a1!, a2!, a3!, a4!, a5!, a6!)), expected([a1!, a2!, a3!], [a2!, a3!, a4!], [a3!, a4!, a5!], [a4!, a5!, a6!]));
  });

  it('testSkipPastLast: matches do not overlap', () => {
    assert.deepEqual(matchesOf(threeAs(AfterMatchSkipStrategy.skipPastLastEvent()), inOrder(a1!, a2!, a3!, a4!, a5!, a6!)), expected([a1!, a2!, a3!], [a4!, a5!, a6!]));
  });

  describe('two variables with followedByAny', () => {
    const [x1, y1, x2, y2] = [event(1, 'a'), event(2, 'b'), event(4, 'a'), event(5, 'b')];
    const run = (skip: AfterMatchSkipStrategy) => matchesOf(Pattern.begin<Event>('start', skip).where(named('a')).followedByAny('end').where(named('b')), inOrder(x1, y1, x2, y2));
    it('testNoSkipWithFollowedByAny', () => assert.deepEqual(run(AfterMatchSkipStrategy.noSkip()), expected([x1, y1], [x1, y2], [x2, y2])));
    it('testSkipToNextWithFollowedByAny', () => assert.deepEqual(run(AfterMatchSkipStrategy.skipToNext()), expected([x1, y1], [x2, y2])));
  });

  describe('quantifier at the end of the pattern', () => {
    const [x1, y1, y2, y3] = [event(1, 'a'), event(2, 'b'), event(4, 'b'), event(5, 'b')];
    const run = (skip: AfterMatchSkipStrategy) => matchesOf(Pattern.begin<Event>('start', skip).where(named('a')).next('end').where(named('b')).oneOrMore(), inOrder(x1, y1, y2, y3));
    it('testNoSkipWithQuantifierAtTheEnd', () => assert.deepEqual(run(AfterMatchSkipStrategy.noSkip()), expected([x1, y1, y2, y3], [x1, y1, y2], [x1, y1])));
    it('testSkipToNextWithQuantifierAtTheEnd', () => assert.deepEqual(run(AfterMatchSkipStrategy.skipToNext()), expected([x1, y1])));
  });

  const abs = [1, 2, 3, 4, 5, 6, 7].map((id) => event(id, 'ab'));
  const twoAThenTwoB = (skip: AfterMatchSkipStrategy) => Pattern.begin<Event>('start', skip).where(contains('a')).times(2).next('end').where(contains('b')).times(2);

  it('testSkipToFirst', () => {
    assert.deepEqual(matchesOf(twoAThenTwoB(AfterMatchSkipStrategy.skipToFirst('end')), inOrder(...abs.slice(0, 6))), expected(abs.slice(0, 4), abs.slice(2, 6)));
  });

  it('testSkipToLast', () => {
    assert.deepEqual(matchesOf(twoAThenTwoB(AfterMatchSkipStrategy.skipToLast('end')), inOrder(...abs)), expected(abs.slice(0, 4), abs.slice(3, 7)));
  });

  it('testSkipPastLast2: followedByAny branches pruned past the first match', () => {
    const [x1, x2, y1, y2, z1, z2, d1, d2] = [event(1, 'a1'), event(2, 'a2'), event(3, 'b1'), event(4, 'b2'), event(5, 'c1'), event(6, 'c2'), event(7, 'd1'), event(7, 'd2')];
    const pattern = Pattern.begin<Event>('a', AfterMatchSkipStrategy.skipPastLastEvent())
      .where(contains('a')).followedByAny('b').where(contains('b')).followedByAny('c').where(contains('c')).followedBy('d').where(contains('d'));
    assert.deepEqual(matchesOf(pattern, inOrder(x1, x2, y1, y2, z1, z2, d1, d2)), expected([x1, y1, z1, d1]));
  });

  it('testSkipPastLast3', () => {
    const [x1, c, x2, y2] = [event(1, 'a1'), event(2, 'c'), event(3, 'a2'), event(4, 'b2')];
    const pattern = Pattern.begin<Event>('a', AfterMatchSkipStrategy.skipPastLastEvent()).where(contains('a')).next('b').where(contains('b'));
    assert.deepEqual(matchesOf(pattern, inOrder(x1, c, x2, y2)), expected([x2, y2]));
  });

  it('testSkipToFirstWithOptionalMatch', () => {
    const [ab1, c1, ab2, c2] = [event(1, 'ab1'), event(2, 'c1'), event(3, 'ab2'), event(4, 'c2')];
    const pattern = Pattern.begin<Event>('x', AfterMatchSkipStrategy.skipToFirst('b'))
      .where(contains('x')).oneOrMore().optional().next('b').where(contains('b')).next('c').where(contains('c'));
    assert.deepEqual(matchesOf(pattern, inOrder(ab1, c1, ab2, c2)), expected([ab1, c1], [ab2, c2]));
  });

  it('testSkipToFirstAtStartPosition', () => {
    const [ab1, c1, ab2, c2] = [event(1, 'ab1'), event(2, 'c1'), event(3, 'ab2'), event(4, 'c2')];
    const pattern = Pattern.begin<Event>('b', AfterMatchSkipStrategy.skipToFirst('b')).where(contains('b')).next('c').where(contains('c'));
    assert.deepEqual(matchesOf(pattern, inOrder(ab1, c1, ab2, c2)), expected([ab1, c1], [ab2, c2]));
  });

  it('testSkipToFirstWithOneOrMore', () => {
    const [x1, y1, x2, y2, y3, x3, y4] = [event(1, 'a1'), event(2, 'b1'), event(3, 'a2'), event(4, 'b2'), event(5, 'b3'), event(3, 'a3'), event(4, 'b4')];
    const pattern = Pattern.begin<Event>('a', AfterMatchSkipStrategy.skipToFirst('b')).where(contains('a')).next('b').where(contains('b')).oneOrMore().consecutive();
    assert.deepEqual(matchesOf(pattern, inOrder(x1, y1, x2, y2, y3, x3, y4)), expected([x1, y1], [x2, y2], [x3, y4]));
  });

  describe('a skip target the match does not have', () => {
    const [a, c] = [event(1, 'a'), event(4, 'c')];
    const run = (skip: AfterMatchSkipStrategy) =>
      matchesOf(Pattern.begin<Event>('a', skip).where(contains('a')).next('b').where(contains('b')).oneOrMore().optional().consecutive().next('c').where(contains('c')), inOrder(a, c));
    it('testSkipToFirstNonExistentPositionWithoutException: skips nothing', () => assert.deepEqual(run(AfterMatchSkipStrategy.skipToFirst('b')), expected([a, c])));
    it('testSkipToLastNonExistentPositionWithoutException: skips nothing', () => assert.deepEqual(run(AfterMatchSkipStrategy.skipToLast('b')), expected([a, c])));
    it('testSkipToFirstNonExistentPosition: throwExceptionOnMiss fails', () => assert.throws(() => run(AfterMatchSkipStrategy.skipToFirst('b').throwExceptionOnMiss()), /could not skip to "b"/));
    it('testSkipToLastNonExistentPosition: throwExceptionOnMiss fails', () => assert.throws(() => run(AfterMatchSkipStrategy.skipToLast('b').throwExceptionOnMiss()), /could not skip to "b"/));
  });

  it('testSkipToFirstElementOfMatch: fails with throwExceptionOnMiss (it would loop)', () => {
    const pattern = Pattern.begin<Event>('a', AfterMatchSkipStrategy.skipToFirst('a').throwExceptionOnMiss()).where(contains('a'));
    assert.throws(() => matchesOf(pattern, inOrder(event(1, 'a1'))), /first element of a match/);
  });
});

describe('NOT patterns (Flink NotPatternITCase)', () => {
  const [a1, c1, b1, c2, d] = [event(40, 'a', 1), event(41, 'c', 2), event(42, 'b', 3), event(43, 'c', 4), event(43, 'd', 4)];

  it('testNotNext', () => {
    const pattern = Pattern.begin<Event>('start').where(named('a')).notNext('notPattern').where(named('b'))
      .followedByAny('middle').where(named('c')).followedBy('end').where(named('d'));
    assert.deepEqual(matchesOf(pattern, inOrder(a1, c1, b1, c2, d)), expected([a1, c1, d], [a1, c2, d]));
  });

  it('testNotNextNoMatches', () => {
    const pattern = Pattern.begin<Event>('start').where(named('a')).notNext('notPattern').where(named('b'))
      .followedBy('middle').where(named('c')).followedBy('end').where(named('d'));
    assert.deepEqual(matchesOf(pattern, inOrder(a1, b1, c1, c2, d)), []);
  });

  it('testNotNextNoMatchesAtTheEnd', () => {
    const pattern = Pattern.begin<Event>('start').where(named('a')).followedByAny('middle').where(named('c'))
      .followedByAny('end').where(named('d')).notNext('notPattern').where(named('b'));
    assert.deepEqual(matchesOf(pattern, inOrder(a1, c1, c2, d, b1)), []);
  });

  it('testNotFollowedBy', () => {
    const pattern = Pattern.begin<Event>('start').where(named('a')).notFollowedBy('notPattern').where(named('b'))
      .followedByAny('middle').where(named('c')).followedBy('end').where(named('d'));
    assert.deepEqual(matchesOf(pattern, inOrder(a1, c1, b1, c2, d)), expected([a1, c1, d]));
  });

  it('testNotFollowedByBeforeOptional', () => {
    const pattern = Pattern.begin<Event>('start').where(named('a')).notFollowedBy('notPattern').where(named('b'))
      .followedByAny('middle').where(named('c')).optional().followedBy('end').where(named('d'));
    assert.deepEqual(matchesOf(pattern, inOrder(a1, c1, b1, c2, d)), expected([a1, c1, d]));
  });

  it('testTimesWithNotFollowedBy', () => {
    const [x1, y1, c, y2, dd] = [event(40, 'a', 1), event(41, 'b', 2), event(42, 'c', 3), event(43, 'b', 4), event(43, 'd', 4)];
    const pattern = Pattern.begin<Event>('start').where(named('a')).followedByAny('middle').where(named('b')).times(2)
      .notFollowedBy('notPattern').where(named('c')).followedBy('end').where(named('d'));
    assert.deepEqual(matchesOf(pattern, inOrder(x1, y1, c, y2, dd)), []);
  });

  it('testIgnoreStateOfTimesWithNotFollowedBy (records fed out of timestamp order, as in Flink)', () => {
    const [x1, e, z1, y1, z2, d1, d2] = [event(40, 'a', 1), event(41, 'e', 2), event(42, 'c', 3), event(43, 'b', 4), event(44, 'c', 5), event(45, 'd', 6), event(46, 'd', 7)];
    const pattern = Pattern.begin<Event>('start').where(named('a')).notFollowedBy('notPattern').where(named('b'))
      .followedByAny('middle').where(named('c')).times(2).optional().followedBy('end').where(named('d'));
    const records: Array<[Event, number]> = [[x1, 1], [d1, 2], [e, 1], [y1, 3], [z1, 2], [z2, 4], [d2, 5]];
    assert.deepEqual(matchesOf(pattern, records), expected([x1, d1]));
  });

  it('notFollowedBy as the last stage completes when the window closes, and not if the event came', () => {
    const pattern = Pattern.begin<Event>('start').where(named('a')).notFollowedBy('no-b').where(named('b')).within(10);
    const [x1, x2, y] = [event(1, 'a'), event(2, 'a'), event(3, 'b')];
    // a1 at 1 sees no b before 11; a2 at 15 sees b at 20.
    assert.deepEqual(matchesOf(pattern, [[x1, 1], [x2, 15], [y, 20]], { advanceTo: 100 }), expected([x1]));
    assert.throws(() => compileOnly(Pattern.begin<Event>('a').notFollowedBy('b')), /NotFollowedBy is not supported without windowTime/);
  });
});

function compileOnly(pattern: Pattern<Event>): void {
  feedNfa(pattern, []);
}

describe('greedy quantifiers (Flink GreedyITCase)', () => {
  const [c, a1, a2, a3, d] = [event(40, 'c', 1), event(41, 'a', 2), event(42, 'a', 2), event(43, 'a', 2), event(44, 'd', 3)];
  const dummy = () => event(1, 'dummy', 1111);
  const cAd = (quantify: (p: Pattern<Event>) => Pattern<Event>) =>
    quantify(Pattern.begin<Event>('start').where(named('c')).followedBy('middle').where(named('a'))).followedBy('end').where(named('d'));
  const zeroOrMore = cAd((p) => p.oneOrMore().optional().greedy());
  const oneOrMore = cAd((p) => p.oneOrMore().greedy());

  it('testGreedyZeroOrMore', () => assert.deepEqual(matchesOf(zeroOrMore, inOrder(c, a1, a2, a3, d)), expected([c, a1, a2, a3, d])));
  it('testGreedyZeroOrMoreInBetween', () => assert.deepEqual(matchesOf(zeroOrMore, inOrder(c, dummy(), a1, dummy(), a2, dummy(), a3, d)), expected([c, a1, a2, a3, d])));
  it('testGreedyZeroOrMoreWithDummyEventsAfterQuantifier', () => assert.deepEqual(matchesOf(zeroOrMore, inOrder(c, a1, a2, event(43, 'dummy', 2), d)), expected([c, a1, a2, d])));
  it('testGreedyZeroOrMoreWithDummyEventsBeforeQuantifier', () => assert.deepEqual(matchesOf(zeroOrMore, inOrder(c, event(43, 'dummy', 2), d)), expected([c, d])));
  it('testGreedyOneOrMore', () => assert.deepEqual(matchesOf(oneOrMore, inOrder(c, a1, a2, a3, d)), expected([c, a1, a2, a3, d])));
  it('testGreedyOneOrMoreInBetween', () => assert.deepEqual(matchesOf(oneOrMore, inOrder(c, dummy(), a1, dummy(), a2, dummy(), a3, d)), expected([c, a1, a2, a3, d])));
  it('testGreedyOneOrMoreWithDummyEventsAfterQuantifier', () => assert.deepEqual(matchesOf(oneOrMore, inOrder(c, a1, a2, event(43, 'dummy', 2), d)), expected([c, a1, a2, d])));

  describe('with until', () => {
    const until = cAd((p) => p.oneOrMore().optional().greedy().until((e) => e.price > 3));
    const [b1, b2, b3] = [event(41, 'a', 2), event(42, 'a', 3), event(43, 'a', 3)];
    it('testGreedyUntilZeroOrMoreWithDummyEventsAfterQuantifier', () => {
      assert.deepEqual(matchesOf(until, inOrder(c, b1, b2, b3, event(44, 'a', 4), event(45, 'd', 3))), expected([c, b1, b2, b3, event(45, 'd', 3)]));
    });
    it('testGreedyUntilWithDummyEventsBeforeQuantifier', () => {
      assert.deepEqual(matchesOf(until, inOrder(c, event(44, 'a', 4), b1, b2, b3, event(45, 'd', 3))), expected([c, event(45, 'd', 3)]));
    });
  });

  it('without greedy, a looping stage before followedBy gives every prefix (reluctant)', () => {
    assert.deepEqual(matchesOf(cAd((p) => p.oneOrMore()), inOrder(c, a1, a2, d)), expected([c, a1, d], [c, a1, a2, d]));
  });
});

describe('quantifiers and contiguity (Flink NFAITCase and TimesRangeITCase, in substance)', () => {
  const [s, m1, m2, m3, e] = [event(40, 'c', 1), event(41, 'a', 2), event(42, 'a', 3), event(43, 'a', 4), event(44, 'b', 5)];

  it('times(1, 3) after followedBy: the first event is the first candidate, then skip-till-next within the stage', () => {
    const pattern = Pattern.begin<Event>('start').where(named('c')).followedBy('middle').where(named('a')).times(1, 3).followedBy('end').where(named('b'));
    assert.deepEqual(matchesOf(pattern, inOrder(s, m1, m2, m3, e)), expected([s, m1, m2, m3, e], [s, m1, m2, e], [s, m1, e]));
  });

  it('times(1, 3).allowCombinations(): any subset of the later candidates', () => {
    const pattern = Pattern.begin<Event>('start').where(named('c')).followedBy('middle').where(named('a')).times(1, 3).allowCombinations().followedBy('end').where(named('b'));
    assert.deepEqual(matchesOf(pattern, inOrder(s, m1, m2, m3, e)), expected([s, m1, m2, m3, e], [s, m1, m2, e], [s, m1, m3, e], [s, m1, e]));
  });

  it('testTimesRangeNonStrictOptional: times(0, 2) may be skipped', () => {
    const pattern = Pattern.begin<Event>('start').where(named('c')).followedByAny('middle').where(named('a')).times(0, 2).followedBy('end').where(named('b'));
    assert.deepEqual(matchesOf(pattern, inOrder(s, m1, m2, e)), expected([s, m1, m2, e], [s, m1, e], [s, m2, e], [s, e]));
  });

  it('followedByAny with oneOrMore: the stage may start at any candidate; consecutive stops a run at the first other event', () => {
    const dummy = event(50, 'x');
    const any = Pattern.begin<Event>('start').where(named('c')).followedByAny('middle').where(named('a')).oneOrMore().followedBy('end').where(named('b'));
    assert.deepEqual(
      matchesOf(any, inOrder(s, m1, dummy, m2, m3, e)),
      expected([s, m1, m2, m3, e], [s, m1, m2, e], [s, m1, e], [s, m2, m3, e], [s, m2, e], [s, m3, e]),
    );
    const consecutive = Pattern.begin<Event>('start').where(named('c')).followedByAny('middle').where(named('a')).oneOrMore().consecutive().followedBy('end').where(named('b'));
    assert.deepEqual(matchesOf(consecutive, inOrder(s, m1, dummy, m2, m3, e)), expected([s, m1, e], [s, m2, m3, e], [s, m2, e], [s, m3, e]));
  });

  it('testStrictContinuity: next needs the very next event', () => {
    const pattern = Pattern.begin<Event>('start').where(named('a')).next('end').where(named('b'));
    const [x1, y1, x2, z, y2] = [event(1, 'a'), event(2, 'b'), event(3, 'a'), event(4, 'c'), event(5, 'b')];
    assert.deepEqual(matchesOf(pattern, inOrder(x1, y1, x2, z, y2)), expected([x1, y1]));
  });

  it('testBranchingPattern: followedByAny branches on every candidate, followedBy on the first', () => {
    const [st, m1b, m2b, n1, n2, n3, ee] = [event(40, 'start'), event(41, 'foo1'), event(42, 'foo2'), event(43, 'bar'), event(44, 'bar'), event(45, 'bar'), event(46, 'end')];
    const pattern = Pattern.begin<Event>('start').where(named('start'))
      .followedByAny('middle-first').where(contains('foo'))
      .followedBy('middle-second').where(named('bar'))
      .followedByAny('end').where(named('end'));
    assert.deepEqual(matchesOf(pattern, inOrder(st, m1b, m2b, n1, n2, n3, ee)), expected([st, m1b, n1, ee], [st, m2b, n1, ee]));
  });

  it('optional stage in the middle and at the start', () => {
    const [x, y, z] = [event(1, 'a'), event(2, 'b'), event(3, 'c')];
    const middle = Pattern.begin<Event>('a').where(named('a')).next('b').where(named('b')).optional().next('c').where(named('c'));
    assert.deepEqual(matchesOf(middle, inOrder(x, y, z)), expected([x, y, z]));
    assert.deepEqual(matchesOf(middle, inOrder(x, z)), expected([x, z]));
    const first = Pattern.begin<Event>('a').where(named('a')).optional().next('b').where(named('b'));
    assert.deepEqual(matchesOf(first, inOrder(x, y, y)), expected([x, y], [y], [y]));
  });
});

describe('until (Flink UntilConditionITCase, in substance)', () => {
  it('a looping stage takes no event at or after the first one that satisfies until', () => {
    const [c, a1, a2, stop, a3, d] = [event(1, 'c'), event(2, 'a', 1), event(3, 'a', 1), event(4, 'a', 9), event(5, 'a', 1), event(6, 'd')];
    const loop = (middle: (p: Pattern<Event>, name: string) => Pattern<Event>) =>
      middle(Pattern.begin<Event>('start').where(named('c')), 'middle').where(named('a')).oneOrMore().until((e) => e.price > 5).followedBy('end').where(named('d'));
    // followedBy: the loop starts at the first candidate and ends at the stop event.
    assert.deepEqual(matchesOf(loop((p, n) => p.followedBy(n)), inOrder(c, a1, a2, stop, a3, d)), expected([c, a1, a2, d], [c, a1, d]));
    // followedByAny: a loop may also start after the stop event (never at it).
    assert.deepEqual(matchesOf(loop((p, n) => p.followedByAny(n)), inOrder(c, a1, a2, stop, a3, d)), expected([c, a1, a2, d], [c, a1, d], [c, a2, d], [c, a3, d]));
  });

  it('refuses until on a stage that does not loop', () => {
    assert.throws(() => Pattern.begin<Event>('a').times(2).until(() => true), /only applicable to looping states/);
  });
});

describe('within: windows and timed-out partial matches', () => {
  const pattern = () => Pattern.begin<Event>('start').where(named('a')).followedBy('end').where(named('b')).within(10);

  it('a match must end less than the window after its first event (Flink: timestamp - start >= window times out)', () => {
    const [x1, x2, y] = [event(1, 'a'), event(2, 'a'), event(3, 'b')];
    assert.deepEqual(matchesOf(pattern(), [[x1, 0], [x2, 5], [y, 10]]), expected([x2, y]));
  });

  it('timed-out partial matches come out with their events and the end of their window', () => {
    const [x1, x2, y] = [event(1, 'a'), event(2, 'a'), event(3, 'b')];
    const run = feedNfa(pattern(), [[x1, 0], [x2, 5], [y, 10]], { handleTimeout: true, advanceTo: 100 });
    assert.deepEqual(run.timedOut.map((t) => [flatten(t.match).map(label).join(' '), t.timestamp]), [['a1', 10]]);
    // a2's partial match ended in a match, so nothing of it times out later.
    assert.equal(run.state.partialMatches.length, 1, 'only the start state is left');
  });

  it('the shortest within of all stages applies', () => {
    const p = Pattern.begin<Event>('start').where(named('a')).within(100).followedBy('end').where(named('b')).within(5);
    assert.deepEqual(matchesOf(p, [[event(1, 'a'), 0], [event(2, 'b'), 6]]), []);
  });
});

describe('iterative conditions (Flink IterativeConditionsITCase, in substance)', () => {
  it('a condition sees the events already taken into a stage', () => {
    // Rising prices: each middle event costs more than every one before it in the stage.
    const rising = (e: Event, ctx: ConditionContext<Event>) => e.name === 'a' && ctx.getEventsForPattern('middle').every((m) => m.price < e.price);
    const pattern = Pattern.begin<Event>('start').where(named('c')).followedBy('middle').where(rising).oneOrMore().consecutive().next('end').where(named('b'));
    const [c, a1, a2, a3, b] = [event(1, 'c'), event(2, 'a', 1), event(3, 'a', 5), event(4, 'a', 3), event(5, 'b')];
    // a1 a2 then a3 (3 < 5): the run cannot take a3, and `next('end')` needs b right after it.
    assert.deepEqual(matchesOf(pattern, inOrder(c, a1, a2, a3, b)), []);
    assert.deepEqual(matchesOf(pattern, inOrder(c, a1, a2, b)), expected([c, a1, a2, b]));
    assert.deepEqual(matchesOf(pattern, inOrder(c, a2, a1, b)), [], 'falling prices end the run before b');
  });

  it('the context gives the event time; conditions may be objects with filter', () => {
    const seen: number[] = [];
    const pattern = Pattern.begin<Event>('start').where({ filter: (e: Event, ctx: ConditionContext<Event>) => (seen.push(ctx.timestamp()), e.name === 'a') });
    assert.deepEqual(matchesOf(pattern, [[event(1, 'a'), 7], [event(2, 'x'), 9]]), expected([event(1, 'a')]));
    assert.deepEqual(seen, [7, 9]);
  });
});

describe('the pattern API refuses what Flink refuses', () => {
  it('duplicate names, unknown skip targets, quantifiers on NOT stages, optional before NOT, greedy on followedByAny combinations', () => {
    assert.throws(() => compileOnly(Pattern.begin<Event>('a').next('a')), /Duplicate pattern name: a/);
    assert.throws(() => compileOnly(Pattern.begin<Event>('a', AfterMatchSkipStrategy.skipToFirst('zzz')).next('b')), /can not be found/);
    assert.throws(() => Pattern.begin<Event>('a').notNext('b').oneOrMore(), /Option not applicable to NOT pattern/);
    assert.throws(() => Pattern.begin<Event>('a').notFollowedBy('b').optional(), /NOT pattern cannot be optional/);
    assert.throws(() => Pattern.begin<Event>('a').optional().notNext('b'), /optional path to NOT condition/);
    assert.throws(() => Pattern.begin<Event>('a').oneOrMore().times(2), /Already applied quantifier/);
    assert.throws(() => Pattern.begin<Event>('a').greedy(), /singleton quantifier/);
    assert.throws(() => Pattern.begin<Event>('a').oneOrMore().allowCombinations().greedy(), /FollowedByAny/);
    assert.throws(() => Pattern.begin<Event>('a').oneOrMore().consecutive().allowCombinations(), /either combinations or consecutive/);
    assert.throws(() => Pattern.begin<Event>('a').oneOrMore().greedy().next('b').optional(), /preceded by greedy/);
    assert.throws(() => Pattern.begin<Event>('a').times(0), MalformedPatternError);
    assert.throws(() => Pattern.begin<Event>('a').within(0), /positive number of milliseconds/);
  });
});
