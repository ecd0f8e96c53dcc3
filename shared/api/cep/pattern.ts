// The pattern API of Flink CEP: a chain of named stages, each with a condition, a contiguity to
// the stage before it (next, followedBy, followedByAny, notNext, notFollowedBy) and a quantifier
// (one, times, oneOrMore, optional, greedy, …). As in Flink, the builder methods change the
// stage they are called on and return it; `next(name)` and friends start a new stage. Misuse is
// refused where Flink refuses it, with Flink's messages.
//
//   Pattern.begin<Login>('fails').where((l) => !l.ok).times(3).consecutive()
//     .next('success').where((l) => l.ok)
//     .within(Time.seconds(10));
//
// `subtype(Class)` is not offered: events are plain values at run time; a condition tests the type.

import { andCondition, orCondition, toConditionFunction, type Condition, type ConditionFunction } from './conditions.ts';
import { MalformedPatternError } from './pattern-errors.ts';
import { AfterMatchSkipStrategy } from './skip-strategy.ts';

/** How a stage's events relate to the events before them (Flink's Quantifier.ConsumingStrategy). */
export type ConsumingStrategy = 'strict' | 'skip-till-next' | 'skip-till-any' | 'not-follow' | 'not-next';

export type QuantifierProperty = 'single' | 'looping' | 'times' | 'optional' | 'greedy';

/** Flink's Quantifier: how often a stage occurs and how its own events relate to each other. */
export class Quantifier {
  private readonly properties: Set<QuantifierProperty>;
  private inner: ConsumingStrategy = 'skip-till-next';

  constructor(readonly consumingStrategy: ConsumingStrategy, kind: 'single' | 'looping' | 'times') {
    this.properties = new Set([kind]);
  }

  hasProperty(property: QuantifierProperty): boolean {
    return this.properties.has(property);
  }

  /** Between the events of a looping or times stage: skip-till-next by default. */
  get innerConsumingStrategy(): ConsumingStrategy {
    return this.inner;
  }

  combinations(): void {
    check(!this.hasProperty('single'), `Combinations not applicable to ${this}!`);
    check(this.inner !== 'strict', 'You can apply either combinations or consecutive, not both!');
    check(this.inner !== 'skip-till-any', 'Combinations already applied!');
    this.inner = 'skip-till-any';
  }

  consecutive(): void {
    check(this.hasProperty('looping') || this.hasProperty('times'), `Consecutive not applicable to ${this}!`);
    check(this.inner !== 'skip-till-any', 'You can apply either combinations or consecutive, not both!');
    check(this.inner !== 'strict', 'Consecutive already applied!');
    this.inner = 'strict';
  }

  optional(): void {
    check(!this.hasProperty('optional'), 'Optional already applied!');
    check(this.consumingStrategy !== 'not-next' && this.consumingStrategy !== 'not-follow', 'NOT pattern cannot be optional');
    this.properties.add('optional');
  }

  greedy(): void {
    check(this.inner !== 'skip-till-any', 'Option not applicable to FollowedByAny pattern');
    check(!this.hasProperty('single'), 'Option not applicable to singleton quantifier');
    this.properties.add('greedy');
  }

  toString(): string {
    return `Quantifier{properties=[${[...this.properties].join(', ')}], consumingStrategy=${this.consumingStrategy}, innerConsumingStrategy=${this.inner}}`;
  }
}

/** How many events a times/looping stage takes at least and at most (Infinity for oneOrMore). */
export interface Times {
  readonly from: number;
  readonly to: number;
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new MalformedPatternError(message);
}

export class Pattern<T> {
  private condition: ConditionFunction<T> | undefined;
  private untilCondition: ConditionFunction<T> | undefined;
  private windowTimeMs: number | undefined;
  private quantifier: Quantifier;
  private timesRange: Times | undefined;

  private constructor(
    readonly name: string,
    readonly previous: Pattern<T> | undefined,
    consumingStrategy: ConsumingStrategy,
    readonly afterMatchSkipStrategy: AfterMatchSkipStrategy,
  ) {
    if (typeof name !== 'string' || name.length === 0) throw new MalformedPatternError('a pattern stage needs a non-empty name');
    this.quantifier = new Quantifier(consumingStrategy, 'single');
  }

  /** Starts a pattern with its first stage; matches are followed by `skipStrategy` (noSkip by default). */
  static begin<T>(name: string, skipStrategy: AfterMatchSkipStrategy = AfterMatchSkipStrategy.noSkip()): Pattern<T> {
    if (!(skipStrategy instanceof AfterMatchSkipStrategy)) throw new MalformedPatternError('Pattern.begin takes an AfterMatchSkipStrategy, e.g. AfterMatchSkipStrategy.skipPastLastEvent()');
    return new Pattern<T>(name, undefined, 'strict', skipStrategy);
  }

  /** An event must satisfy this condition too (AND with the conditions before). */
  where(condition: Condition<T>): this {
    const fn = toConditionFunction(condition, `where on "${this.name}"`);
    this.condition = this.condition === undefined ? fn : andCondition(this.condition, fn);
    return this;
  }

  /** An event may satisfy this condition instead (OR with the conditions before). */
  or(condition: Condition<T>): this {
    const fn = toConditionFunction(condition, `or on "${this.name}"`);
    this.condition = this.condition === undefined ? fn : orCondition(this.condition, fn);
    return this;
  }

  /** A looping stage stops taking events at the first event that satisfies this condition. */
  until(condition: Condition<T>): this {
    const fn = toConditionFunction(condition, `until on "${this.name}"`);
    check(this.untilCondition === undefined, 'Only one until condition can be applied.');
    check(this.quantifier.hasProperty('looping'), 'The until condition is only applicable to looping states.');
    this.untilCondition = fn;
    return this;
  }

  /**
   * A match must complete within `windowMs` of event time from its first event; partial matches
   * older than that are dropped, or given to a TimedOutPartialMatchHandler. With several, the
   * shortest applies.
   */
  within(windowMs: number): this {
    if (!Number.isFinite(windowMs) || windowMs <= 0) throw new MalformedPatternError(`within takes a positive number of milliseconds, got ${windowMs}`);
    this.windowTimeMs = windowMs;
    return this;
  }

  /** A new stage whose event must come right after the previous stage's (strict contiguity). */
  next(name: string): Pattern<T> {
    return new Pattern<T>(name, this, 'strict', this.afterMatchSkipStrategy);
  }

  /** A new stage: the event right after the previous stage's must not satisfy its condition. */
  notNext(name: string): Pattern<T> {
    this.checkNoOptionalPathToNot();
    return new Pattern<T>(name, this, 'not-next', this.afterMatchSkipStrategy);
  }

  /** A new stage whose event comes later, non-matching events in between ignored (relaxed contiguity). */
  followedBy(name: string): Pattern<T> {
    return new Pattern<T>(name, this, 'skip-till-next', this.afterMatchSkipStrategy);
  }

  /**
   * A new stage: no event satisfying its condition between the previous stage and the next. As
   * the last stage it needs `within`: the match completes when the window ends with no such event.
   */
  notFollowedBy(name: string): Pattern<T> {
    this.checkNoOptionalPathToNot();
    return new Pattern<T>(name, this, 'not-follow', this.afterMatchSkipStrategy);
  }

  /** A new stage that may take any later matching event, each choice a match of its own (non-deterministic relaxed contiguity). */
  followedByAny(name: string): Pattern<T> {
    return new Pattern<T>(name, this, 'skip-till-any', this.afterMatchSkipStrategy);
  }

  optional(): this {
    if (this.previous?.quantifier.hasProperty('greedy')) throw new MalformedPatternError('Optional pattern cannot be preceded by greedy pattern');
    this.quantifier.optional();
    return this;
  }

  oneOrMore(): this {
    return this.timesOrMore(1);
  }

  /** At least `times` events, as many more as come. */
  timesOrMore(times: number): this {
    this.checkNoNotPattern();
    this.checkNoQuantifierApplied();
    checkCount(times);
    this.quantifier = new Quantifier(this.quantifier.consumingStrategy, 'looping');
    this.timesRange = { from: times, to: Number.POSITIVE_INFINITY };
    return this;
  }

  /** Exactly `times` events, or between `from` and `to` (`times(0, n)` is optional). */
  times(times: number): this;
  times(from: number, to: number): this;
  times(from: number, to?: number): this {
    this.checkNoNotPattern();
    this.checkNoQuantifierApplied();
    const optional = to !== undefined && from === 0;
    const lower = optional ? 1 : from;
    const upper = to ?? from;
    checkCount(lower);
    if (!Number.isInteger(upper) || upper < lower) throw new MalformedPatternError(`The to should be a number greater than or equal to from: ${lower}.`);
    this.quantifier = new Quantifier(this.quantifier.consumingStrategy, 'times');
    if (optional) this.quantifier.optional();
    this.timesRange = { from: lower, to: upper };
    return this;
  }

  /** Take as many events as possible into this looping or times stage before moving on. */
  greedy(): this {
    this.checkNoNotPattern();
    this.quantifier.greedy();
    return this;
  }

  /** A looping or times stage's events must follow each other directly. */
  consecutive(): this {
    this.quantifier.consecutive();
    return this;
  }

  /** A looping or times stage may take any combination of its matching events (skip-till-any). */
  allowCombinations(): this {
    this.quantifier.combinations();
    return this;
  }

  getName(): string {
    return this.name;
  }

  getPrevious(): Pattern<T> | undefined {
    return this.previous;
  }

  getQuantifier(): Quantifier {
    return this.quantifier;
  }

  getTimes(): Times | undefined {
    return this.timesRange;
  }

  /** The stage's condition, or undefined when it takes any event. */
  getCondition(): ConditionFunction<T> | undefined {
    return this.condition;
  }

  getUntilCondition(): ConditionFunction<T> | undefined {
    return this.untilCondition;
  }

  getWindowTimeMs(): number | undefined {
    return this.windowTimeMs;
  }

  getAfterMatchSkipStrategy(): AfterMatchSkipStrategy {
    return this.afterMatchSkipStrategy;
  }

  private checkNoOptionalPathToNot(): void {
    if (this.quantifier.hasProperty('optional')) {
      throw new MalformedPatternError(
        'Specifying a pattern with an optional path to NOT condition is not supported yet. ' +
          'You can simulate such pattern with two independent patterns, one with and the other without the optional part.',
      );
    }
  }

  private checkNoNotPattern(): void {
    const strategy = this.quantifier.consumingStrategy;
    check(strategy !== 'not-follow' && strategy !== 'not-next', 'Option not applicable to NOT pattern');
  }

  private checkNoQuantifierApplied(): void {
    check(this.quantifier.hasProperty('single'), `Already applied quantifier to this Pattern. Current quantifier is: ${this.quantifier}`);
  }
}

function checkCount(times: number): void {
  if (!Number.isInteger(times) || times < 1) throw new MalformedPatternError(`You should give a positive number greater than 0, got ${times}.`);
}
