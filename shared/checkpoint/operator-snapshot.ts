// What one operator subtask's snapshot holds: its keyed state and timers by key group, and its
// non-keyed state (a source's split positions, a sink's writer state and pending commits). Workers
// take it at a barrier and write it (operator-state-files.ts); restores read it back.

import type { SplitState } from '../api/connectors.ts';
import type { KeyedStateSnapshot, KeyGroupSnapshotReader } from './keyed-state-snapshot.ts';

export interface OperatorSnapshot {
  /** Keyed state and timers, by key group. */
  readonly keyed?: KeyedStateSnapshot;
  /**
   * The backend's state still to be read, key group by key group (large state); `keyed` then
   * holds the timers only. Never serialized: the checkpoint writer reads it and closes it.
   */
  readonly keyedReader?: KeyGroupSnapshotReader;
  /** Non-keyed state: source split positions, sink writer state and pending commits. JSON-serializable. */
  readonly operatorState?: unknown;
}

/**
 * Whether a snapshot holds anything to restore. Stateless operators (maps, filters, often with
 * generated uids) leave nothing in checkpoints, so changing them never blocks a restore.
 */
export function hasState(snapshot: OperatorSnapshot): boolean {
  return snapshot.operatorState !== undefined || snapshot.keyedReader !== undefined || (snapshot.keyed !== undefined && snapshot.keyed.keyGroups.length > 0);
}

/** A source subtask's operator state. */
export interface SourceOperatorState {
  readonly splits: readonly SplitState[];
  /**
   * The parallelism its reader ran at: a restore checks that every subtask below it left state,
   * else their splits would never be read again. Absent in checkpoints taken before it was kept.
   */
  readonly parallelism?: number;
}
