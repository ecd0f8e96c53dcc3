import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChannelEvent } from '../runtime/exchange.ts';
import {
  ChannelEventDecoder,
  ChannelEventEncoder,
  RecordBatchCodecError,
  decodeChannelEvent,
  encodeChannelEvent,
  recordsEncodingPath,
} from './record-batch-codec.ts';

function records(values: unknown[], timestamps = values.map((_, i) => 1_700_000_000_000 + i)): ChannelEvent {
  return { kind: 'records', values, timestamps };
}

function roundTrip(event: ChannelEvent): { decoded: ChannelEvent; bytes: Buffer } {
  const bytes = encodeChannelEvent(event);
  return { decoded: decodeChannelEvent(bytes), bytes };
}

function bid(i: number) {
  return { auction: 1000 + i, bidder: 2007, price: 123456 + i, channel: 'Google', url: `https://www.nexmark.com/abc/item.htm?query=${i}`, dateTime: 1_700_000_000_000 + i };
}

test('a batch of same-shaped plain objects takes the columnar path and round-trips', () => {
  const event = records(Array.from({ length: 100 }, (_, i) => bid(i)));
  const { decoded, bytes } = roundTrip(event);
  assert.equal(recordsEncodingPath(bytes), 'columnar');
  assert.deepEqual(decoded, event);
  if (decoded.kind !== 'records') throw new Error('not records');
  assert.deepEqual(Object.keys(decoded.values[0] as object), ['auction', 'bidder', 'price', 'channel', 'url', 'dateTime']);
  assert.equal(Object.getPrototypeOf(decoded.values[0]), Object.prototype);
});

test('edge values round-trip exactly on the columnar path', () => {
  const numbers = [NaN, Infinity, -Infinity, -1, -123.456, 2 ** 31, 2 ** 53 + 2, -(2 ** 40), Number.MIN_VALUE, Number.MAX_VALUE, 0, 0.1];
  const strings = ['', 'ascii', 'Grüße', '日本語', '😀 emoji', 'a'.repeat(42), 'é'.repeat(43), 'x'.repeat(5000), 'ü'.repeat(6000), '\u0000nul'];
  const values = numbers.flatMap((n, i) => strings.map((s, j) => ({ n, s, b: (i + j) % 2 === 0, z: null, u: undefined })));
  const { decoded, bytes } = roundTrip(records(values));
  assert.equal(recordsEncodingPath(bytes), 'columnar');
  assert.deepEqual(decoded, records(values));
  if (decoded.kind !== 'records') throw new Error('not records');
  assert.ok('u' in (decoded.values[0] as object), 'an own undefined property stays an own property');
});

test('columns mixing primitive types round-trip on the columnar path', () => {
  const values = [
    { id: 1, v: 1.5, w: 'a' },
    { id: 2, v: 'two', w: null },
    { id: 3, v: null, w: true },
    { id: 4, v: false, w: undefined },
    { id: 5, v: undefined, w: NaN },
    { id: 6, v: 'ünïcødé', w: -0.5 },
  ];
  const { decoded, bytes } = roundTrip(records(values));
  assert.equal(recordsEncodingPath(bytes), 'columnar');
  assert.deepEqual(decoded, records(values));
});

test('anything else falls back to v8.serialize and survives', () => {
  const cases: Array<[string, unknown[]]> = [
    ['nested objects', [{ a: { b: 1 } }, { a: { b: 2 } }]],
    ['Dates', [{ at: new Date(5) }]],
    ['Maps and Sets', [{ m: new Map([[1, 'x']]), s: new Set([1, 2]) }]],
    ['bigints', [{ big: 12345678901234567890n }]],
    ['mixed shapes', [{ a: 1 }, { b: 1 }]],
    ['same keys in another order', [{ a: 1, b: 2 }, { b: 2, a: 1 }]],
    ['a missing key', [{ a: 1, b: 2 }, { a: 1 }]],
    ['an extra key', [{ a: 1 }, { a: 1, b: 2 }]],
    ['primitives', [1, 'two', true, null]],
    ['arrays', [[1, 2], [3, 4]]],
    ['class instances', [new (class Point { constructor(readonly x = 1) {} })()]],
    ['a plain object after a primitive', [1, { a: 1 }]],
    ['a primitive after plain objects', [{ a: 1 }, 2]],
    ['an unpaired surrogate in a value', [{ s: 'ok' }, { s: 'bad \ud800 surrogate' }]],
    ['an unpaired surrogate in a key', [{ ['\udc00']: 1 }]],
    ['a __proto__ own property', [JSON.parse('{"__proto__": 1, "a": 2}')]],
    ['more keys than the columnar limit', [Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]))]],
  ];
  for (const [name, values] of cases) {
    const { decoded, bytes } = roundTrip(records(values));
    assert.equal(recordsEncodingPath(bytes), 'v8', name);
    // v8.serialize keeps what it keeps: a class instance comes back as a plain object.
    assert.deepEqual(decoded, records(name === 'class instances' ? [{ x: 1 }] : values), name);
  }
});

test('a __proto__ own property keeps being an own property, not the prototype', () => {
  const value = JSON.parse('{"__proto__": {"polluted": true}, "a": 2}') as object;
  const { decoded } = roundTrip(records([value]));
  if (decoded.kind !== 'records') throw new Error('not records');
  const out = decoded.values[0] as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('empty batches, empty objects and timestamp edge values round-trip', () => {
  assert.deepEqual(roundTrip(records([])).decoded, records([]));
  assert.deepEqual(roundTrip(records([{}, {}])).decoded, records([{}, {}]));
  const timestamps = [Number.NEGATIVE_INFINITY, -1, 0, 2 ** 53, Number.MAX_SAFE_INTEGER];
  const event = records(timestamps.map((_, i) => ({ i })), timestamps);
  assert.deepEqual(roundTrip(event).decoded, event);
});

test('control events round-trip', () => {
  const events: ChannelEvent[] = [
    { kind: 'watermark', watermark: 1_700_000_000_123 },
    { kind: 'watermark', watermark: Number.NEGATIVE_INFINITY },
    { kind: 'watermark', watermark: Number.POSITIVE_INFINITY },
    { kind: 'idle', idle: true },
    { kind: 'idle', idle: false },
    { kind: 'barrier', checkpointId: 42 },
    { kind: 'end' },
  ];
  for (const event of events) {
    const { decoded, bytes } = roundTrip(event);
    assert.deepEqual(decoded, event);
    assert.equal(recordsEncodingPath(bytes), undefined);
  }
});

test('an encoder with headroom leaves that many bytes free at the start', () => {
  const encoder = new ChannelEventEncoder(9);
  const decoder = new ChannelEventDecoder();
  for (const event of [records([bid(1), bid(2)]), records([new Date(1)]), { kind: 'end' } as const, { kind: 'barrier', checkpointId: 3 } as const]) {
    const bytes = encoder.encode(event);
    assert.deepEqual(decoder.decode(bytes, 9), event);
  }
});

test('the encoder holds no reference to the records it encoded', () => {
  const encoder = new ChannelEventEncoder();
  encoder.encode(records([bid(1), bid(2)]));
  const columns = (encoder as unknown as { columns: unknown[][] }).columns;
  assert.ok(columns.every((column) => column.every((value) => value === undefined)));
});

test('many batches of alternating shapes decode with the right shape each time', () => {
  const encoder = new ChannelEventEncoder();
  const decoder = new ChannelEventDecoder();
  for (let i = 0; i < 50; i++) {
    const event = i % 2 === 0 ? records([{ a: i, b: `s${i}` }]) : records([{ b: `s${i}`, a: i }]);
    assert.deepEqual(decoder.decode(encoder.encode(event)), event);
  }
});

test('a values/timestamps length mismatch is refused when encoding', () => {
  assert.throws(() => encodeChannelEvent({ kind: 'records', values: [1, 2], timestamps: [1] }), RecordBatchCodecError);
});

test('truncated or corrupt bytes throw RecordBatchCodecError, never something else', () => {
  const samples = [
    encodeChannelEvent(records(Array.from({ length: 20 }, (_, i) => bid(i)))),
    encodeChannelEvent(records([{ a: 1, b: 'x', c: null }, { a: 'y', b: 'z', c: true }])),
    encodeChannelEvent(records([new Date(1)])),
    encodeChannelEvent({ kind: 'watermark', watermark: 5 }),
  ];
  for (const bytes of samples) {
    for (let cut = 0; cut < bytes.length; cut++) {
      assert.throws(() => decodeChannelEvent(bytes.subarray(0, cut)), RecordBatchCodecError, `cut at ${cut} of ${bytes.length}`);
    }
  }
  assert.throws(() => decodeChannelEvent(Buffer.from([99])), /unknown channel event tag 99/);
  let seed = 7;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let round = 0; round < 2000; round++) {
    const bytes = Buffer.from(samples[round % 2]!);
    bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
    try {
      decodeChannelEvent(bytes);
    } catch (error) {
      assert.ok(error instanceof RecordBatchCodecError, `round ${round}: ${String(error)}`);
    }
  }
});
