// The keyed state backend contract. One backend instance serves one keyed operator instance
// (one operator, one subtask) and holds the key groups of its KeyGroupRange. State is addressed
// as (key group, state name, key, namespace) → value, so one key group is one contiguous range
// (ARCHITECTURE.md, decision 2) and snapshot, restore and rescale work per key group. The range
// may change while the backend runs (live rescaling): setKeyGroupRange drops the key groups it
// leaves, restore adds the ones it gains.
//
// The hot path is synchronous: every call here except snapshot/restore/setKeyGroupRange/dispose
// (and keysWithState on a backend that reads storage) returns at once.
// A namespace is `VOID_NAMESPACE` for plain keyed state and identifies the window (or other
// scope) for windowed state.

import type { KeyGroupRange } from '../../shared/key-groups.ts';
import type { KeyGroupSnapshotReader, KeyedStateSnapshot, Namespace, StateKey } from '../../shared/checkpoint/keyed-state-snapshot.ts';
import type { StateBackendKind } from '../../shared/config/state-backend.ts';
import type { StateTtlPolicy } from './state-ttl.ts';

// What the backends snapshot to is the checkpoint format (shared/checkpoint/): re-exported, so the
// worker's state code has one place to import from.
export {
  mergeKeyGroups,
  type KeyGroupSnapshotReader,
  type KeyGroupState,
  type KeyedStateSnapshot,
  type Namespace,
  type StateEntry,
  type StateKey,
} from '../../shared/checkpoint/keyed-state-snapshot.ts';
export type { StateBackendKind } from '../../shared/config/state-backend.ts';

export const VOID_NAMESPACE = 0;

/** A key and its key group, as setCurrentKey takes them. */
export interface KeyInKeyGroup {
  readonly key: StateKey;
  readonly keyGroup: number;
}

/** The values of one named state, for the backend's current key. */
export interface StateTable<V> {
  get(namespace: Namespace): V | undefined;
  /**
   * Stores `value` for (current key, namespace). Callers that mutate a value they got from `get`
   * call `put` with it afterwards; a backend may keep the object and serialize it later.
   * Putting `undefined` removes the entry: `get` could not tell the two apart.
   */
  put(namespace: Namespace, value: V): void;
  remove(namespace: Namespace): void;
  /** A TTL state handle accessed this state (Flink's access callback): where the backend cleans up incrementally, it does so now. */
  ttlAccessed?(): void;
}

export interface KeyedStateBackend {
  readonly kind: StateBackendKind;
  /** The key groups it holds now: the range it was created with, until setKeyGroupRange changes it. */
  readonly keyGroupRange: KeyGroupRange;
  readonly maxParallelism: number;

  /**
   * Makes `range` the backend's range (live rescaling). The state of every key group outside it
   * is removed, and can never come back through a later flush or write; key groups of `range`
   * the backend did not hold start empty (restore fills them), and count as changed since any
   * baseline (incremental checkpoints); dropped key groups are in no later snapshot. No key is
   * current afterwards; setCurrentKey with a key group outside `range` throws a RangeError.
   * Snapshots and snapshot readers captured before the call still return the removed state:
   * the checkpoint taken before a handover is uploaded while processing goes on. Throws a
   * ConfigurationError for a range beyond maxParallelism.
   */
  setKeyGroupRange(range: KeyGroupRange): Promise<void>;

  /** Sets the key that following table calls address; `keyGroup` is the key's key group, computed by the caller. */
  setCurrentKey(key: StateKey, keyGroup: number): void;
  getCurrentKey(): StateKey;
  getCurrentKeyGroup(): number;

  /**
   * The table of state `stateName`, registered on first use. Names are unique per backend. With
   * `ttl` (the first time it is given for the name), its values are in the TTL layout
   * (state-ttl.ts) and the backend cleans up the expired ones: the in-memory backend incrementally
   * (`ttlAccessed`, and per record), the LevelDB one with a background sweep; both leave them out
   * of snapshots if asked. Reads and writes through the table stay as they are: the TTL state
   * handles decide what is expired when they read.
   */
  getTable<V>(stateName: string, ttl?: StateTtlPolicy): StateTable<V>;

  /**
   * Captures the state as it is at the moment of the call, before the returned promise is
   * created: later puts and removes do not change what the promise resolves to. Processing goes
   * on while the promise is pending (asynchronous snapshots).
   */
  snapshot(): Promise<KeyedStateSnapshot>;

  /**
   * Loads the entries of `snapshots` whose key group lies in this backend's current range and
   * ignores the rest (rescaling hands every new subtask the snapshots of all old subtasks that
   * overlapped its range). May be called on a backend that holds state, to add the key groups
   * it gained (after setKeyGroupRange): it then refuses, with a RestoreError naming the key
   * group and before loading anything, every key group of the snapshots (in range) that already
   * holds state here: a restore never merges into a key group. Callers that restore into a
   * running backend therefore pass only the gained key groups. Snapshots of another
   * maxParallelism are refused (RestoreError).
   */
  restore(snapshots: readonly KeyedStateSnapshot[]): Promise<void>;

  /**
   * A snapshot captured at the moment of the call, like `snapshot`, but read one key group at a
   * time, so state larger than memory never has to be in memory at once; it also says which key
   * groups changed since the last confirmed snapshot (incremental checkpoints). Optional: backends
   * without it are snapshotted whole.
   */
  snapshotByKeyGroup?(checkpointId: number): KeyGroupSnapshotReader;

  /** Snapshot `checkpointId` is part of a completed checkpoint: it is the baseline of the next one. */
  confirmSnapshot?(checkpointId: number): void;

  /**
   * Live rescaling, ahead of the switch: writes a key group this backend will take over, as a
   * shared chunk of an earlier checkpoint holds it (`reference`: that chunk's SHA-256). A staged
   * key group is not state yet: snapshots leave it out, and nothing reads it. At the takeover,
   * `settleStaged` keeps the staged key groups whose chunk in the rescale checkpoint is the same
   * (unchanged since) and drops the others, which are then restored from that checkpoint.
   * Optional: without it, a takeover restores every gained key group from the rescale checkpoint.
   * Refuses a key group that holds state here (RestoreError).
   */
  stageKeyGroup?(keyGroup: number, rawPairs: Uint8Array, reference: string): Promise<void>;

  /** The staged key groups, with the reference each was staged from. */
  stagedKeyGroups?(): ReadonlyMap<number, string>;

  /** Ends staging: the staged key groups of `kept` become state, the others are deleted. */
  settleStaged?(kept: ReadonlySet<number>): Promise<void>;

  /**
   * The keys that hold a value of state `stateName` in `namespace`, in the backend's current range,
   * each once, ordered by key group (Flink's getKeys, for applyToAllKeys). The in-memory backend
   * lists them at once. The LevelDB one reads its database, so it answers with a promise; its last
   * step, merging the cache and the writes not yet in the database, runs synchronously as the
   * promise resolves, so the list is the state as it stood then. Expired values of a state with a
   * time-to-live are listed like the others (a TTL sweep may remove them any time): the caller
   * reads each key's value to decide.
   */
  keysWithState(stateName: string, namespace: Namespace): readonly KeyInKeyGroup[] | Promise<readonly KeyInKeyGroup[]>;

  /** Number of (state, key, namespace) entries held; for metrics and tests, may be slow. */
  countEntries(): Promise<number>;

  /** Releases memory and files. */
  dispose(): Promise<void>;
}

export interface KeyedStateBackendOptions {
  readonly keyGroupRange: KeyGroupRange;
  readonly maxParallelism: number;
  /** The LevelDB backend keeps its database under this directory (created if missing, wiped first). */
  readonly workingDirectory?: string;
}
