// The key that a backend's table calls address, kept in the form the backends' per-key-group maps
// use. It is computed once per `setCurrentKey`, so table get/put/remove allocate nothing: scalar
// keys are Map keys as they are, composite keys are hashed once (composite-key-map.ts).

import { inspect } from 'node:util';
import type { KeyGroupRange } from '../../shared/key-groups.ts';
import type { StateKey } from './keyed-state-backend.ts';
import { compositeKeyHash } from './composite-key-map.ts';

export class CurrentKey {
  /** The key as the caller passed it. */
  key: StateKey | undefined = undefined;
  keyGroup = -1;
  /** `keyGroup` minus the range start: the index into per-key-group arrays; -1 until a key is set. */
  keyGroupIndex = -1;
  /** The key as a Map key for scalars; the content hash for composite keys (see CompositeKeyMap). */
  mapKey: unknown = undefined;
  /** Composite keys live in maps of their own (CompositeKeyMap), apart from scalar keys. */
  isComposite = false;
  /** Changes on every `set`, so a table can tell whether the entry it remembered is still the current key's. */
  epoch = 0;

  private startKeyGroup: number;
  private endKeyGroup: number;

  constructor(keyGroupRange: KeyGroupRange) {
    this.startKeyGroup = keyGroupRange.startKeyGroup;
    this.endKeyGroup = keyGroupRange.endKeyGroup;
  }

  /** The backend's range changed: from now on keys are checked against `keyGroupRange`, and no key is current. */
  setRange(keyGroupRange: KeyGroupRange): void {
    this.startKeyGroup = keyGroupRange.startKeyGroup;
    this.endKeyGroup = keyGroupRange.endKeyGroup;
    this.key = undefined;
    this.keyGroup = -1;
    this.keyGroupIndex = -1;
    this.mapKey = undefined;
    this.isComposite = false;
    this.epoch++;
  }

  set(key: StateKey, keyGroup: number): void {
    if (!(keyGroup >= this.startKeyGroup && keyGroup <= this.endKeyGroup)) {
      throw new RangeError(
        `key group ${keyGroup} of key ${inspect(key)} is outside this backend's range ${this.startKeyGroup}..${this.endKeyGroup}`,
      );
    }
    switch (typeof key) {
      case 'string':
      case 'number':
      case 'boolean':
      case 'bigint':
        this.mapKey = key;
        this.isComposite = false;
        break;
      default:
        if (!Array.isArray(key)) {
          throw new TypeError(
            `a state key must be a string, number, boolean, bigint or an array of those, got ${key === null ? 'null' : typeof key}`,
          );
        }
        this.mapKey = compositeKeyHash(key);
        this.isComposite = true;
    }
    this.key = key;
    this.keyGroup = keyGroup;
    this.keyGroupIndex = keyGroup - this.startKeyGroup;
    this.epoch++;
  }

  /** Throws unless a key was set; called on slow paths only, where a missing key would otherwise corrupt the maps. */
  assertSet(): void {
    if (this.keyGroupIndex < 0) throw new Error('keyed state was used with no current key: state is only there while a keyed record or timer is processed; a function that keeps state handles in a closure must be given as a factory, process(() => ({ … })), so each subtask gets its own');
  }

  get(): StateKey {
    this.assertSet();
    return this.key!;
  }
}

/** The Map key for `key`, as `CurrentKey.set` computes it; for restore, which places entries without a current key. */
export function mapKeyOf(key: StateKey): { readonly mapKey: unknown; readonly isComposite: boolean } {
  if (Array.isArray(key)) return { mapKey: compositeKeyHash(key), isComposite: true };
  switch (typeof key) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return { mapKey: key, isComposite: false };
  }
  throw new TypeError(`a state key must be a string, number, boolean, bigint or an array of those, got ${typeof key}`);
}

/**
 * A per-key-group array (indexed by key group minus the range start) re-indexed for a new range:
 * the slots of key groups in both ranges move along, the others are left out or start empty.
 */
export function rebaseKeyGroupArray<T>(slots: readonly (T | undefined)[], from: KeyGroupRange, to: KeyGroupRange): (T | undefined)[] {
  const rebased = new Array<T | undefined>(to.numberOfKeyGroups).fill(undefined);
  for (const keyGroup of from.intersection(to)) rebased[keyGroup - to.startKeyGroup] = slots[keyGroup - from.startKeyGroup];
  return rebased;
}
