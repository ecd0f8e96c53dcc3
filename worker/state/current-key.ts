// The key that a backend's table calls address, kept in the form the backends' per-key-group maps
// use. It is computed once per `setCurrentKey`, so table get/put/remove allocate nothing for
// scalar keys (composite keys cost one canonical string per record).

import { inspect } from 'node:util';
import type { KeyGroupRange } from '../../shared/key-groups.ts';
import type { StateKey } from './keyed-state-backend.ts';
import { compositeKeyToString } from './composite-key-string.ts';

export class CurrentKey {
  /** The key as the caller passed it. */
  key: StateKey | undefined = undefined;
  keyGroup = -1;
  /** `keyGroup` minus the range start: the index into per-key-group arrays; -1 until a key is set. */
  keyGroupIndex = -1;
  /** The key as a Map key: the key itself for scalars, its canonical string for composite keys. */
  mapKey: unknown = undefined;
  /** Composite keys live in maps of their own, so a string key can never collide with an encoded array. */
  isComposite = false;
  /** Changes on every `set`, so a table can tell whether the entry it remembered is still the current key's. */
  epoch = 0;

  private readonly startKeyGroup: number;
  private readonly endKeyGroup: number;

  constructor(keyGroupRange: KeyGroupRange) {
    this.startKeyGroup = keyGroupRange.startKeyGroup;
    this.endKeyGroup = keyGroupRange.endKeyGroup;
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
        this.mapKey = compositeKeyToString(key);
        this.isComposite = true;
    }
    this.key = key;
    this.keyGroup = keyGroup;
    this.keyGroupIndex = keyGroup - this.startKeyGroup;
    this.epoch++;
  }

  /** Throws unless a key was set; called on slow paths only, where a missing key would otherwise corrupt the maps. */
  assertSet(): void {
    if (this.keyGroupIndex < 0) throw new Error('no current key: call setCurrentKey before using a state table');
  }

  get(): StateKey {
    this.assertSet();
    return this.key!;
  }
}

/** The Map key for `key`, as `CurrentKey.set` computes it; for restore, which places entries without a current key. */
export function mapKeyOf(key: StateKey): { readonly mapKey: unknown; readonly isComposite: boolean } {
  if (Array.isArray(key)) return { mapKey: compositeKeyToString(key), isComposite: true };
  switch (typeof key) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return { mapKey: key, isComposite: false };
  }
  throw new TypeError(`a state key must be a string, number, boolean, bigint or an array of those, got ${typeof key}`);
}
