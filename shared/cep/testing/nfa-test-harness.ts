// Feeds events straight to an NFA, as Flink's NFATestHarness does (advance time to the event,
// then process it), with an in-memory event table; for the NFA's unit and differential tests.
// After every step it checks that the table holds exactly the events some match refers to.

import assert from 'node:assert/strict';
import type { Pattern } from '../../api/cep/pattern.ts';
import { compilePattern } from '../nfa-compiler.ts';
import { Nfa, type NfaState } from '../nfa.ts';
import { referencedEventIds, SharedBuffer, type EventTable, type StoredEvent } from '../shared-buffer.ts';

export interface HarnessRun<T> {
  /** Each match's events per stage, in emission order. */
  readonly matches: Array<Map<string, T[]>>;
  readonly timedOut: Array<{ match: Map<string, T[]>; timestamp: number }>;
  readonly state: NfaState;
}

export interface HarnessOptions {
  /** Advance time to this after the last event (closes windows, completes trailing notFollowedBy). */
  readonly advanceTo?: number;
  /** Collect timed-out partial matches (as a function implementing TimedOutPartialMatchHandler would). */
  readonly handleTimeout?: boolean;
}

export function feedNfa<T>(pattern: Pattern<T>, records: ReadonlyArray<readonly [event: T, timestamp: number]>, options: HarnessOptions = {}): HarnessRun<T> {
  const nfa = new Nfa<T>(compilePattern(pattern), options.handleTimeout ?? false);
  const stored = new Map<number, StoredEvent<T>>();
  const table: EventTable<T> = { get: (id) => stored.get(id), put: (id, e) => void stored.set(id, e), remove: (id) => void stored.delete(id) };
  const run: HarnessRun<T> & { state: NfaState } = { matches: [], timedOut: [], state: nfa.createInitialState() };

  const advance = (timestamp: number, buffer: SharedBuffer<T>) => {
    const advanced = nfa.advanceTime(run.state, timestamp);
    run.state = advanced.state;
    for (const match of advanced.matches) run.matches.push(buffer.materialize(match));
    for (const { match, timestamp: at } of advanced.timedOut) run.timedOut.push({ match: buffer.materialize(match), timestamp: at });
  };
  const settle = (buffer: SharedBuffer<T>) => {
    buffer.flush(run.state);
    assert.deepEqual([...stored.keys()].sort((a, b) => a - b), [...referencedEventIds(run.state)].sort((a, b) => a - b), 'the event table holds exactly the referenced events');
  };

  for (const [event, timestamp] of records) {
    const buffer = new SharedBuffer(table, run.state);
    advance(timestamp, buffer);
    const processed = nfa.process(buffer, run.state, event, timestamp, () => 0);
    run.state = processed.state;
    for (const match of processed.matches) run.matches.push(buffer.materialize(match));
    settle(buffer);
  }
  if (options.advanceTo !== undefined) {
    const buffer = new SharedBuffer(table, run.state);
    advance(options.advanceTo, buffer);
    settle(buffer);
  }
  return run;
}

/** A match flattened as Flink's tests compare it: its events in stage order. */
export function flatten<T>(match: Map<string, T[]>): T[] {
  return [...match.values()].flat();
}
