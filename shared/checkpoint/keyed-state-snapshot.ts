// Keyed state as checkpoints and snapshots hold it, independent of any backend: entries of
// (state name, key, namespace, value) grouped by key group, or, from the LevelDB backend, a key
// group's raw pairs (raw-pairs.ts). Workers write it, the coordinator and restores read it.

export type StateKey = string | number | boolean | bigint | readonly unknown[];
export type Namespace = string | number;

/** How deep composite keys may nest; deeper (or cyclic) arrays are rejected instead of overflowing the stack. */
export const MAX_COMPOSITE_KEY_DEPTH = 32;

/** One entry of a snapshot: the state's name, the key, the namespace and the value. */
export type StateEntry = readonly [stateName: string, key: StateKey, namespace: Namespace, value: unknown];

/**
 * A backend-independent copy of a backend's state: what snapshots and checkpoints store, what
 * restore reads, and what lets a job move between backends and parallelisms. Key groups without
 * state are left out; entries inside a key group are in no particular order.
 */
export interface KeyedStateSnapshot {
  readonly maxParallelism: number;
  readonly keyGroups: ReadonlyArray<KeyGroupState>;
}

export interface KeyGroupState {
  readonly keyGroup: number;
  readonly entries: readonly StateEntry[];
  /**
   * More entries of the key group as the LevelDB backend stores them (raw-pairs.ts): what a
   * LevelDB checkpoint writes. Never in a snapshot (savepoint), which keeps entries only.
   */
  readonly rawPairs?: Uint8Array;
}

/** Merges key groups that appear more than once (timers inline, state in a chunk), in key-group order. */
export function mergeKeyGroups(groups: Iterable<KeyGroupState>): KeyGroupState[] {
  const merged = new Map<number, { entries: StateEntry[]; rawPairs?: Uint8Array }>();
  for (const group of groups) {
    let into = merged.get(group.keyGroup);
    if (!into) merged.set(group.keyGroup, (into = { entries: [] }));
    into.entries.push(...group.entries);
    if (group.rawPairs !== undefined) into.rawPairs = group.rawPairs;
  }
  return [...merged.entries()].sort((a, b) => a[0] - b[0]).map(([keyGroup, group]) => ({ keyGroup, ...group }));
}

/** A captured snapshot, read key group by key group. */
export interface KeyGroupSnapshotReader {
  readonly maxParallelism: number;
  /** Every key group of the backend's range, ascending. */
  readonly keyGroups: readonly number[];
  /**
   * Whether a key group may differ from the confirmed baseline snapshot; true for every key group
   * when there is no baseline (a fresh or restored backend).
   */
  changedSinceBaseline(keyGroup: number): boolean;
  /** What `remember` stored for a key group with the baseline snapshot, if anything. */
  baselineReference(keyGroup: number): unknown;
  /** Stores what the checkpoint made of a key group (where it was uploaded), for the snapshots after it. */
  remember(keyGroup: number, reference: unknown): void;
  /** The key group's entries as captured, as the backend stores them (raw-pairs.ts); empty when it holds nothing. */
  readRaw(keyGroup: number): Promise<Uint8Array>;
  /** Releases what the capture holds; reads after it fail. */
  close(): Promise<void>;
}
