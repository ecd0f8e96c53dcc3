// The contract every keyed state backend passes: what a get returns after puts and removes, which
// keys are distinct, what a snapshot holds, and that restore keeps exactly the key groups in
// range, across parallelisms and across backend kinds, and that a running backend can change its
// range (live rescaling): drop the key groups it leaves, take in the ones it gains. Each backend's test file runs it with its
// own factory (the LevelDB one with a tiny cache, so evictions and flushes happen all the time).

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { KeyGroupRange, assignToKeyGroup, keyGroupRangeForSubtask } from '../../shared/key-groups.ts';
import { ConfigurationError, RestoreError } from '../../shared/errors.ts';
import {
  VOID_NAMESPACE,
  type KeyGroupState,
  type KeyedStateBackend,
  type KeyedStateBackendOptions,
  type KeyedStateSnapshot,
  type Namespace,
  type StateEntry,
  type StateKey,
} from './keyed-state-backend.ts';
import { InMemoryKeyedStateBackend } from './memory-state-backend.ts';
import { StateKeyEncoder, stateNameSegment } from '../../shared/checkpoint/leveldb-key-codec.ts';
import { StateValueEncoder } from '../../shared/checkpoint/state-value-codec.ts';
import { encodeRawPairs, rawPairsToEntries } from '../../shared/checkpoint/raw-pairs.ts';
import { describeKey } from '../../shared/testing/describe-key.ts';
import { seededRandom } from '../../shared/testing/seeded-random.ts';
import { ListStateDescriptor, MapStateDescriptor, ValueStateDescriptor } from '../../shared/api/state.ts';
import { StateTtlConfig } from '../../shared/api/state-ttl.ts';
import { ManualClock } from '../../shared/clock.ts';
import { stateTtlPolicy } from './state-ttl.ts';

const MAX_PARALLELISM = 128;
const FULL_RANGE = KeyGroupRange.of(0, MAX_PARALLELISM - 1);

export function keyGroupOf(key: StateKey): number {
  return assignToKeyGroup(key, MAX_PARALLELISM);
}

/** Sets `key` as the current key with its real key group. */
function at(backend: KeyedStateBackend, key: StateKey): KeyedStateBackend {
  backend.setCurrentKey(key, keyGroupOf(key));
  return backend;
}

type FlatEntry = [keyGroup: number, stateName: string, key: StateKey, namespace: Namespace, value: unknown];

/** A snapshot as one sorted list, so two snapshots compare regardless of entry order; checks its shape on the way. */
export function flattenSnapshot(snapshot: KeyedStateSnapshot): FlatEntry[] {
  const flat: FlatEntry[] = [];
  const seenKeyGroups = new Set<number>();
  for (const group of snapshot.keyGroups) {
    assert.ok(!seenKeyGroups.has(group.keyGroup), `key group ${group.keyGroup} appears twice in a snapshot`);
    seenKeyGroups.add(group.keyGroup);
    assert.ok(group.entries.length > 0, `key group ${group.keyGroup} is in the snapshot without entries`);
    for (const [stateName, key, namespace, value] of group.entries) flat.push([group.keyGroup, stateName, key, namespace, value]);
  }
  const sortable = flat.map((entry) => ({ entry, sortKey: `${entry[0]}|${entry[1]}|${describeKey(entry[2])}|${describeKey(entry[3])}` }));
  sortable.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
  for (let i = 1; i < sortable.length; i++) {
    assert.notEqual(sortable[i]!.sortKey, sortable[i - 1]!.sortKey, `entry ${sortable[i]!.sortKey} appears twice`);
  }
  return sortable.map(({ entry }) => entry);
}

/** A plain model of keyed state: (state, key group, key, namespace) → value. */
class StateModel {
  readonly entries = new Map<string, FlatEntry>();

  static id(stateName: string, key: StateKey, namespace: Namespace): string {
    return `${stateName}|${describeKey(key)}|${describeKey(namespace)}`;
  }

  put(stateName: string, key: StateKey, namespace: Namespace, value: unknown): void {
    this.entries.set(StateModel.id(stateName, key, namespace), [keyGroupOf(key), stateName, key, namespace, structuredClone(value)]);
  }

  remove(stateName: string, key: StateKey, namespace: Namespace): void {
    this.entries.delete(StateModel.id(stateName, key, namespace));
  }

  get(stateName: string, key: StateKey, namespace: Namespace): unknown {
    return this.entries.get(StateModel.id(stateName, key, namespace))?.[4];
  }

  /** What a snapshot of this model would flatten to, limited to `range`. */
  flattened(range: KeyGroupRange = FULL_RANGE): FlatEntry[] {
    const groups = new Map<number, [string, StateKey, Namespace, unknown][]>();
    for (const [keyGroup, stateName, key, namespace, value] of this.entries.values()) {
      if (!range.contains(keyGroup)) continue;
      if (!groups.has(keyGroup)) groups.set(keyGroup, []);
      groups.get(keyGroup)!.push([stateName, key, namespace, value]);
    }
    return flattenSnapshot({
      maxParallelism: MAX_PARALLELISM,
      keyGroups: [...groups].map(([keyGroup, entries]) => ({ keyGroup, entries })),
    });
  }

  clone(): StateModel {
    const copy = new StateModel();
    for (const [id, entry] of this.entries) copy.entries.set(id, structuredClone(entry));
    return copy;
  }
}

/** A key whose key group lies in `range`. */
function keyOfGroupIn(range: KeyGroupRange, prefix: string): string {
  for (let i = 0; i < 10_000; i++) if (range.contains(keyGroupOf(`${prefix}-${i}`))) return `${prefix}-${i}`;
  throw new Error(`no key of ${range} found`);
}

/** Flat entries grouped back into snapshot key groups. */
function groupFlat(flat: readonly FlatEntry[]): KeyGroupState[] {
  const groups = new Map<number, StateEntry[]>();
  for (const [keyGroup, stateName, key, namespace, value] of flat) {
    let entries = groups.get(keyGroup);
    if (entries === undefined) groups.set(keyGroup, (entries = []));
    entries.push([stateName, key, namespace, value]);
  }
  return [...groups].sort(([a], [b]) => a - b).map(([keyGroup, entries]) => ({ keyGroup, entries }));
}

/** The key groups of `snapshot` in `range`: what a subtask restores of the key groups it gains. */
function onlyKeyGroups(snapshot: KeyedStateSnapshot, range: KeyGroupRange): KeyedStateSnapshot {
  return { maxParallelism: snapshot.maxParallelism, keyGroups: snapshot.keyGroups.filter((group) => range.contains(group.keyGroup)) };
}

/** `snapshot` with every key group as raw pairs, the way a LevelDB checkpoint stores them. */
function asRawPairs(snapshot: KeyedStateSnapshot): KeyedStateSnapshot {
  const keyEncoder = new StateKeyEncoder();
  const valueEncoder = new StateValueEncoder();
  return {
    maxParallelism: snapshot.maxParallelism,
    keyGroups: snapshot.keyGroups.map(({ keyGroup, entries }) => ({
      keyGroup,
      entries: [],
      rawPairs: encodeRawPairs(
        entries.map(([stateName, key, namespace, value]): [Buffer, Buffer] => [
          Buffer.from(keyEncoder.encode(keyGroup, stateNameSegment(stateName), key, namespace), 'latin1'),
          Buffer.from(valueEncoder.encode(value)),
        ]),
      ),
    })),
  };
}

/** Writes a mix of states, key types and namespaces into `backend` and `model`, for the keys whose key group is in `range`. */
function fillWithMixedState(backend: KeyedStateBackend, model: StateModel, keyCount: number, range = FULL_RANGE, prefix = 'user'): void {
  const counts = backend.getTable<number>('count');
  const windows = backend.getTable<{ sum: number; seen: string[] }>('window-sum');
  for (let i = 0; i < keyCount; i++) {
    const key: StateKey = i % 5 === 0 ? [`${prefix}-${i}`, i] : i % 5 === 1 ? i : i % 5 === 2 ? BigInt(i) * 1_000_000_007n : `${prefix}-${i}`;
    if (!range.contains(keyGroupOf(key))) continue;
    at(backend, key);
    counts.put(VOID_NAMESPACE, i);
    model.put('count', key, VOID_NAMESPACE, i);
    if (i % 3 === 0) {
      const value = { sum: i * 2, seen: [`s${i}`] };
      windows.put(1000 + (i % 4), value);
      model.put('window-sum', key, 1000 + (i % 4), value);
    }
  }
}

export function runKeyedStateBackendContract(
  name: string,
  create: (options: KeyedStateBackendOptions) => Promise<KeyedStateBackend>,
  /** incremental: the backend snapshots key group by key group and tracks changes (snapshotByKeyGroup). */
  capabilities: { readonly incremental?: boolean } = {},
): void {
  describe(`${name} keyed state backend contract`, () => {
    const openBackends: KeyedStateBackend[] = [];

    async function newBackend(keyGroupRange: KeyGroupRange = FULL_RANGE): Promise<KeyedStateBackend> {
      const backend = await create({ keyGroupRange, maxParallelism: MAX_PARALLELISM });
      openBackends.push(backend);
      return backend;
    }

    afterEach(async () => {
      for (const backend of openBackends.splice(0)) await backend.dispose();
    });

    it('says what it is', async () => {
      const range = KeyGroupRange.of(10, 20);
      const backend = await newBackend(range);
      assert.equal(backend.keyGroupRange, range);
      assert.equal(backend.maxParallelism, MAX_PARALLELISM);
      assert.ok(backend.kind === 'memory' || backend.kind === 'leveldb');
    });

    it('reads back what was put, per key and namespace, and forgets what was removed', async () => {
      const backend = await newBackend();
      const table = backend.getTable<string>('names');
      at(backend, 'alice');
      assert.equal(table.get(VOID_NAMESPACE), undefined);
      table.put(VOID_NAMESPACE, 'a0');
      table.put(7, 'a7');
      table.put('w', 'aw');
      assert.equal(table.get(VOID_NAMESPACE), 'a0');
      assert.equal(table.get(7), 'a7');
      assert.equal(table.get('w'), 'aw');
      table.put(7, 'a7-again');
      assert.equal(table.get(7), 'a7-again');
      table.remove(7);
      assert.equal(table.get(7), undefined);
      assert.equal(table.get(VOID_NAMESPACE), 'a0');
      table.remove(7); // removing twice is harmless
      table.remove('never-written');
      assert.equal(table.get('never-written'), undefined);
      at(backend, 'bob');
      assert.equal(table.get(VOID_NAMESPACE), undefined);
      at(backend, 'alice');
      assert.equal(table.get('w'), 'aw');
      assert.equal(await backend.countEntries(), 2);
    });

    it('treats put(undefined) as remove', async () => {
      const backend = await newBackend();
      const table = backend.getTable<number | undefined>('maybe');
      at(backend, 'k');
      table.put(VOID_NAMESPACE, 1);
      table.put(VOID_NAMESPACE, undefined);
      assert.equal(table.get(VOID_NAMESPACE), undefined);
      assert.equal(await backend.countEntries(), 0);
      assert.deepEqual((await backend.snapshot()).keyGroups, []);
    });

    it('keeps keys, namespaces, state names and key groups apart', async () => {
      const backend = await newBackend();
      const a = backend.getTable<string>('a');
      const b = backend.getTable<string>('b');
      // Namespace 1 and '1' are different namespaces, like keys.
      for (const key of ['x', 'y']) {
        at(backend, key);
        a.put(VOID_NAMESPACE, `a/${key}/void`);
        a.put(1, `a/${key}/1`);
        a.put('1', `a/${key}/'1'`);
        b.put(1, `b/${key}/1`);
      }
      // The same key under two key groups (the caller decides the key group) is two entries.
      backend.setCurrentKey('x', 3);
      a.put(1, 'a/x/1@3');
      backend.setCurrentKey('x', 4);
      assert.equal(a.get(1), undefined);
      a.put(1, 'a/x/1@4');
      backend.setCurrentKey('x', 3);
      assert.equal(a.get(1), 'a/x/1@3');
      for (const key of ['x', 'y']) {
        at(backend, key);
        assert.equal(a.get(VOID_NAMESPACE), `a/${key}/void`);
        assert.equal(a.get(1), `a/${key}/1`);
        assert.equal(a.get('1'), `a/${key}/'1'`);
        assert.equal(b.get(1), `b/${key}/1`);
        assert.equal(b.get(VOID_NAMESPACE), undefined);
        assert.equal(b.get('1'), undefined);
      }
      assert.equal(await backend.countEntries(), 10);
      const snapshot = await backend.snapshot();
      const groupOf3 = snapshot.keyGroups.find((group) => group.keyGroup === 3);
      assert.deepEqual(groupOf3?.entries.filter(([, key]) => key === 'x'), [['a', 'x', 1, 'a/x/1@3']]);
    });

    it('tells scalar keys apart by type and value', async () => {
      const backend = await newBackend();
      const table = backend.getTable<string>('typed');
      const keys: StateKey[] = ['1', 1, 1n, true, 'true', 0, '', 'é', '\uD800', '\uD801', 0.1, -1, 2 ** 53, -(2n ** 70n), false, 'false'];
      for (const key of keys) at(backend, key).getTable<string>('typed').put(VOID_NAMESPACE, describeKey(key));
      for (const key of keys) {
        at(backend, key);
        assert.equal(table.get(VOID_NAMESPACE), describeKey(key), `key ${describeKey(key)}`);
      }
      // -0 and 0 are one key (they hash alike too).
      at(backend, -0);
      assert.equal(table.get(VOID_NAMESPACE), describeKey(0));
      assert.equal(await backend.countEntries(), keys.length);
      const snapshotKeys = flattenSnapshot(await backend.snapshot()).map(([, , key]) => describeKey(key));
      assert.deepEqual(snapshotKeys.sort(), keys.map(describeKey).sort());
    });

    it('tells composite keys apart by content, not identity', async () => {
      const backend = await newBackend();
      const table = backend.getTable<string>('composite');
      const keys: StateKey[] = [
        ['a', 1],
        ['a', '1'],
        ['a', 1n],
        ['a', [1]],
        [['a'], 1],
        ['a', 1, null],
        ['a', 1, undefined],
        [],
        [[]],
        ['a,1'],
        'a,1',
        '["a",1]',
        // What composite keys may look like inside a backend; a string key must never collide with one.
        '[s1:an1;]',
        '["a"n1;]',
        [true, false, 'x'],
      ];
      for (const key of keys) {
        at(backend, key);
        table.put(VOID_NAMESPACE, describeKey(key));
      }
      for (const key of keys) {
        // A fresh array with the same content addresses the same entry.
        const sameContent = structuredClone(key);
        at(backend, sameContent);
        assert.equal(table.get(VOID_NAMESPACE), describeKey(key), `key ${describeKey(key)}`);
      }
      assert.equal(await backend.countEntries(), keys.length);
      const snapshotKeys = flattenSnapshot(await backend.snapshot()).map(([, , key]) => key);
      assert.deepEqual(
        snapshotKeys.map(describeKey).sort(),
        keys.map(describeKey).sort(),
      );
      for (const key of snapshotKeys) assert.ok(typeof key !== 'object' || Array.isArray(key));
    });

    it('stores objects, arrays, Maps, Sets, bigints and Dates as values', async () => {
      const backend = await newBackend();
      const table = backend.getTable<unknown>('values');
      const values: unknown[] = [
        { count: 3, tags: ['a', 'b'], nested: { deep: [1, { x: null }] } },
        [1, 'two', [3]],
        new Map<unknown, unknown>([['k', 1], [2, { v: [2n] }]]),
        new Set(['s', 1]),
        12345678901234567890n,
        new Date(1_700_000_000_000),
        'plain string',
        0,
        false,
        null,
      ];
      values.forEach((value, i) => {
        at(backend, `key-${i}`);
        table.put(VOID_NAMESPACE, value);
      });
      values.forEach((value, i) => {
        at(backend, `key-${i}`);
        assert.deepEqual(table.get(VOID_NAMESPACE), value);
      });
      const snapshotValues = new Map(flattenSnapshot(await backend.snapshot()).map(([, , key, , value]) => [key, value]));
      values.forEach((value, i) => assert.deepEqual(snapshotValues.get(`key-${i}`), value));
    });

    it('keeps the change when a caller mutates a value it got and puts it back', async () => {
      const backend = await newBackend();
      const table = backend.getTable<{ items: number[] }>('list');
      at(backend, 'k');
      table.put(VOID_NAMESPACE, { items: [1] });
      const value = table.get(VOID_NAMESPACE)!;
      value.items.push(2);
      table.put(VOID_NAMESPACE, value);
      at(backend, 'other');
      at(backend, 'k');
      assert.deepEqual(table.get(VOID_NAMESPACE), { items: [1, 2] });
      assert.deepEqual(flattenSnapshot(await backend.snapshot()).map((e) => e[4]), [{ items: [1, 2] }]);
    });

    it('reports the current key and key group', async () => {
      const backend = await newBackend();
      backend.setCurrentKey(['a', 1], 42);
      assert.deepEqual(backend.getCurrentKey(), ['a', 1]);
      assert.equal(backend.getCurrentKeyGroup(), 42);
      backend.setCurrentKey(7n, 0);
      assert.equal(backend.getCurrentKey(), 7n);
      assert.equal(backend.getCurrentKeyGroup(), 0);
    });

    it('rejects key groups outside its range and keys that are not state keys', async () => {
      const backend = await newBackend(KeyGroupRange.of(10, 20));
      assert.throws(() => backend.setCurrentKey('k', 9), RangeError);
      assert.throws(() => backend.setCurrentKey('k', 21), RangeError);
      assert.throws(() => backend.setCurrentKey('k', -1), RangeError);
      const badKeys: unknown[] = [null, undefined, {}, Symbol('s'), () => 1, ['ok', {}], ['ok', Symbol('s')], new Date(0)];
      badKeys.forEach((bad, index) => {
        assert.throws(() => backend.setCurrentKey(bad as StateKey, 10), TypeError, `bad key ${index}`);
      });
      // The range check comes first and must not trip over keys that cannot become strings.
      assert.throws(() => backend.setCurrentKey(['ok', Symbol('s')] as unknown as StateKey, 99), RangeError);
      const cyclic: unknown[] = ['c'];
      cyclic.push(cyclic);
      assert.throws(() => backend.setCurrentKey(cyclic, 10), TypeError);
      backend.setCurrentKey('fine', 10);
      backend.getTable<number>('t').put(VOID_NAMESPACE, 1);
      assert.equal(backend.getTable<number>('t').get(VOID_NAMESPACE), 1);
    });

    it('refuses table access before a key is set', async () => {
      const backend = await newBackend();
      const table = backend.getTable<number>('early');
      assert.throws(() => table.put(VOID_NAMESPACE, 1));
      assert.throws(() => table.get(VOID_NAMESPACE));
      assert.throws(() => backend.getCurrentKey());
    });

    it('returns one shared table per state name', async () => {
      const backend = await newBackend();
      at(backend, 'k');
      backend.getTable<number>('shared').put(VOID_NAMESPACE, 5);
      assert.equal(backend.getTable<number>('shared').get(VOID_NAMESPACE), 5);
      assert.equal(backend.getTable<number>('other').get(VOID_NAMESPACE), undefined);
    });

    it('counts (state, key, namespace) entries', async () => {
      const backend = await newBackend();
      assert.equal(await backend.countEntries(), 0);
      const model = new StateModel();
      fillWithMixedState(backend, model, 300);
      assert.equal(await backend.countEntries(), model.entries.size);
      at(backend, 'user-3');
      backend.getTable('count').remove(VOID_NAMESPACE);
      assert.equal(await backend.countEntries(), model.entries.size - 1);
    });

    it('snapshots an empty backend as no key groups and leaves emptied key groups out', async () => {
      const backend = await newBackend();
      assert.deepEqual(await backend.snapshot(), { maxParallelism: MAX_PARALLELISM, keyGroups: [] });
      const table = backend.getTable<number>('t');
      at(backend, 'gone');
      table.put(VOID_NAMESPACE, 1);
      at(backend, 'stays');
      table.put(3, 2);
      at(backend, 'gone');
      table.remove(VOID_NAMESPACE);
      const snapshot = await backend.snapshot();
      assert.equal(snapshot.maxParallelism, MAX_PARALLELISM);
      assert.deepEqual(snapshot.keyGroups, [{ keyGroup: keyGroupOf('stays'), entries: [['t', 'stays', 3, 2]] }]);
    });

    it('snapshots hold exactly the state at the moment of the call', async () => {
      const backend = await newBackend();
      const table = backend.getTable<{ n: number; list: number[] }>('t');
      const model = new StateModel();
      for (const key of ['a', 'b', 'c']) {
        const value = { n: 1, list: [1] };
        at(backend, key);
        table.put(VOID_NAMESPACE, value);
        model.put('t', key, VOID_NAMESPACE, value);
      }
      const expected = model.flattened();
      const pending = backend.snapshot();
      // Everything below happens after the call and must not show in `pending`.
      at(backend, 'a');
      const a = table.get(VOID_NAMESPACE)!;
      a.n = 2;
      a.list.push(2);
      table.put(VOID_NAMESPACE, a);
      at(backend, 'b');
      table.remove(VOID_NAMESPACE);
      at(backend, 'd');
      table.put(VOID_NAMESPACE, { n: 4, list: [] });
      at(backend, 'c');
      table.get(VOID_NAMESPACE)!.list.push(99); // mutated in place, never put back
      const snapshot = await pending;
      assert.deepEqual(flattenSnapshot(snapshot), expected);
      // The snapshot's values are the snapshot's own: changing them changes nothing in the backend.
      (snapshot.keyGroups[0]!.entries[0]![3] as { n: number }).n = -1;
      at(backend, 'a');
      assert.deepEqual(table.get(VOID_NAMESPACE), { n: 2, list: [1, 2] });
      const later = flattenSnapshot(await backend.snapshot());
      assert.deepEqual(later.map(([, , key]) => key).sort(), ['a', 'c', 'd']);
    });

    it('keeps a snapshot taken while earlier writes are being flushed isolated from later writes', async () => {
      const backend = await newBackend();
      const table = backend.getTable<{ version: number }>('versions');
      const model = new StateModel();
      const keyCount = 3_000;
      for (let i = 0; i < keyCount; i++) {
        at(backend, i);
        table.put(VOID_NAMESPACE, { version: 1 });
        model.put('versions', i, VOID_NAMESPACE, { version: 1 });
      }
      await nextTurn(); // lets a backend start writing what it flushed
      for (let i = 0; i < keyCount; i += 2) {
        at(backend, i);
        const value = table.get(VOID_NAMESPACE)!;
        value.version = 2;
        table.put(VOID_NAMESPACE, value);
        model.put('versions', i, VOID_NAMESPACE, value);
      }
      for (let i = 1; i < keyCount; i += 10) {
        at(backend, i);
        table.remove(VOID_NAMESPACE);
        model.remove('versions', i, VOID_NAMESPACE);
      }
      const expected = model.flattened();
      const pending = backend.snapshot();
      const second = backend.snapshot(); // two snapshots in a row see the same state
      for (let i = 0; i < keyCount; i++) {
        at(backend, i);
        if (i % 3 === 0) table.remove(VOID_NAMESPACE);
        else table.put(VOID_NAMESPACE, { version: 3 });
      }
      at(backend, 'new-after-snapshot');
      table.put(VOID_NAMESPACE, { version: 3 });
      assert.deepEqual(flattenSnapshot(await pending), expected);
      assert.deepEqual(flattenSnapshot(await second), expected);
      // And the later writes are all there for the next snapshot.
      at(backend, 1);
      assert.deepEqual(table.get(VOID_NAMESPACE), { version: 3 });
      at(backend, 3);
      assert.equal(table.get(VOID_NAMESPACE), undefined);
      assert.equal(await backend.countEntries(), keyCount - Math.ceil(keyCount / 3) + 1);
    });

    it('reads back many more keys than a cache holds, after evictions', async () => {
      const backend = await newBackend();
      const table = backend.getTable<{ id: number; payload: string }>('big');
      const keyCount = 5_000;
      for (let i = 0; i < keyCount; i++) {
        at(backend, `key-${i}`);
        table.put(VOID_NAMESPACE, { id: i, payload: `p${i}` });
        table.put(1, { id: -i, payload: '' });
      }
      for (let i = 0; i < keyCount; i++) {
        at(backend, `key-${i}`);
        assert.deepEqual(table.get(VOID_NAMESPACE), { id: i, payload: `p${i}` });
        if (i % 2 === 0) table.put(VOID_NAMESPACE, { id: i, payload: 'updated' });
        if (i % 5 === 0) table.remove(1);
      }
      await nextTurn();
      for (let i = keyCount - 1; i >= 0; i--) {
        at(backend, `key-${i}`);
        assert.deepEqual(table.get(VOID_NAMESPACE), { id: i, payload: i % 2 === 0 ? 'updated' : `p${i}` });
        assert.deepEqual(table.get(1), i % 5 === 0 ? undefined : { id: -i, payload: '' });
      }
      assert.equal(await backend.countEntries(), keyCount + keyCount - keyCount / 5);
    });

    it('rescales 1 → 3 → 1 keeping every entry exactly once', async () => {
      const original = await newBackend();
      const model = new StateModel();
      fillWithMixedState(original, model, 2_000);
      const snapshot = await original.snapshot();
      assert.deepEqual(flattenSnapshot(snapshot), model.flattened());

      const parts: KeyedStateSnapshot[] = [];
      let restoredEntries = 0;
      for (let subtask = 0; subtask < 3; subtask++) {
        const range = keyGroupRangeForSubtask(MAX_PARALLELISM, 3, subtask);
        const part = await newBackend(range);
        await part.restore([snapshot]);
        const partSnapshot = await part.snapshot();
        for (const group of partSnapshot.keyGroups) assert.ok(range.contains(group.keyGroup), `${group.keyGroup} outside ${range}`);
        assert.deepEqual(flattenSnapshot(partSnapshot), model.flattened(range));
        const count = await part.countEntries();
        assert.equal(count, model.flattened(range).length);
        restoredEntries += count;
        // The restored state is live: reads by key see it, writes go on.
        for (const [keyGroup, stateName, key, namespace, value] of model.flattened(range).slice(0, 50)) {
          part.setCurrentKey(key, keyGroup);
          assert.deepEqual(part.getTable(stateName).get(namespace), value);
        }
        parts.push(partSnapshot);
      }
      assert.equal(restoredEntries, model.entries.size);

      const merged = await newBackend();
      await merged.restore(parts);
      assert.deepEqual(flattenSnapshot(await merged.snapshot()), model.flattened());
      assert.equal(await merged.countEntries(), model.entries.size);
    });

    it('restores only its key groups from snapshots that reach beyond them', async () => {
      const backend = await newBackend(KeyGroupRange.of(0, 63));
      const snapshot: KeyedStateSnapshot = {
        maxParallelism: MAX_PARALLELISM,
        keyGroups: [
          { keyGroup: 5, entries: [['s', 'in', VOID_NAMESPACE, 1]] },
          { keyGroup: 63, entries: [['s', 'edge', 'w', { x: 1 }]] },
          { keyGroup: 64, entries: [['s', 'out', VOID_NAMESPACE, 2]] },
          { keyGroup: 127, entries: [['s', 'far', VOID_NAMESPACE, 3]] },
        ],
      };
      await backend.restore([snapshot]);
      assert.deepEqual(flattenSnapshot(await backend.snapshot()), [
        [5, 's', 'in', VOID_NAMESPACE, 1],
        [63, 's', 'edge', 'w', { x: 1 }],
      ]);
      // Restore copies: changing the snapshot afterwards changes nothing.
      (snapshot.keyGroups[1]!.entries[0]![3] as { x: number }).x = 2;
      backend.setCurrentKey('edge', 63);
      assert.deepEqual(backend.getTable('s').get('w'), { x: 1 });
    });

    it('refuses a snapshot of another maxParallelism, and restoring into a key group that holds state, naming it', async () => {
      const backend = await newBackend();
      await assert.rejects(backend.restore([{ maxParallelism: 256, keyGroups: [] }]), RestoreError);
      const other = await newBackend(KeyGroupRange.of(0, 63));
      const held = keyOfGroupIn(KeyGroupRange.of(0, 63), 'held');
      at(other, held);
      other.getTable<number>('t').put(VOID_NAMESPACE, 1);
      await other.setKeyGroupRange(KeyGroupRange.of(0, 95)); // a running backend that gained 64..95
      const stillEmpty = keyOfGroupIn(KeyGroupRange.of(64, 95), 'gained');
      const keyGroups: KeyGroupState[] = [
        { keyGroup: keyGroupOf(held), entries: [['t', `another-${held}`, VOID_NAMESPACE, 2]] },
        { keyGroup: keyGroupOf(stillEmpty), entries: [['t', stillEmpty, VOID_NAMESPACE, 3]] },
      ];
      const snapshot: KeyedStateSnapshot = { maxParallelism: MAX_PARALLELISM, keyGroups };
      await assert.rejects(
        other.restore([snapshot]),
        (error: unknown) => error instanceof RestoreError && new RegExp(`key group ${keyGroupOf(held)}\\b`).test(error.message),
      );
      // Refused before anything was loaded, the gained key group included.
      assert.equal(await other.countEntries(), 1);
      at(other, held);
      assert.equal(other.getTable<number>('t').get(VOID_NAMESPACE), 1);
      // Without the conflicting key group, the same restore adds the gained one.
      await other.restore([{ maxParallelism: MAX_PARALLELISM, keyGroups: snapshot.keyGroups.filter((g) => g.keyGroup !== keyGroupOf(held)) }]);
      at(other, stillEmpty);
      assert.equal(other.getTable<number>('t').get(VOID_NAMESPACE), 3);
      assert.equal(await other.countEntries(), 2);
    });

    it('shrinks its range: exactly the entries of the key groups it leaves are gone, snapshots taken before still hold them', async () => {
      const backend = await newBackend();
      const model = new StateModel();
      fillWithMixedState(backend, model, 2_000);
      const kept = KeyGroupRange.of(0, 63);
      const dropped = KeyGroupRange.of(64, 127);
      assert.ok(model.flattened(dropped).length > 0 && model.flattened(kept).length > 0);
      assert.equal(await backend.countEntries(), model.entries.size);
      // No await between the writes and the shrink: a LevelDB backend still has dirty and unflushed writes of 64..127.
      const before = backend.snapshot();
      const reader = backend.snapshotByKeyGroup?.(1);
      await backend.setKeyGroupRange(kept);
      assert.equal(backend.keyGroupRange, kept);
      assert.equal(await backend.countEntries(), model.flattened(kept).length);
      assert.deepEqual(flattenSnapshot(await backend.snapshot()), model.flattened(kept));
      for (const [keyGroup, stateName, key, namespace, value] of model.flattened(kept)) {
        backend.setCurrentKey(key, keyGroup);
        assert.deepEqual(backend.getTable(stateName).get(namespace), value);
      }
      for (const [keyGroup, , key] of model.flattened(dropped).slice(0, 20)) assert.throws(() => backend.setCurrentKey(key, keyGroup), RangeError);
      // Captured before the shrink: the old state, dropped key groups included.
      assert.deepEqual(flattenSnapshot(await before), model.flattened());
      if (reader !== undefined) {
        assert.deepEqual(reader.keyGroups, [...FULL_RANGE]);
        const read: FlatEntry[] = [];
        for (const keyGroup of reader.keyGroups) {
          for (const [stateName, key, namespace, value] of rawPairsToEntries(await reader.readRaw(keyGroup), `key group ${keyGroup}`)) {
            read.push([keyGroup, stateName, key, namespace, value]);
          }
        }
        await reader.close();
        assert.deepEqual(flattenSnapshot({ maxParallelism: MAX_PARALLELISM, keyGroups: groupFlat(read) }), model.flattened());
      }
      // Later writes and flushes cannot bring dropped state back: taking 64..127 again finds them empty.
      fillWithMixedState(backend, model, 3_000, kept, 'later');
      await nextTurn();
      await backend.setKeyGroupRange(FULL_RANGE);
      assert.deepEqual(flattenSnapshot(await backend.snapshot()), model.flattened(kept));
      assert.equal(await backend.countEntries(), model.flattened(kept).length);
      for (const [keyGroup, stateName, key, namespace] of model.flattened(dropped).slice(0, 50)) {
        backend.setCurrentKey(key, keyGroup);
        assert.equal(backend.getTable(stateName).get(namespace), undefined);
      }
      await assert.rejects(backend.setKeyGroupRange(KeyGroupRange.of(0, MAX_PARALLELISM)), ConfigurationError);
    });

    it('shifts to an overlapping and then a disjoint range, restoring the gained key groups from another backend (entries and raw pairs)', async () => {
      const source = await newBackend();
      const sourceModel = new StateModel();
      fillWithMixedState(source, sourceModel, 3_000, FULL_RANGE, 'source');
      const sourceSnapshot = await source.snapshot();

      const backend = await newBackend(KeyGroupRange.of(0, 63));
      const own = new StateModel();
      fillWithMixedState(backend, own, 3_000, KeyGroupRange.of(0, 63), 'own');
      // 0..63 → 32..95: keeps 32..63, drops 0..31, gains 64..95 (restored from entries).
      const shifted = KeyGroupRange.of(32, 95);
      const gained = KeyGroupRange.of(64, 95);
      await backend.setKeyGroupRange(shifted);
      assert.equal(await backend.countEntries(), own.flattened(KeyGroupRange.of(32, 63)).length);
      await backend.restore([onlyKeyGroups(sourceSnapshot, gained)]);
      const expected = [...own.flattened(KeyGroupRange.of(32, 63)), ...sourceModel.flattened(gained)];
      assert.deepEqual(flattenSnapshot(await backend.snapshot()), flattenSnapshot({ maxParallelism: MAX_PARALLELISM, keyGroups: groupFlat(expected) }));
      assert.equal(await backend.countEntries(), expected.length);
      for (const [keyGroup, stateName, key, namespace, value] of expected) {
        backend.setCurrentKey(key, keyGroup);
        assert.deepEqual(backend.getTable(stateName).get(namespace), value);
      }
      // The restored state is live: it takes writes like the rest.
      const [keyGroup, stateName, key, namespace] = sourceModel.flattened(gained)[0]!;
      backend.setCurrentKey(key, keyGroup);
      backend.getTable(stateName).put(namespace, 'overwritten');
      assert.equal(backend.getTable(stateName).get(namespace), 'overwritten');

      // 32..95 → 96..127: nothing kept, all gained, restored from raw pairs as a LevelDB checkpoint stores them.
      const disjoint = KeyGroupRange.of(96, 127);
      await backend.setKeyGroupRange(disjoint);
      assert.equal(await backend.countEntries(), 0);
      await backend.restore([asRawPairs(onlyKeyGroups(sourceSnapshot, disjoint))]);
      assert.deepEqual(flattenSnapshot(await backend.snapshot()), sourceModel.flattened(disjoint));
      for (const [keyGroup, stateName, key, namespace, value] of sourceModel.flattened(disjoint)) {
        backend.setCurrentKey(key, keyGroup);
        assert.deepEqual(backend.getTable(stateName).get(namespace), value);
      }
    });

    // Registered only for backends that snapshot incrementally: a skipped test would say nothing.
    if (capabilities.incremental) it('after a shift and a restore, reports the gained key groups as changed and leaves the dropped ones out (incremental checkpoints)', async () => {
      const backend = await newBackend(KeyGroupRange.of(0, 95));
      if (backend.snapshotByKeyGroup === undefined || backend.confirmSnapshot === undefined) assert.fail(`${name} says it snapshots incrementally but has no snapshotByKeyGroup/confirmSnapshot`);
      fillWithMixedState(backend, new StateModel(), 1_000, KeyGroupRange.of(0, 95));
      const first = backend.snapshotByKeyGroup(1);
      for (const keyGroup of first.keyGroups) first.remember(keyGroup, `checkpoint-1/${keyGroup}`);
      await first.close();
      backend.confirmSnapshot(1);
      const second = backend.snapshotByKeyGroup(2);
      assert.ok(second.keyGroups.every((keyGroup) => !second.changedSinceBaseline(keyGroup)), 'nothing changed since checkpoint 1');
      await second.close();

      const source = await newBackend();
      const sourceModel = new StateModel();
      fillWithMixedState(source, sourceModel, 1_000, FULL_RANGE, 'source');
      // 0..95 → 32..127: drops 0..31, keeps 32..95, gains 96..127.
      const gained = KeyGroupRange.of(96, 127);
      await backend.setKeyGroupRange(KeyGroupRange.of(32, 127));
      await backend.restore([onlyKeyGroups(await source.snapshot(), gained)]);
      const third = backend.snapshotByKeyGroup(3);
      assert.deepEqual(third.keyGroups, [...KeyGroupRange.of(32, 127)]);
      for (const keyGroup of third.keyGroups) {
        if (gained.contains(keyGroup)) {
          assert.equal(third.changedSinceBaseline(keyGroup), true, `gained key group ${keyGroup}`);
        } else {
          assert.equal(third.changedSinceBaseline(keyGroup), false, `kept key group ${keyGroup}`);
          assert.equal(third.baselineReference(keyGroup), `checkpoint-1/${keyGroup}`);
        }
      }
      for (const keyGroup of KeyGroupRange.of(0, 31)) assert.equal(third.baselineReference(keyGroup), undefined, `dropped key group ${keyGroup}`);
      const read: FlatEntry[] = [];
      for (const keyGroup of gained) {
        for (const [stateName, key, namespace, value] of rawPairsToEntries(await third.readRaw(keyGroup), `key group ${keyGroup}`)) read.push([keyGroup, stateName, key, namespace, value]);
      }
      await third.close();
      assert.deepEqual(flattenSnapshot({ maxParallelism: MAX_PARALLELISM, keyGroups: groupFlat(read) }), sourceModel.flattened(gained));
    });

    it('round-trips state through the in-memory reference backend', async () => {
      const reference = new InMemoryKeyedStateBackend({ keyGroupRange: FULL_RANGE, maxParallelism: MAX_PARALLELISM });
      const model = new StateModel();
      fillWithMixedState(reference, model, 500);
      const values = reference.getTable<unknown>('rich');
      at(reference, ['m', 1n]);
      values.put('ns', new Map([[1, new Set([2n])]]));
      model.put('rich', ['m', 1n], 'ns', new Map([[1, new Set([2n])]]));
      const fromReference = await reference.snapshot();
      await reference.dispose();

      const backend = await newBackend();
      await backend.restore([fromReference]);
      const fromBackend = await backend.snapshot();
      assert.deepEqual(flattenSnapshot(fromBackend), model.flattened());

      const back = new InMemoryKeyedStateBackend({ keyGroupRange: FULL_RANGE, maxParallelism: MAX_PARALLELISM });
      await back.restore([fromBackend]);
      assert.deepEqual(flattenSnapshot(await back.snapshot()), flattenSnapshot(fromReference));
      await back.dispose();
    });

    it('matches a plain Map model over seeded random operations', async () => {
      for (const seed of [1, 2, 3]) {
        const random = seededRandom(seed);
        const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
        const backend = await newBackend();
        const model = new StateModel();
        const stateNames = ['alpha', 'beta', 'gamma'];
        const namespaces: Namespace[] = [VOID_NAMESPACE, 1, 2, 'w-1'];
        const keys: StateKey[] = [];
        for (let i = 0; i < 40; i++) keys.push(`k${i}`, i, BigInt(i), [`k${i % 7}`, i % 3], [i % 2 === 0, [i]]);
        keys.push(true, false, '');
        const pendingSnapshots: { snapshot: Promise<KeyedStateSnapshot>; expected: FlatEntry[] }[] = [];
        const operationCount = 1_500;
        for (let op = 0; op < operationCount; op++) {
          const stateName = pick(stateNames);
          const key = pick(keys);
          const namespace = pick(namespaces);
          const table = at(backend, key).getTable<unknown>(stateName);
          const context = `seed ${seed}, op ${op}: ${stateName} ${describeKey(key)} ${describeKey(namespace)}`;
          const roll = random();
          if (roll < 0.35) {
            const value = pick([
              () => op,
              () => ({ op, list: [op, String(op)] }),
              () => new Map([[op, `v${op}`]]),
              () => [BigInt(op), null],
            ])();
            table.put(namespace, value);
            model.put(stateName, key, namespace, value);
          } else if (roll < 0.65) {
            assert.deepEqual(table.get(namespace), model.get(stateName, key, namespace), context);
          } else if (roll < 0.75) {
            // Read, change in place, put back: the way list and map state update.
            const current = table.get(namespace);
            const updated = current !== null && typeof current === 'object' && 'list' in current
              ? (((current as { list: unknown[] }).list.push(op)), current)
              : { op, list: [op] };
            table.put(namespace, updated);
            model.put(stateName, key, namespace, updated);
          } else if (roll < 0.9) {
            table.remove(namespace);
            model.remove(stateName, key, namespace);
          } else if (roll < 0.95) {
            pendingSnapshots.push({ snapshot: backend.snapshot(), expected: model.flattened() });
          } else if (roll < 0.97) {
            assert.equal(await backend.countEntries(), model.entries.size, context);
          } else {
            await nextTurn();
          }
        }
        for (const [keyGroup, stateName, key, namespace, value] of model.entries.values()) {
          backend.setCurrentKey(key, keyGroup);
          assert.deepEqual(backend.getTable(stateName).get(namespace), value, `seed ${seed}: final read`);
        }
        assert.ok(pendingSnapshots.length > 0);
        for (const [index, { snapshot, expected }] of pendingSnapshots.entries()) {
          assert.deepEqual(flattenSnapshot(await snapshot), expected, `seed ${seed}: snapshot ${index}`);
        }
        assert.deepEqual(flattenSnapshot(await backend.snapshot()), model.flattened(), `seed ${seed}: final snapshot`);
        assert.equal(await backend.countEntries(), model.entries.size);
      }
    });

    it('with cleanupFullSnapshot, leaves expired TTL values out of snapshots and keeps the others with their timestamps, through a rescale', async () => {
      // The values as the TTL state handles store them (state-ttl.ts): [value, last update], per element, per entry.
      const clock = new ManualClock(0);
      const backend = await newBackend();
      const config = StateTtlConfig.newBuilder(100).cleanupFullSnapshot().disableCleanupInBackground().build();
      const keptWhole = StateTtlConfig.newBuilder(100).disableCleanupInBackground().build();
      const register = <V>(descriptor: ValueStateDescriptor<unknown> | ListStateDescriptor<unknown> | MapStateDescriptor<unknown, unknown>) =>
        backend.getTable<V>(descriptor.name, stateTtlPolicy(descriptor, descriptor.ttlConfig!, clock));
      const values = register<[string, number]>(new ValueStateDescriptor('v').enableTimeToLive(config));
      const lists = register<[string, number][]>(new ListStateDescriptor('l').enableTimeToLive(config));
      const maps = register<Map<string, [string, number]>>(new MapStateDescriptor('m').enableTimeToLive(config));
      const unfiltered = register<[string, number]>(new ValueStateDescriptor('u').enableTimeToLive(keptWhole));
      const plain = backend.getTable<[string, number]>('plain');
      const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
      for (const [i, key] of keys.entries()) {
        at(backend, key);
        const written = i % 2 === 0 ? 0 : 50; // expired at 120 (0 + 100 ≤ 120), or not (150 > 120)
        values.put(VOID_NAMESPACE, [key, written]);
        lists.put(VOID_NAMESPACE, [['old', 0], ['new', 50]]);
        maps.put(VOID_NAMESPACE, new Map([['old', ['o', 0] as [string, number]], [key, ['n', written]]]));
        unfiltered.put(VOID_NAMESPACE, [key, 0]);
        plain.put(VOID_NAMESPACE, [key, 0]); // no time-to-live: a pair like any other value
      }
      clock.advanceTo(120);
      const model = new StateModel();
      for (const [i, key] of keys.entries()) {
        if (i % 2 === 1) model.put('v', key, VOID_NAMESPACE, [key, 50]);
        model.put('l', key, VOID_NAMESPACE, [['new', 50]]);
        if (i % 2 === 1) model.put('m', key, VOID_NAMESPACE, new Map([[key, ['n', 50]]]));
        model.put('u', key, VOID_NAMESPACE, [key, 0]);
        model.put('plain', key, VOID_NAMESPACE, [key, 0]);
      }
      const snapshot = await backend.snapshot();
      assert.deepEqual(flattenSnapshot(snapshot), model.flattened());
      if (capabilities.incremental) {
        // What a checkpoint writes of each key group it reads anew is filtered the same way.
        const reader = backend.snapshotByKeyGroup!(1);
        const fromRaw: KeyGroupState[] = [];
        for (const keyGroup of reader.keyGroups) {
          const entries = rawPairsToEntries(await reader.readRaw(keyGroup), `key group ${keyGroup}`);
          if (entries.length > 0) fromRaw.push({ keyGroup, entries });
        }
        await reader.close();
        assert.deepEqual(flattenSnapshot({ maxParallelism: MAX_PARALLELISM, keyGroups: fromRaw }), model.flattened());
      }
      // The backend itself still holds the expired values: snapshots filter, they do not clean up.
      at(backend, 'k0');
      assert.deepEqual(values.get(VOID_NAMESPACE), ['k0', 0]);
      // Rescaled 1 → 2: each half holds its key groups' values with the timestamps they were written
      // with, so what was written at 50 expires at 150 there too.
      const halves = [keyGroupRangeForSubtask(MAX_PARALLELISM, 2, 0), keyGroupRangeForSubtask(MAX_PARALLELISM, 2, 1)];
      const parts: KeyedStateBackend[] = [];
      for (const range of halves) {
        const part = await newBackend(range);
        await part.restore([snapshot]);
        assert.deepEqual(flattenSnapshot(await part.snapshot()), model.flattened(range));
        parts.push(part);
      }
      clock.advanceTo(150);
      for (const entry of [...model.entries.values()]) if (entry[1] !== 'u' && entry[1] !== 'plain') model.remove(entry[1], entry[2], entry[3]);
      for (const [i, part] of parts.entries()) {
        for (const descriptor of [new ValueStateDescriptor('v'), new ListStateDescriptor('l'), new MapStateDescriptor('m')]) {
          part.getTable(descriptor.name, stateTtlPolicy(descriptor, config, clock));
        }
        assert.deepEqual(flattenSnapshot(await part.snapshot()), model.flattened(halves[i]));
      }
    });

    it('lists the keys holding a value of one state in one namespace, as the state stands when the list is done', async () => {
      const backend = await newBackend();
      const random = seededRandom(2020);
      const amounts = backend.getTable<number>('amounts');
      const other = backend.getTable<number>('other');
      const keys: StateKey[] = Array.from({ length: 600 }, (_, i) => (i % 5 === 0 ? ['user', i] : i % 2 === 0 ? i : `u${i}`));
      const holding = new Map<string, StateKey>();
      // Writes of this state in other namespaces and of other states must not be listed.
      const step = (): void => {
        const key = keys[Math.floor(random() * keys.length)]!;
        at(backend, key);
        const r = random();
        if (r < 0.5) {
          amounts.put(VOID_NAMESPACE, Math.floor(r * 100));
          holding.set(describeKey(key), key);
        } else if (r < 0.75) {
          amounts.remove(VOID_NAMESPACE);
          holding.delete(describeKey(key));
        } else if (r < 0.9) amounts.put(7, 1);
        else other.put(VOID_NAMESPACE, 1);
      };
      for (let i = 0; i < 3_000; i++) step();
      // Listed at once, or while writes go on (into the cache, the overlays and, held back, LevelDB).
      const result = backend.keysWithState('amounts', VOID_NAMESPACE);
      let expected: string[] | undefined;
      if (result instanceof Promise) {
        void result.then(() => (expected = [...holding.keys()].sort()));
        while (expected === undefined) {
          for (let i = 0; i < 40; i++) step();
          await nextTurn();
        }
      } else expected = [...holding.keys()].sort();
      const listed = await result;
      assert.deepEqual(listed.map(({ key }) => describeKey(key)).sort(), expected);
      for (const [i, { key, keyGroup }] of listed.entries()) {
        assert.equal(keyGroup, keyGroupOf(key), `key group of ${describeKey(key)}`);
        if (i > 0) assert.ok(listed[i - 1]!.keyGroup <= keyGroup, 'ordered by key group');
      }
      assert.deepEqual(await backend.keysWithState('never-written', VOID_NAMESPACE), []);
      assert.deepEqual((await backend.keysWithState('amounts', 7)).length > 0, true);
    });

    it('lists only the keys of its own key groups, after a restore at another parallelism and after its range changes', async () => {
      const original = await newBackend();
      const model = new StateModel();
      fillWithMixedState(original, model, 2_000);
      const snapshot = await original.snapshot();
      const listedIn = (range?: KeyGroupRange, stateName = 'count', namespace: Namespace = VOID_NAMESPACE): string[] =>
        model.flattened(range).filter((entry) => entry[1] === stateName && entry[3] === namespace).map(([, , key]) => describeKey(key)).sort();
      const describeListed = async (backend: KeyedStateBackend, stateName = 'count', namespace: Namespace = VOID_NAMESPACE): Promise<string[]> =>
        (await backend.keysWithState(stateName, namespace)).map(({ key }) => describeKey(key)).sort();
      assert.ok(listedIn().length > 100);
      assert.deepEqual(await describeListed(original), listedIn());
      assert.deepEqual(await describeListed(original, 'window-sum', 1001), listedIn(undefined, 'window-sum', 1001));

      // Restored, never read: the state is listed from what the restore stored.
      const range = keyGroupRangeForSubtask(MAX_PARALLELISM, 3, 1);
      const part = await newBackend(range);
      await part.restore([snapshot]);
      assert.deepEqual(await describeListed(part), listedIn(range));

      const narrower = keyGroupRangeForSubtask(MAX_PARALLELISM, 4, 1);
      await part.setKeyGroupRange(narrower);
      assert.deepEqual(await describeListed(part), listedIn(narrower.intersection(range)));
    });

    it('can be disposed twice', async () => {
      const backend = await create({ keyGroupRange: FULL_RANGE, maxParallelism: MAX_PARALLELISM });
      at(backend, 'k');
      backend.getTable<number>('t').put(VOID_NAMESPACE, 1);
      await backend.dispose();
      await backend.dispose();
    });
  });
}
