// The NFA that runs a compiled pattern over one key's events, as Flink's NFA: `process` feeds an
// event to every partial match (each may take it, ignore it, branch, reach the final state or a
// stop state), `advanceTime` drops partial matches older than the pattern's window (handing them
// out as timed out) and completes notFollowedBy matches whose window closed. Completed matches
// go through the after-match skip strategy: with one other than noSkip, a match waits until no
// partial match that started earlier is left, then prunes the others (Flink's
// processMatchesAccordingToSkipStrategy).
//
// The NFA keeps nothing itself: its state is an NfaState of plain data the caller stores (keyed
// state in the CEP operator), and the events live in a SharedBuffer. Event ids grow in the order
// events are processed, which the operator makes event-time order, so comparing ids compares
// (timestamp, arrival) as Flink's EventId does.

import type { ConditionContext } from '../api/cep/conditions.ts';
import type { MatchedEventIds } from '../api/cep/skip-strategy.ts';
import type { CompiledPattern, NfaNode, StateTransition } from './nfa-compiler.ts';
import { eventIdsOf, type SharedBuffer } from './shared-buffer.ts';

/** One partial match: where it stands in the NFA and the events it took (Flink's ComputationState). */
export interface ComputationState {
  /** The NFA node it is in. */
  readonly stateName: string;
  /** (stage, event id) for every event taken, oldest first. */
  readonly path: ReadonlyArray<readonly [stage: string, eventId: number]>;
  /** The timestamp of its first event; the window is measured from it. */
  readonly startTimestamp: number;
  /** Its first event; null for the start state, which has taken nothing. */
  readonly startEventId: number | null;
}

/** Everything the NFA keeps for one key, as plain data (Flink's NFAState). Replaced, never mutated in place. */
export interface NfaState {
  readonly partialMatches: readonly ComputationState[];
  /** Matches that wait for earlier partial matches before the skip strategy lets them out. */
  readonly completedMatches: readonly ComputationState[];
  /** The id the next event taken gets. */
  readonly nextEventId: number;
}

export interface TimedOutMatch {
  readonly match: MatchedEventIds;
  /** When it timed out: its first event's timestamp plus the window. */
  readonly timestamp: number;
}

export class Nfa<T> {
  private readonly windowTimeMs: number;

  constructor(
    private readonly pattern: CompiledPattern<T>,
    /** Whether timed-out partial matches are handed out (the function handles them) or just dropped. */
    private readonly handleTimeout: boolean,
  ) {
    this.windowTimeMs = pattern.windowTimeMs;
  }

  /** The pattern's window (`within`), 0 if it has none. */
  get windowMs(): number {
    return this.windowTimeMs;
  }

  createInitialState(): NfaState {
    const start: ComputationState = { stateName: this.pattern.startState.name, path: [], startTimestamp: -1, startEventId: null };
    return { partialMatches: [start], completedMatches: [], nextEventId: 0 };
  }

  /** Whether the state holds nothing but the start state (nothing to store for the key). */
  isEmpty(state: NfaState): boolean {
    return state.completedMatches.length === 0 && state.partialMatches.every((cs) => this.node(cs).isStart);
  }

  /** Feeds one event; returns the new state and the matches it completed, in the order of their first events. */
  process(buffer: SharedBuffer<T>, state: NfaState, event: T, timestamp: number, processingTimeMs: () => number): { state: NfaState; matches: MatchedEventIds[] } {
    let nextEventId = state.nextEventId;
    let eventId: number | undefined;
    // Flink registers an event in the buffer only once some partial match takes it.
    const takeEvent = (): number => {
      if (eventId === undefined) {
        eventId = nextEventId++;
        buffer.register(eventId, event, timestamp);
      }
      return eventId;
    };

    const newPartialMatches: ComputationState[] = [];
    const potentialMatches: ComputationState[] = [];
    for (const computationState of state.partialMatches) {
      const next = this.computeNextStates(buffer, computationState, event, timestamp, takeEvent, processingTimeMs);
      const retained: ComputationState[] = [];
      let reachedStop = false;
      for (const nextState of next) {
        const node = this.node(nextState);
        if (node.isFinal) potentialMatches.push(nextState);
        else if (node.isStop) reachedStop = true;
        else retained.push(nextState);
      }
      // A stop state ends this branch: the NOT stage saw its event.
      if (!reachedStop) newPartialMatches.push(...retained);
    }
    // Flink leaves the order of matches that start and end with the same events open; here they
    // come in the order of their events, so which one a skip strategy keeps is deterministic.
    potentialMatches.sort((a, b) => this.comparePaths(a, b));
    return this.processMatchesAccordingToSkipStrategy({ ...state, nextEventId }, sortByStart(potentialMatches), sortByStart(newPartialMatches));
  }

  /**
   * No event earlier than `timestamp` will come: partial matches whose window ended are dropped
   * (returned as timed out if the function handles them), pending notFollowedBy matches complete.
   */
  advanceTime(state: NfaState, timestamp: number): { state: NfaState; matches: MatchedEventIds[]; timedOut: TimedOutMatch[] } {
    const timedOut: TimedOutMatch[] = [];
    const newPartialMatches: ComputationState[] = [];
    const potentialMatches: ComputationState[] = [];
    for (const computationState of state.partialMatches) {
      if (!this.isTimedOut(computationState, timestamp)) {
        newPartialMatches.push(computationState);
      } else if (this.node(computationState).isPending) {
        potentialMatches.push(computationState);
      } else if (this.handleTimeout) {
        timedOut.push({ match: eventIdsOf(computationState), timestamp: computationState.startTimestamp + this.windowTimeMs });
      }
    }
    const result = this.processMatchesAccordingToSkipStrategy(state, sortByStart(potentialMatches), newPartialMatches);
    return { ...result, timedOut };
  }

  private isTimedOut(computationState: ComputationState, timestamp: number): boolean {
    return !this.node(computationState).isStart && this.windowTimeMs > 0 && timestamp - computationState.startTimestamp >= this.windowTimeMs;
  }

  private processMatchesAccordingToSkipStrategy(
    state: NfaState,
    potentialMatches: readonly ComputationState[],
    partialMatchesIn: readonly ComputationState[],
  ): { state: NfaState; matches: MatchedEventIds[] } {
    const skipStrategy = this.pattern.skipStrategy;
    let completed = sortByStart([...state.completedMatches, ...potentialMatches]);
    let partialMatches = partialMatchesIn;
    const matches: MatchedEventIds[] = [];
    while (completed.length > 0) {
      const earliestMatch = completed[0]!;
      // With a skip strategy, a match waits for the partial matches that started before it:
      // one of them may complete first and prune it.
      if (skipStrategy.isSkipStrategy() && partialMatches.length > 0 && startOrder(earliestMatch) > startOrder(partialMatches[0]!)) break;
      completed = completed.slice(1);
      const match = eventIdsOf(earliestMatch);
      const pruningId = skipStrategy.pruningEventId(match);
      if (pruningId !== undefined) {
        const keep = (cs: ComputationState) => cs.startEventId === null || !skipStrategy.shouldPrune(cs.startEventId, pruningId);
        partialMatches = partialMatches.filter(keep);
        completed = completed.filter(keep);
      }
      matches.push(match);
    }
    return { state: { partialMatches, completedMatches: completed, nextEventId: state.nextEventId }, matches };
  }

  /**
   * The states one partial match moves to on `event`: along every IGNORE and TAKE edge whose
   * condition holds (after following PROCEED edges), plus the final state where a TAKE can
   * proceed to it, plus the start state itself, which always stays.
   */
  private computeNextStates(
    buffer: SharedBuffer<T>,
    computationState: ComputationState,
    event: T,
    timestamp: number,
    takeEvent: () => number,
    processingTimeMs: () => number,
  ): ComputationState[] {
    const context = this.conditionContext(buffer, computationState, timestamp, processingTimeMs);
    const current = this.node(computationState);
    const result: ComputationState[] = [];
    for (const edge of this.outgoingEdges(context, current, event)) {
      if (edge.action === 'ignore') {
        // The start state does not ignore: it stays anyway, below.
        if (!current.isStart) result.push({ ...computationState, stateName: edge.target.name });
        continue;
      }
      const eventId = takeEvent();
      const path = [...computationState.path, [edge.source.patternName, eventId] as const];
      const startTimestamp = current.isStart ? timestamp : computationState.startTimestamp;
      const startEventId = current.isStart ? eventId : computationState.startEventId;
      result.push({ stateName: edge.target.name, path, startTimestamp, startEventId });
      // Where the rest of the pattern is optional, taking this event already completes a match.
      const finalNode = this.findFinalStateAfterProceed(context, edge.target, event);
      if (finalNode !== undefined) result.push({ stateName: finalNode.name, path, startTimestamp, startEventId });
    }
    if (current.isStart) result.push(computationState);
    return result;
  }

  /** The TAKE and IGNORE edges open to `event` from `node`, through any PROCEED edges whose conditions hold. */
  private outgoingEdges(context: ConditionContext<T>, node: NfaNode<T>, event: T): StateTransition<T>[] {
    const edges: StateTransition<T>[] = [];
    const toVisit = [node];
    while (toVisit.length > 0) {
      const visiting = toVisit.pop()!;
      for (const transition of visiting.transitions) {
        if (transition.condition !== undefined && !transition.condition(event, context)) continue;
        if (transition.action === 'proceed') toVisit.push(transition.target);
        else edges.push(transition);
      }
    }
    return edges;
  }

  private findFinalStateAfterProceed(context: ConditionContext<T>, node: NfaNode<T>, event: T): NfaNode<T> | undefined {
    const toVisit = [node];
    while (toVisit.length > 0) {
      const visiting = toVisit.pop()!;
      for (const transition of visiting.transitions) {
        if (transition.action !== 'proceed') continue;
        if (transition.condition !== undefined && !transition.condition(event, context)) continue;
        if (transition.target.isFinal) return transition.target;
        toVisit.push(transition.target);
      }
    }
    return undefined;
  }

  /** What a condition sees of the partial match it would extend; its events are read once, when first asked for. */
  private conditionContext(buffer: SharedBuffer<T>, computationState: ComputationState, timestamp: number, processingTimeMs: () => number): ConditionContext<T> {
    let matchedEvents: Map<string, T[]> | undefined;
    return {
      getEventsForPattern: (name: string) => {
        matchedEvents ??= buffer.materialize(eventIdsOf(computationState));
        return matchedEvents.get(name) ?? [];
      },
      timestamp: () => timestamp,
      currentProcessingTime: processingTimeMs,
    };
  }

  /** By their events, then (same events in other stages) by the stages, earlier stages first. */
  private comparePaths(a: ComputationState, b: ComputationState): number {
    const length = Math.min(a.path.length, b.path.length);
    for (let i = 0; i < length; i++) {
      const difference = a.path[i]![1] - b.path[i]![1];
      if (difference !== 0) return difference;
    }
    if (a.path.length !== b.path.length) return a.path.length - b.path.length;
    const stages = this.pattern.stageNames;
    for (let i = 0; i < length; i++) {
      const difference = stages.indexOf(a.path[i]![0]) - stages.indexOf(b.path[i]![0]);
      if (difference !== 0) return difference;
    }
    return 0;
  }

  private node(computationState: ComputationState): NfaNode<T> {
    const node = this.pattern.states.get(computationState.stateName);
    if (node === undefined) {
      throw new Error(`CEP: a stored partial match is in NFA state "${computationState.stateName}", which this pattern does not have (was the pattern changed since the checkpoint?); states: ${[...this.pattern.states.keys()].join(', ')}`);
    }
    return node;
  }
}

/** Partial matches in the order of their first events; the start state (no first event) last. */
function startOrder(computationState: ComputationState): number {
  return computationState.startEventId ?? Number.POSITIVE_INFINITY;
}

/** Stable: partial matches with the same first event keep their order. */
function sortByStart(states: ComputationState[]): ComputationState[] {
  return states.sort((a, b) => {
    const [x, y] = [startOrder(a), startOrder(b)];
    return x < y ? -1 : x > y ? 1 : 0;
  });
}
