// Checks both keyed state backends apply to what they are given: their options, state names,
// namespaces and the snapshots they restore. Kept in one place so the two backends accept and
// reject exactly the same things.

import { KeyGroupRange, checkMaxParallelism } from '../../shared/key-groups.ts';
import { ConfigurationError, RestoreError } from '../../shared/errors.ts';
import { hasLoneSurrogate } from '../../shared/lone-surrogate.ts';
import type { KeyedStateBackendOptions, KeyedStateSnapshot, Namespace, StateEntry } from './keyed-state-backend.ts';
import { rawPairsToEntries } from '../../shared/checkpoint/raw-pairs.ts';

/** State names become part of every LevelDB key, behind a 2-byte length. */
export const MAX_STATE_NAME_BYTES = 0xffff;

export function checkKeyedStateBackendOptions(options: KeyedStateBackendOptions): void {
  try {
    checkMaxParallelism(options.maxParallelism);
  } catch (error) {
    throw new ConfigurationError('maxParallelism', (error as Error).message);
  }
  const range = options.keyGroupRange;
  if (!(range instanceof KeyGroupRange)) throw new ConfigurationError('keyGroupRange', 'must be a KeyGroupRange');
  if (!range.isEmpty && range.endKeyGroup >= options.maxParallelism) {
    throw new ConfigurationError(
      'keyGroupRange',
      `${range} reaches beyond maxParallelism ${options.maxParallelism} (key groups are 0..${options.maxParallelism - 1})`,
    );
  }
}

export function checkStateName(stateName: string): void {
  if (typeof stateName !== 'string' || stateName.length === 0) throw new TypeError('a state name must be a non-empty string');
  if (hasLoneSurrogate(stateName)) throw new TypeError(`state name ${JSON.stringify(stateName)} holds an unpaired surrogate`);
  if (Buffer.byteLength(stateName, 'utf8') > MAX_STATE_NAME_BYTES) {
    throw new TypeError(`state name ${stateName.slice(0, 40)}… is longer than ${MAX_STATE_NAME_BYTES} UTF-8 bytes`);
  }
}

export function checkNamespace(namespace: Namespace): void {
  if (typeof namespace !== 'string' && typeof namespace !== 'number') {
    throw new TypeError(`a namespace must be a string or a number, got ${typeof namespace}`);
  }
}

export interface RestoredEntry {
  readonly keyGroup: number;
  readonly entry: StateEntry;
}

/** Throws unless `snapshots` is an array of snapshots taken at `maxParallelism` with well-formed key group numbers. */
function checkSnapshots(snapshots: readonly KeyedStateSnapshot[], maxParallelism: number): void {
  if (!Array.isArray(snapshots)) throw new RestoreError('restore needs an array of keyed state snapshots');
  for (const [snapshotIndex, snapshot] of snapshots.entries()) {
    if (snapshot === null || typeof snapshot !== 'object' || !Array.isArray(snapshot.keyGroups)) {
      throw new RestoreError(`snapshot ${snapshotIndex} is not a keyed state snapshot (no keyGroups array)`);
    }
    if (snapshot.maxParallelism !== maxParallelism) {
      throw new RestoreError(
        `snapshot ${snapshotIndex} was taken at maxParallelism ${snapshot.maxParallelism}, this backend has ${maxParallelism}: key groups cannot be mapped`,
      );
    }
    for (const group of snapshot.keyGroups) {
      const keyGroup = group?.keyGroup;
      if (!Number.isInteger(keyGroup) || keyGroup < 0 || keyGroup >= maxParallelism || !Array.isArray(group.entries)) {
        throw new RestoreError(`snapshot ${snapshotIndex} holds a malformed key group ${JSON.stringify(keyGroup)}`);
      }
    }
  }
}

/**
 * The key groups in `range` that `snapshots` hold entries (or raw pairs) for, ascending: what a
 * restore is about to load. Checks the snapshots first, like entriesInRange.
 */
export function keyGroupsToRestore(snapshots: readonly KeyedStateSnapshot[], range: KeyGroupRange, maxParallelism: number): number[] {
  checkSnapshots(snapshots, maxParallelism);
  const keyGroups = new Set<number>();
  for (const snapshot of snapshots) {
    for (const group of snapshot.keyGroups) {
      if (!range.contains(group.keyGroup)) continue;
      if (group.entries.length > 0 || (group.rawPairs !== undefined && group.rawPairs.byteLength > 0)) keyGroups.add(group.keyGroup);
    }
  }
  return [...keyGroups].sort((a, b) => a - b);
}

/**
 * What a restore that adds key groups to a backend with state throws for a key group the backend
 * already holds state in: a restore adds whole key groups, it never merges into one.
 */
export function keyGroupHoldsStateError(keyGroup: number): RestoreError {
  return new RestoreError(
    `key group ${keyGroup} already holds state in this backend: a restore adds key groups it does not hold and never merges into one`,
  );
}

/** What a restore throws for an entry it cannot take in, naming where the entry stood. */
export function restoreEntryError(keyGroup: number, stateName: string, error: unknown): RestoreError {
  return new RestoreError(`key group ${keyGroup}, state ${stateName}: ${(error as Error).message}`, { cause: error });
}

/**
 * The entries of `snapshots` whose key group lies in `range`, checked for shape. Rescaling hands
 * a subtask the snapshots of every old subtask that overlapped its range, so key groups outside
 * the range are expected and skipped; a snapshot taken at another maxParallelism cannot be split
 * into this backend's key groups and is refused.
 */
export function* entriesInRange(
  snapshots: readonly KeyedStateSnapshot[],
  range: KeyGroupRange,
  maxParallelism: number,
  /** Leave out the key groups' raw pairs (a backend that writes them itself). */
  skipRawPairs = false,
): Generator<RestoredEntry> {
  checkSnapshots(snapshots, maxParallelism);
  for (const [snapshotIndex, snapshot] of snapshots.entries()) {
    for (const group of snapshot.keyGroups) {
      const keyGroup = group.keyGroup;
      if (!range.contains(keyGroup)) continue;
      for (const entry of group.entries) {
        if (!Array.isArray(entry) || entry.length !== 4 || typeof entry[0] !== 'string') {
          throw new RestoreError(`snapshot ${snapshotIndex}, key group ${keyGroup}: malformed entry`);
        }
        if (typeof entry[2] !== 'string' && typeof entry[2] !== 'number') {
          throw new RestoreError(`snapshot ${snapshotIndex}, key group ${keyGroup}: namespace must be a string or a number`);
        }
        yield { keyGroup, entry: entry as unknown as StateEntry };
      }
      if (group.rawPairs !== undefined && !skipRawPairs) {
        for (const entry of rawPairsToEntries(group.rawPairs, `snapshot ${snapshotIndex}, key group ${keyGroup}`)) yield { keyGroup, entry };
      }
    }
  }
}
