// The layout both backends' tables keep their entries in: per key group, namespace → key → entry
// (values in the in-memory backend, cache entries in the LevelDB one). No Map ever holds more than
// one key group's keys of one namespace (V8 caps a Map at 2^24 entries), and a rescale re-indexes
// whole key groups. The hot-path lookups stay written out in each table: a call there would cost
// on every record.

import type { KeyGroupRange } from '../../shared/key-groups.ts';
import type { Namespace } from './keyed-state-backend.ts';
import { rebaseKeyGroupArray, type CurrentKey } from './current-key.ts';
import { CompositeKeyMap } from './composite-key-map.ts';
import type { StateTtlPolicy } from './state-ttl.ts';

export type ScalarEntriesByNamespace<E> = Map<Namespace, Map<unknown, E>>;
export type CompositeEntriesByNamespace<E> = Map<Namespace, CompositeKeyMap<E>>;

export abstract class KeyGroupedStateTable<E> {
  /** Indexed by key group minus range start; scalar and composite keys are kept apart so they cannot collide. */
  scalarKeyGroups: (ScalarEntriesByNamespace<E> | undefined)[];
  compositeKeyGroups: (CompositeEntriesByNamespace<E> | undefined)[];
  /** Set once a TTL state handle registered this state: its values are in the TTL layout. */
  ttl: StateTtlPolicy | undefined = undefined;

  constructor(
    readonly stateName: string,
    protected readonly current: CurrentKey,
    numberOfKeyGroups: number,
  ) {
    this.scalarKeyGroups = new Array<ScalarEntriesByNamespace<E> | undefined>(numberOfKeyGroups).fill(undefined);
    this.compositeKeyGroups = new Array<CompositeEntriesByNamespace<E> | undefined>(numberOfKeyGroups).fill(undefined);
  }

  /** Re-indexes for a new range: key groups outside it are dropped, new ones start empty. */
  rebase(from: KeyGroupRange, to: KeyGroupRange): void {
    this.scalarKeyGroups = rebaseKeyGroupArray(this.scalarKeyGroups, from, to);
    this.compositeKeyGroups = rebaseKeyGroupArray(this.compositeKeyGroups, from, to);
  }

  clear(): void {
    this.scalarKeyGroups.fill(undefined);
    this.compositeKeyGroups.fill(undefined);
  }

  /** The scalar keys' map of (key group, namespace), created if missing. */
  protected scalarEntries(keyGroupIndex: number, namespace: Namespace): Map<unknown, E> {
    return entriesOf<Map<unknown, E>>(this.scalarKeyGroups, keyGroupIndex, namespace, newScalarEntries);
  }

  /** The composite keys' map of (key group, namespace), created if missing. */
  protected compositeEntries(keyGroupIndex: number, namespace: Namespace): CompositeKeyMap<E> {
    return entriesOf<CompositeKeyMap<E>>(this.compositeKeyGroups, keyGroupIndex, namespace, newCompositeEntries);
  }
}

function newScalarEntries<E>(): Map<unknown, E> {
  return new Map();
}

function newCompositeEntries<E>(): CompositeKeyMap<E> {
  return new CompositeKeyMap();
}

/** The entries of (key group, namespace) in `keyGroups`, creating the maps that are missing. */
function entriesOf<M>(keyGroups: (Map<Namespace, M> | undefined)[], keyGroupIndex: number, namespace: Namespace, create: () => M): M {
  let byNamespace = keyGroups[keyGroupIndex];
  if (byNamespace === undefined) {
    byNamespace = new Map();
    keyGroups[keyGroupIndex] = byNamespace;
  }
  let byKey = byNamespace.get(namespace);
  if (byKey === undefined) {
    byKey = create();
    byNamespace.set(namespace, byKey);
  }
  return byKey;
}
