// The LevelDB key layout: key group first (one key group, one contiguous range), unambiguous both
// ways.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StateKeyEncoder, decodeStateKey, keyGroupOfKeyText, keyGroupPrefix, stateNameSegment } from './leveldb-key-codec.ts';
import type { Namespace, StateKey } from './keyed-state-snapshot.ts';
import { describeKey } from '../testing/describe-key.ts';

const trickyKeys: StateKey[] = [
  '', 'a', 'a\u0000', '\u0000', 'é', '😀', '\uD800', '\uDFFF', 'x'.repeat(300),
  0, 1, -1, 0.5, 2 ** 60, -Infinity, 1n, -1n, 2n ** 100n, true, false,
  [], [[]], ['a', 1], ['a', '1'], ['a', 1n], [1, 'a'], ['a', [1]], [['a'], 1], [null], [undefined], [null, undefined],
  ['\uD800', 'x'.repeat(200), [true, [false, [0]]]],
];
const namespaces: Namespace[] = [0, 1, -1, 1.5, '', '0', 'window-1', '\uD800'];

describe('LevelDB state key codec', () => {
  it('decodes every key back to its parts', () => {
    const encoder = new StateKeyEncoder();
    for (const stateName of ['s', 'état', 'x'.repeat(1000)]) {
      for (const key of trickyKeys) {
        for (const namespace of namespaces) {
          const keyGroup = (key.toString().length * 131) % 32768;
          const text = encoder.encode(keyGroup, stateNameSegment(stateName), key, namespace);
          const bytes = Buffer.from(text, 'latin1');
          assert.deepEqual(bytes, Buffer.from(encoder.lastKeyBytes()));
          assert.equal(keyGroupOfKeyText(text), keyGroup);
          assert.deepEqual(decodeStateKey(bytes), { keyGroup, stateName, key, namespace });
        }
      }
    }
  });

  it('gives different parts different bytes', () => {
    const encoder = new StateKeyEncoder();
    const seen = new Map<string, string>();
    for (const stateName of ['a', 'ab', 'b']) {
      for (const key of trickyKeys) {
        for (const namespace of namespaces) {
          const text = encoder.encode(7, stateNameSegment(stateName), key, namespace);
          const parts = `${stateName} ${describeKey(key)} ${describeKey(namespace)}`;
          assert.equal(seen.get(text), undefined, `${parts} collides with ${seen.get(text)}`);
          seen.set(text, parts);
        }
      }
    }
    assert.equal(encoder.encode(7, stateNameSegment('a'), -0, 0), encoder.encode(7, stateNameSegment('a'), 0, -0), '-0 is 0');
  });

  it('keeps every key of a key group inside that key group’s range', () => {
    const encoder = new StateKeyEncoder();
    for (const keyGroup of [0, 1, 255, 256, 32767]) {
      const start = keyGroupPrefix(keyGroup);
      const end = keyGroupPrefix(keyGroup + 1);
      for (const key of trickyKeys) {
        const bytes = Buffer.from(encoder.encode(keyGroup, stateNameSegment('state'), key, 'ns'), 'latin1');
        assert.ok(Buffer.compare(bytes, start) >= 0 && Buffer.compare(bytes, end) < 0, `${describeKey(key)} in ${keyGroup}`);
      }
    }
  });

  it('rejects bytes that are not a state key', () => {
    assert.throws(() => decodeStateKey(Buffer.from([0, 1])), SyntaxError);
    const encoder = new StateKeyEncoder();
    const bytes = Buffer.from(encoder.encode(1, stateNameSegment('s'), 'k', 1), 'latin1');
    assert.throws(() => decodeStateKey(bytes.subarray(0, bytes.length - 1)), SyntaxError);
    assert.throws(() => decodeStateKey(Buffer.concat([bytes, Buffer.from([0])])), SyntaxError);
  });
});
