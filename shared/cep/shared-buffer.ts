// The events partial matches refer to, per key: Flink's SharedBuffer, simplified. Flink shares
// the prefixes of partial matches in a versioned graph; here each partial match carries its own
// path of (stage, event id) pairs, small and plain enough for any state backend, and the events
// themselves are stored once, in a table keyed by event id. An event is kept while some partial
// or completed match refers to it: after each batch of work the buffer drops the events no match
// refers to any more and stores the new ones that are still referred to.

import type { ComputationState, NfaState } from './nfa.ts';
import type { MatchedEventIds } from '../api/cep/skip-strategy.ts';

export interface StoredEvent<T> {
  readonly event: T;
  readonly timestamp: number;
}

/** Where the events live: a MapState in the operator, a Map in unit tests. */
export interface EventTable<T> {
  get(eventId: number): StoredEvent<T> | undefined;
  put(eventId: number, event: StoredEvent<T>): void;
  remove(eventId: number): void;
}

export class SharedBuffer<T> {
  /** Events registered in this batch, written at flush if still referred to. */
  private readonly registered = new Map<number, StoredEvent<T>>();
  private readonly readCache = new Map<number, StoredEvent<T>>();
  private readonly referencedBefore: Set<number>;

  constructor(private readonly table: EventTable<T>, state: NfaState) {
    this.referencedBefore = referencedEventIds(state);
  }

  register(eventId: number, event: T, timestamp: number): void {
    this.registered.set(eventId, { event, timestamp });
  }

  event(eventId: number): T {
    let stored = this.registered.get(eventId) ?? this.readCache.get(eventId);
    if (stored === undefined) {
      stored = this.table.get(eventId);
      if (stored === undefined) throw new Error(`CEP shared buffer: event ${eventId} is referred to by a partial match but is not stored`);
      this.readCache.set(eventId, stored);
    }
    return stored.event;
  }

  /** The events of a match (or partial match), per stage. */
  materialize(match: MatchedEventIds): Map<string, T[]> {
    const events = new Map<string, T[]>();
    for (const [stage, ids] of match) events.set(stage, ids.map((id) => this.event(id)));
    return events;
  }

  /** Stores what `state` still refers to and drops the rest; the buffer is spent afterwards. */
  flush(state: NfaState): void {
    const referenced = referencedEventIds(state);
    for (const id of this.referencedBefore) if (!referenced.has(id)) this.table.remove(id);
    for (const [id, stored] of this.registered) if (referenced.has(id)) this.table.put(id, stored);
    this.registered.clear();
    this.readCache.clear();
  }
}

/** The ids of the events that the partial and completed matches of `state` refer to. */
export function referencedEventIds(state: NfaState): Set<number> {
  const ids = new Set<number>();
  const add = (matches: readonly ComputationState[]) => {
    for (const match of matches) for (const [, id] of match.path) ids.add(id);
  };
  add(state.partialMatches);
  add(state.completedMatches);
  return ids;
}

/** A partial match's events per stage, in the order they were taken (Flink's extractPatterns). */
export function eventIdsOf(computationState: ComputationState): Map<string, number[]> {
  const match = new Map<string, number[]>();
  for (const [stage, id] of computationState.path) {
    const ids = match.get(stage);
    if (ids === undefined) match.set(stage, [id]);
    else ids.push(id);
  }
  return match;
}
