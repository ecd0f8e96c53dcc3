// Composite keys in the heap maps: equal content finds the same slot whatever the array's
// identity, different content never does, even when hashes collide.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CompositeKeyMap, compositeKeyHash, compositeKeysEqual, forEachCompositeSlot } from './composite-key-map.ts';

const distinctKeys: unknown[][] = [
  [], [[]], [[], []], ['a'], ['a', 1], ['a', '1'], ['a', 1n], [1, 'a'], ['a', [1]], [['a'], 1], ['a', 1, null], ['a', 1, undefined],
  [null], [undefined], [true], [false], ['true'], [0], [0.5], [NaN], [Infinity], [-Infinity], [2 ** 53], [1n], [-(2n ** 70n)],
  ['\uD800'], ['\uDBFF'], ['é'], ['', ''], [''], ['ab', 'c'], ['a', 'bc'],
];

describe('composite key map', () => {
  it('hashes and compares by content with SameValueZero parts', () => {
    for (const key of distinctKeys) {
      const copy = structuredClone(key);
      assert.ok(compositeKeysEqual(key, copy));
      assert.equal(compositeKeyHash(key), compositeKeyHash(copy));
    }
    assert.ok(compositeKeysEqual([-0], [0]));
    assert.equal(compositeKeyHash([-0]), compositeKeyHash([0]));
    assert.ok(compositeKeysEqual([NaN], [Number('x')]));
    for (let i = 0; i < distinctKeys.length; i++) {
      for (let j = 0; j < distinctKeys.length; j++) {
        if (i !== j) assert.ok(!compositeKeysEqual(distinctKeys[i]!, distinctKeys[j]!), `${i} vs ${j}`);
      }
    }
  });

  it('finds, replaces and deletes keys, also when every hash collides', () => {
    for (const hashOf of [compositeKeyHash, () => 42]) {
      const map = new CompositeKeyMap<number>();
      distinctKeys.forEach((key, i) => map.set(key, hashOf(key), i));
      assert.equal(map.size, distinctKeys.length);
      distinctKeys.forEach((key, i) => assert.equal(map.get(structuredClone(key), hashOf(key)), i));
      map.set(['a', 1], hashOf(['a', 1]), 100);
      assert.equal(map.size, distinctKeys.length);
      assert.equal(map.get(['a', 1], hashOf(['a', 1])), 100);
      for (const key of distinctKeys.slice(0, 10)) assert.ok(map.delete(structuredClone(key), hashOf(key)));
      assert.ok(!map.delete(['a', 1], hashOf(['a', 1])), 'already deleted');
      assert.equal(map.size, distinctKeys.length - 10);
      for (const key of distinctKeys.slice(0, 10)) assert.equal(map.get(key, hashOf(key)), undefined);
      const seen: unknown[][] = [];
      forEachCompositeSlot(map.chainsForSnapshot(), (key) => seen.push([...key]));
      assert.equal(seen.length, distinctKeys.length - 10);
    }
  });

  it('keeps its own normalized copy of each key', () => {
    const map = new CompositeKeyMap<string>();
    const key: unknown[] = ['k', [1], -0];
    const stored = map.set(key, compositeKeyHash(key), 'v');
    (key[1] as number[]).push(2);
    key[0] = 'changed';
    assert.deepEqual(stored, ['k', [1], 0]);
    assert.ok(Object.is(stored[2], 0));
    assert.equal(map.get(['k', [1], 0], compositeKeyHash(['k', [1], 0])), 'v');
  });

  it('rejects parts that cannot be in a key, and cyclic keys', () => {
    assert.throws(() => compositeKeyHash([{}]), TypeError);
    assert.throws(() => compositeKeyHash([Symbol('s')]), TypeError);
    assert.throws(() => compositeKeyHash([() => 1]), TypeError);
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    assert.throws(() => compositeKeyHash(cyclic), TypeError);
  });
});
