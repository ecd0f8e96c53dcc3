// What happens to the other partial matches once a match is emitted: Flink's
// AfterMatchSkipStrategy. The NFA compares events by the order it processed them (event time,
// then arrival), which is what Flink's EventId order is.
//
//   noSkip              every match is emitted
//   skipToNext          drop partial matches that started with the match's first event
//   skipPastLastEvent   drop partial matches that started at or before the match's last event
//   skipToFirst(name)   drop partial matches that started before the first event of stage `name`
//   skipToLast(name)    drop partial matches that started before the last event of stage `name`

import { MalformedPatternError } from './pattern-errors.ts';

export type SkipStrategyKind = 'no-skip' | 'skip-to-next' | 'skip-past-last-event' | 'skip-to-first' | 'skip-to-last';

/** A match as the skip strategy sees it: the ids of its events per stage, in processing order. */
export type MatchedEventIds = ReadonlyMap<string, readonly number[]>;

export class AfterMatchSkipStrategy {
  private constructor(
    readonly kind: SkipStrategyKind,
    /** The stage skipToFirst/skipToLast skip to. */
    readonly patternName: string | undefined,
    /** skipToFirst/skipToLast: fail when the match has no such stage, or when it would skip to the match's own start. */
    readonly throwsOnMiss: boolean,
  ) {}

  static noSkip(): AfterMatchSkipStrategy {
    return new AfterMatchSkipStrategy('no-skip', undefined, false);
  }

  static skipToNext(): AfterMatchSkipStrategy {
    return new AfterMatchSkipStrategy('skip-to-next', undefined, false);
  }

  static skipPastLastEvent(): AfterMatchSkipStrategy {
    return new AfterMatchSkipStrategy('skip-past-last-event', undefined, false);
  }

  static skipToFirst(patternName: string): AfterMatchSkipStrategy {
    return new AfterMatchSkipStrategy('skip-to-first', checkName(patternName), false);
  }

  static skipToLast(patternName: string): AfterMatchSkipStrategy {
    return new AfterMatchSkipStrategy('skip-to-last', checkName(patternName), false);
  }

  /**
   * Flink's throwExceptionOnMiss: a match without the named stage fails the job instead of
   * skipping nothing, and so does a skip to the match's own first event (which would loop).
   */
  throwExceptionOnMiss(): AfterMatchSkipStrategy {
    if (this.kind !== 'skip-to-first' && this.kind !== 'skip-to-last') {
      throw new MalformedPatternError(`throwExceptionOnMiss applies to skipToFirst and skipToLast, not to ${this.kind}`);
    }
    return new AfterMatchSkipStrategy(this.kind, this.patternName, true);
  }

  /** Whether matches wait for earlier partial matches (every strategy but noSkip). */
  isSkipStrategy(): boolean {
    return this.kind !== 'no-skip';
  }

  /** The event partial matches are pruned against after `match`, or undefined to prune none. */
  pruningEventId(match: MatchedEventIds): number | undefined {
    const all = [...match.values()].flat();
    switch (this.kind) {
      case 'no-skip':
        return undefined;
      case 'skip-to-next':
        return Math.min(...all);
      case 'skip-past-last-event':
        return Math.max(...all);
      case 'skip-to-first':
      case 'skip-to-last': {
        const stage = match.get(this.patternName!);
        if (stage === undefined || stage.length === 0) {
          if (this.throwsOnMiss) throw new MalformedPatternError(`could not skip to "${this.patternName}": the match has no such event`);
          return undefined;
        }
        const target = this.kind === 'skip-to-first' ? stage[0]! : stage[stage.length - 1]!;
        if (this.throwsOnMiss && target === Math.min(...all)) throw new MalformedPatternError('could not skip to the first element of a match');
        return target;
      }
    }
  }

  /** Whether a partial match that started with `startEventId` is dropped, given the pruning event. */
  shouldPrune(startEventId: number, pruningEventId: number): boolean {
    // Skipping to a named stage keeps the partial match that starts at that event itself.
    return this.kind === 'skip-to-first' || this.kind === 'skip-to-last' ? startEventId < pruningEventId : startEventId <= pruningEventId;
  }

  toString(): string {
    return this.patternName === undefined ? this.kind : `${this.kind}(${this.patternName})`;
  }
}

function checkName(name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new MalformedPatternError('a skip strategy needs the name of a pattern stage');
  return name;
}
