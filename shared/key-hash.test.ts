// Tests for shared/key-hash.ts: the key hash must be Java's hashCode so a key lands in the same key
// group on Sluice and on Flink. Expected values are literals derived from Java semantics, and each
// group is cross-checked against an independent BigInt re-implementation written below.
//
//   String.hashCode  = s[0]*31^(n-1) + ... + s[n-1] over UTF-16 code units, int overflow
//   Integer.hashCode = value
//   Long.hashCode    = (int)(value ^ (value >>> 32))
//   Double.hashCode  = bits ^ (bits >>> 32), bits = doubleToLongBits(value) (NaN canonicalised to
//                      0x7ff8000000000000L)
//   Boolean.hashCode = 1231 / 1237
//   List.hashCode    = fold(1, (h, e) -> 31*h + (e == null ? 0 : e.hashCode()))

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { keyHashCode, stringHashCode } from './key-hash.ts';

// ---------------------------------------------------------------------------------------------
// Independent reference (BigInt; deliberately not the module's Math.imul / Float64Array code).
// ---------------------------------------------------------------------------------------------

const TWO32 = 1n << 32n;
const asInt = (x: bigint): number => Number(BigInt.asIntN(32, x));

function refString(s: string): number {
  let h = 0n;
  for (const unit of s.split('')) h = (h * 31n + BigInt(unit.charCodeAt(0))) % TWO32;
  return asInt(h);
}

function refLong(v: number | bigint): number {
  const u = BigInt.asUintN(64, BigInt(v));
  return asInt(u ^ (u >> 32n));
}

function refDouble(d: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, d);
  const bits = Number.isNaN(d) ? 0x7ff8000000000000n : view.getBigUint64(0); // doubleToLongBits
  return asInt(bits ^ (bits >> 32n));
}

function refList(items: unknown[]): number {
  let h = 1n;
  for (const e of items) h = (h * 31n + BigInt(e == null ? 0 : refHash(e))) % TWO32;
  return asInt(h);
}

function refHash(v: unknown): number {
  if (typeof v === 'string') return refString(v);
  if (typeof v === 'boolean') return v ? 1231 : 1237;
  if (typeof v === 'bigint') return refLong(v);
  if (Array.isArray(v)) return refList(v);
  if (typeof v === 'number') {
    if (Object.is(v, -0)) return 0;
    if (Number.isInteger(v) && v >= -2147483648 && v <= 2147483647) return v; // Integer
    if (Number.isSafeInteger(v)) return refLong(v); // Long
    return refDouble(v); // Double
  }
  throw new Error('reference: unsupported');
}

/** A double with exactly the given IEEE-754 bit pattern (for non-canonical NaNs). */
function doubleFromBits(bits: bigint): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, bits);
  return view.getFloat64(0);
}

function checkTable(table: Array<[unknown, number]>): void {
  for (const [key, want] of table) {
    const label = typeof key === 'bigint' ? `${key}n` : JSON.stringify(key);
    assert.equal(refHash(key), want, `reference disagrees with literal for ${label}`);
    assert.equal(keyHashCode(key), want, `keyHashCode(${label})`);
  }
}

// ---------------------------------------------------------------------------------------------

describe('String.hashCode', () => {
  const table: Array<[string, number]> = [
    ['', 0],
    ['a', 97],
    ['abc', 96354],
    ['hello', 99162322],
    ['hello world', 1794106052],
    ['polygenelubricants', -2147483648], // Integer.MIN_VALUE
    ['Aa', 2112], // classic collision
    ['BB', 2112],
    ['é', 233], // U+00E9, one UTF-16 unit
    ['Ünïcödé', 1055431381],
    ['\u{1F600}', 1772899], // surrogate pair D83D DE00: 31*0xD83D + 0xDE00
    ['\uD800', 55296], // lone surrogate is still one code unit
  ];

  it('known values via keyHashCode', () => checkTable(table));

  it('stringHashCode matches too', () => {
    for (const [s, want] of table) assert.equal(stringHashCode(s), want, JSON.stringify(s));
  });

  it('hashes UTF-16 code units, not code points', () => {
    assert.equal('\u{1F600}'.length, 2);
    assert.equal(keyHashCode('\u{1F600}'), 31 * 0xd83d + 0xde00);
    assert.notEqual(keyHashCode('\u{1F600}'), 0x1f600);
  });

  it('long strings overflow like Java int and agree with the reference', () => {
    const s = 'The quick brown fox jumps over the lazy dog'.repeat(50) + '\u{1F600}é';
    const got = keyHashCode(s);
    assert.equal(got, refString(s));
    assert.ok(got >= -2147483648 && got <= 2147483647 && Number.isInteger(got));
  });
});

describe('numbers', () => {
  it('Integer.hashCode: a 32-bit int hashes to itself', () => {
    checkTable([
      [0, 0],
      [1, 1],
      [42, 42],
      [-1, -1],
      [-42, -42],
      [2147483647, 2147483647],
      [-2147483648, -2147483648],
    ]);
  });

  it('Long.hashCode for safe integers beyond 32 bits', () => {
    checkTable([
      [2 ** 31, -2147483648], // 0x0000_0000_8000_0000
      [2 ** 32, 1], // 0x0000_0001_0000_0000
      [2 ** 32 + 1, 0],
      [2 ** 40 + 5, 261], // 5 ^ (1 << 8)
      [-(2 ** 31) - 1, -2147483648], // 0xFFFF_FFFF_7FFF_FFFF
      [-(2 ** 32), -1], // 0xFFFF_FFFF_0000_0000
      [-(2 ** 40), -256], // 0xFFFF_FF00_0000_0000
      [1e15, -1530589826],
      [-1e15, -1530531199],
      [Number.MAX_SAFE_INTEGER, -2097152], // 0x001F_FFFF_FFFF_FFFF
      [-Number.MAX_SAFE_INTEGER, -2097151], // 0xFFE0_0000_0000_0001
    ]);
  });

  it('Double.hashCode for non-integers', () => {
    checkTable([
      [1.5, 1073217536], // 0x3FF8_0000_0000_0000
      [-1.5, -1074266112], // 0xBFF8_0000_0000_0000
      [0.5, 1071644672],
      [-0.5, -1075838976],
      [-2.5, -1073479680],
      [0.1, -1507852285], // 0x3FB9_9999_9999_999A
      [3.14159, -1340954729],
      [1e300, -164130400],
      [Number.MIN_VALUE, 1], // 0x0000_0000_0000_0001
      [Infinity, 2146435072], // 0x7FF0_0000_0000_0000
      [-Infinity, -1048576], // 0xFFF0_0000_0000_0000
    ]);
  });

  it('NaN (the canonical literal) hashes like Double.NaN', () => {
    assert.equal(keyHashCode(NaN), 2146959360); // 0x7FF8_0000
    assert.equal(keyHashCode(Number.NaN), 2146959360);
    assert.equal(keyHashCode(Number('not a number')), 2146959360);
  });

  it(
    'every NaN hashes like Double.NaN (Java doubleToLongBits canonicalises NaN)',
    () => {
      const zero = Number(process.env.SLUICE_NEVER_SET_ZERO ?? '0');
      const computed = [zero / zero, Infinity - Infinity, Math.sqrt(-1)];
      const patterned = [0xfff8000000000000n, 0x7ff0000000000001n, 0x7fffffffffffffffn, 0xfff8000000000001n].map(doubleFromBits);
      for (const nan of [...computed, ...patterned]) {
        assert.ok(Number.isNaN(nan));
        assert.equal(keyHashCode(nan), 2146959360);
      }
    },
  );

  it('-0 and 0 hash the same (0)', () => {
    assert.equal(keyHashCode(-0), 0);
    assert.equal(keyHashCode(0), 0);
    assert.equal(keyHashCode(-0), keyHashCode(0));
    assert.equal(keyHashCode([-0]), keyHashCode([0]));
  });

  it('agrees with the reference on many random numbers of every kind', () => {
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) | 0) >>> 0) / 2 ** 32;
    for (let i = 0; i < 5000; i++) {
      const candidates = [
        Math.floor((rnd() - 0.5) * 2 ** 32), // int32
        Math.floor((rnd() - 0.5) * 2 ** 53), // safe long
        (rnd() - 0.5) * 1e6, // double
        rnd() * 1e-300,
      ];
      for (const n of candidates) {
        if (keyHashCode(n) !== refHash(n)) assert.fail(`keyHashCode(${n}) = ${keyHashCode(n)}, reference ${refHash(n)}`);
      }
    }
  });
});

describe('bigint (Long.hashCode)', () => {
  it('known values', () => {
    checkTable([
      [0n, 0],
      [5n, 5],
      [-1n, 0], // Long.hashCode(-1L) = 0
      [2n ** 32n, 1],
      [2n ** 40n + 5n, 261],
      [2n ** 63n - 1n, -2147483648], // Long.MAX_VALUE
      [-(2n ** 63n), -2147483648], // Long.MIN_VALUE
    ]);
  });

  it('bigint and number agree beyond 32 bits', () => {
    assert.equal(keyHashCode(2n ** 40n + 5n), keyHashCode(2 ** 40 + 5));
    assert.equal(keyHashCode(-(2n ** 40n)), keyHashCode(-(2 ** 40)));
  });
});

describe('Boolean.hashCode', () => {
  it('true -> 1231, false -> 1237', () => {
    assert.equal(keyHashCode(true), 1231);
    assert.equal(keyHashCode(false), 1237);
  });
});

describe('arrays (List.hashCode)', () => {
  it('known values', () => {
    checkTable([
      [[], 1],
      [['a'], 128], // 31 + 97
      [['a', 'b'], 4066], // 31*128 + 98
      [[1, 2, 3], 30817], // Arrays.asList(1, 2, 3).hashCode()
      [[3, 2, 1], 32737], // order matters
      [[[1]], 63], // 31 + (31 + 1)
      [[null], 31],
      [[undefined], 31],
      [[true], 1262], // 31 + 1231
      [[false, true], 31 * (31 + 1237) + 1231],
      [[1.5], 1073217567], // 31 + 1073217536
      [['a', 1], 3969], // 31*(31+97) + 1
      [['hello', 'world'], -1107615551], // overflows int
      [[2 ** 32], 32], // 31 + Long.hashCode(2^32)
      [['polygenelubricants'], -2147483617], // 31 + MIN_VALUE
    ]);
  });

  it('nested and long lists agree with the reference', () => {
    const nested = ['user-1', [42, 'x', [true, 1.25, null]], 2 ** 45, -7, '\u{1F600}'];
    assert.equal(keyHashCode(nested), refList(nested));
    const long = Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? `k${i}` : i % 3 === 1 ? i * 1e6 : i + 0.5));
    assert.equal(keyHashCode(long), refList(long));
  });

  it('an unsupported element inside an array throws TypeError', () => {
    assert.throws(() => keyHashCode([1, {}]), TypeError);
    assert.throws(() => keyHashCode([[() => 1]]), TypeError);
  });
});

describe('unsupported key types', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['null', null, /got null/],
    ['undefined', undefined, /got undefined/],
    ['plain object', { a: 1 }, /got object/],
    ['Date', new Date(0), /got object/],
    ['Map', new Map(), /got object/],
    ['function', () => 1, /got function/],
    ['symbol', Symbol('k'), /got symbol/],
  ];
  for (const [name, key, message] of cases) {
    it(`${name} throws a TypeError naming the type`, () => {
      assert.throws(
        () => keyHashCode(key),
        (err: unknown) => err instanceof TypeError && message.test(err.message),
      );
    });
  }
});
