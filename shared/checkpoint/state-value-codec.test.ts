// The LevelDB backend's value codec must give back what v8.serialize/deserialize would, whichever
// of its two encodings it picks.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deserialize, serialize } from 'node:v8';
import { StateValueEncoder, decodeStateValue } from './state-value-codec.ts';
import { seededRandom } from '../testing/seeded-random.ts';

const V8_SERIALIZED = 0xff;

function roundTrip(encoder: StateValueEncoder, value: unknown): { decoded: unknown; usedV8: boolean } {
  const bytes = encoder.encode(value);
  return { decoded: decodeStateValue(bytes), usedV8: bytes[0] === V8_SERIALIZED };
}

describe('state value codec', () => {
  const encoder = new StateValueEncoder();

  it('round-trips plain data with its own encoding', () => {
    const values: unknown[] = [
      0, -0, 1.5, -1e300, NaN, Infinity, 2 ** 53 + 2,
      '', 'ascii', 'é ü ✓ 😀', 'x'.repeat(42), 'y'.repeat(43), 'z✓'.repeat(500), '\uD800 lone', 'a\uDC00',
      true, false, null, undefined,
      0n, -123456789012345678901234567890n,
      [], [1, 'two', [3, [4]]], [undefined, null],
      {}, { a: 1, b: { c: [true] } }, { 2: 'two', 1: 'one', z: 'z' },
      new Map<unknown, unknown>([['k', 1], [2, new Set([3n])], [null, { deep: new Date(5) }]]),
      new Set(['a', 1, false]),
      new Date(1_700_000_000_123),
      Object.assign(Object.create(null) as object, { nullPrototype: true }),
    ];
    values.forEach((value, index) => {
      const { decoded, usedV8 } = roundTrip(encoder, value);
      assert.equal(usedV8, false, `fast path for value ${index}`);
      assert.deepEqual(decoded, deserialize(serialize(value)), `round trip of value ${index}`);
    });
    assert.ok(Object.is(roundTrip(encoder, -0).decoded, -0));
    const invalidDate = roundTrip(encoder, new Date(NaN)).decoded;
    assert.ok(invalidDate instanceof Date && Number.isNaN(invalidDate.getTime()));
  });

  it('keeps an own __proto__ property an own property', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as Record<string, unknown>;
    const { decoded } = roundTrip(encoder, value);
    assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
    assert.deepEqual(Object.keys(decoded as object), ['__proto__', 'x']);
    assert.deepEqual((decoded as Record<string, unknown>)['__proto__'], { polluted: true });
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  it('leaves shared and cyclic references, sparse arrays and other classes to v8', () => {
    const shared = { s: 1 };
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic['self'] = cyclic;
    class Point {
      constructor(readonly x: number) {}
    }
    const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
    const values: unknown[] = [
      { a: shared, b: shared },
      cyclic,
      sparse,
      new Point(3),
      new Uint8Array([1, 2, 3]),
      /re/g,
      { nested: new Float64Array([1.5]) },
    ];
    values.forEach((value, index) => {
      const { decoded, usedV8 } = roundTrip(encoder, value);
      assert.equal(usedV8, true, `v8 for value ${index}`);
      assert.deepEqual(decoded, deserialize(serialize(value)), `round trip of value ${index}`);
    });
    const decodedShared = roundTrip(encoder, { a: shared, b: shared }).decoded as { a: object; b: object };
    assert.equal(decodedShared.a, decodedShared.b, 'sharing survives');
    const decodedCyclic = roundTrip(encoder, cyclic).decoded as Record<string, unknown>;
    assert.equal(decodedCyclic['self'], decodedCyclic);
    assert.equal(1 in (roundTrip(encoder, sparse).decoded as unknown[]), false, 'the hole survives');
  });

  it('throws what v8 throws for values that cannot be stored, and recovers', () => {
    assert.throws(() => encoder.encode({ callback: () => 1 }));
    assert.throws(() => encoder.encode(Symbol('s')));
    assert.deepEqual(roundTrip(encoder, { after: 'error' }).decoded, { after: 'error' });
  });

  it('handles values larger than its scratch buffer, and deep nesting', () => {
    const big = { items: Array.from({ length: 20_000 }, (_, i) => ({ id: i, name: `item-${i}` })) };
    assert.deepEqual(roundTrip(encoder, big).decoded, big);
    let deep: unknown = 'bottom';
    for (let i = 0; i < 200; i++) deep = [deep];
    assert.deepEqual(roundTrip(encoder, deep).decoded, deep);
  });

  it('round-trips random plain data', () => {
    const random = seededRandom(7);
    const randomValue = (depth: number): unknown => {
      const roll = Math.floor(random() * (depth > 3 ? 6 : 10));
      switch (roll) {
        case 0: return random() * 1e6 - 5e5;
        case 1: return String.fromCharCode(...Array.from({ length: Math.floor(random() * 60) }, () => Math.floor(random() * 0xffff)));
        case 2: return random() < 0.5;
        case 3: return null;
        case 4: return BigInt(Math.floor(random() * 1e9)) ** 3n;
        case 5: return undefined;
        case 6: return Array.from({ length: Math.floor(random() * 5) }, () => randomValue(depth + 1));
        case 7: return Object.fromEntries(Array.from({ length: Math.floor(random() * 5) }, (_, i) => [`k${i}${random()}`, randomValue(depth + 1)]));
        case 8: return new Map(Array.from({ length: Math.floor(random() * 4) }, () => [randomValue(depth + 1), randomValue(depth + 1)]));
        default: return new Set(Array.from({ length: Math.floor(random() * 4) }, () => randomValue(depth + 1)));
      }
    };
    for (let i = 0; i < 2_000; i++) {
      const value = randomValue(0);
      assert.deepEqual(decodeStateValue(encoder.encode(value)), deserialize(serialize(value)), `value ${i}`);
    }
  });

  it('rejects bytes that are not a state value', () => {
    assert.throws(() => decodeStateValue(Buffer.alloc(0)), SyntaxError);
    assert.throws(() => decodeStateValue(Buffer.from([0x01, 0, 0])), SyntaxError);
    assert.throws(() => decodeStateValue(Buffer.from([0x04, 0x04])), SyntaxError);
    assert.throws(() => decodeStateValue(Buffer.from([0x1f])), SyntaxError);
  });
});
