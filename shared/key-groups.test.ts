// Tests for shared/key-groups.ts against Flink's KeyGroupRangeAssignment and MathUtils.murmurHash.
//
// Reference values come from three independent places:
//  * Published MurmurHash3_x86_32 test vectors (SMHasher / https://stackoverflow.com/q/14747343):
//    Flink's MathUtils.murmurHash(int) is MurmurHash3_x86_32 of the int's 4 little-endian bytes with
//    seed 0 (one body block, no tail, length 4), followed by "abs, MIN_VALUE -> 0".
//      bytes 00 00 00 00 -> 0x2362F9DE   (int 0)
//      bytes FF FF FF FF -> 0x76293B50   (int -1)
//      bytes 21 43 65 87 -> 0xF55B516B   (int 0x87654321 = -2023406815)
//      int 1             -> 0xFBF1402A   (Julia Murmur3Noise doc: noise(1) with seed 0)
//  * A BigInt re-implementation of the Java algorithm written below (different code from the module),
//    plus its exact inverse, used to find the inputs that hit the MIN_VALUE / MAX_VALUE branches.
//  * Flink's KeyGroupRangeTest and hand-computed Java int arithmetic for ranges.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_LOWER_BOUND_MAX_PARALLELISM,
  KeyGroupRange,
  UPPER_BOUND_MAX_PARALLELISM,
  assignKeyToParallelOperator,
  assignToKeyGroup,
  checkMaxParallelism,
  computeKeyGroupForKeyHash,
  computeOperatorIndexForKeyGroup,
  defaultMaxParallelism,
  keyGroupRangeForSubtask,
  murmurHash,
} from './key-groups.ts';

// ---------------------------------------------------------------------------------------------
// Independent reference implementation (BigInt, unsigned 32-bit words, explicit masking).
// ---------------------------------------------------------------------------------------------

const MASK32 = 0xffffffffn;
const TWO32 = 1n << 32n;
const toU32 = (x: number): bigint => ((BigInt(x) % TWO32) + TWO32) % TWO32;
const toI32 = (x: bigint): number => Number(x >= 1n << 31n ? x - TWO32 : x);
const mulU32 = (a: bigint, b: bigint): bigint => (a * b) % TWO32;
const rotlU32 = (x: bigint, r: number): bigint => ((x << BigInt(r)) & MASK32) | (x >> BigInt(32 - r));
const rotrU32 = (x: bigint, r: number): bigint => rotlU32(x, 32 - r);

/** Java: the 32-bit value of murmurHash before the final abs step. */
function refMurmurRaw(code: number): number {
  let h = toU32(code);
  h = mulU32(h, 0xcc9e2d51n);
  h = rotlU32(h, 15);
  h = mulU32(h, 0x1b873593n);
  h = rotlU32(h, 13);
  h = (mulU32(h, 5n) + 0xe6546b64n) % TWO32;
  h = h ^ 4n;
  h = h ^ (h >> 16n);
  h = mulU32(h, 0x85ebca6bn);
  h = h ^ (h >> 13n);
  h = mulU32(h, 0xc2b2ae35n);
  h = h ^ (h >> 16n);
  return toI32(h);
}

/** Java: if (code >= 0) code; else if (code != MIN_VALUE) -code; else 0. */
function refMurmur(code: number): number {
  const raw = refMurmurRaw(code);
  if (raw >= 0) return raw;
  if (raw !== -2147483648) return -raw;
  return 0;
}

function modInverseU32(a: bigint): bigint {
  let [t, newT, r, newR] = [0n, 1n, TWO32, a];
  while (newR !== 0n) {
    const q = r / newR;
    [t, newT] = [newT, t - q * newT];
    [r, newR] = [newR, r - q * newR];
  }
  return ((t % TWO32) + TWO32) % TWO32;
}

/** Exact inverse of refMurmurRaw: the unique int whose raw murmur value is `out`. */
function refMurmurRawInverse(out: number): number {
  let h = toU32(out);
  h = h ^ (h >> 16n);
  h = mulU32(h, modInverseU32(0xc2b2ae35n));
  h = h ^ (h >> 13n) ^ (h >> 26n);
  h = mulU32(h, modInverseU32(0x85ebca6bn));
  h = h ^ (h >> 16n);
  h = h ^ 4n;
  h = mulU32((h - 0xe6546b64n + TWO32) % TWO32, modInverseU32(5n));
  h = rotrU32(h, 13);
  h = mulU32(h, modInverseU32(0x1b873593n));
  h = rotrU32(h, 15);
  h = mulU32(h, modInverseU32(0xcc9e2d51n));
  return toI32(h);
}

/** Java int division truncates toward zero; all operands here are non-negative. */
const javaDiv = (a: number, b: number): number => Math.trunc(a / b);

function refRange(maxP: number, p: number, i: number): [number, number] {
  return [javaDiv(i * maxP + p - 1, p), javaDiv((i + 1) * maxP - 1, p)];
}

/** Flink MathUtils.roundUpToPowerOfTwo: bit smearing on an int. */
function refRoundUpToPowerOfTwo(x: number): number {
  x = (x - 1) | 0;
  x |= x >> 1;
  x |= x >> 2;
  x |= x >> 4;
  x |= x >> 8;
  x |= x >> 16;
  return (x + 1) | 0;
}

function refDefaultMaxParallelism(p: number): number {
  return Math.min(Math.max(refRoundUpToPowerOfTwo(p + javaDiv(p, 2)), 128), 32768);
}

/** Deterministic 32-bit PRNG (mulberry32) so failures are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) | 0;
  };
}

const INT_EDGES = [0, 1, -1, 2, -2, 42, 2147483647, -2147483648, 2147483646, -2147483647, 0x7fff, 0x8000, 0xffff, 0x10000];

function sampleInts(n: number): number[] {
  const next = prng(0x5eed);
  const out = [...INT_EDGES];
  while (out.length < n) out.push(next());
  return out;
}

// ---------------------------------------------------------------------------------------------

describe('constants', () => {
  it('match Flink', () => {
    assert.equal(UPPER_BOUND_MAX_PARALLELISM, 32768);
    assert.equal(DEFAULT_LOWER_BOUND_MAX_PARALLELISM, 128);
  });
});

describe('reference implementation sanity (guards the test itself)', () => {
  it('reproduces published MurmurHash3_x86_32 vectors (seed 0, 4 LE bytes)', () => {
    assert.equal(refMurmurRaw(0) >>> 0, 0x2362f9de);
    assert.equal(refMurmurRaw(-1) >>> 0, 0x76293b50);
    assert.equal(refMurmurRaw(0x87654321 | 0) >>> 0, 0xf55b516b);
    assert.equal(refMurmurRaw(1) >>> 0, 0xfbf1402a);
  });

  it('inverse really inverts', () => {
    for (const x of [0, -1, 1, 2147483647, -2147483648, 123456789]) assert.equal(refMurmurRaw(refMurmurRawInverse(x)), x);
  });

  it('roundUpToPowerOfTwo reference', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 127, 128, 129, 150, 32769].map(refRoundUpToPowerOfTwo), [1, 2, 4, 4, 8, 128, 128, 256, 256, 65536]);
  });
});

describe('murmurHash (Flink MathUtils.murmurHash)', () => {
  it('known values from published MurmurHash3 vectors', () => {
    assert.equal(murmurHash(0), 593689054); // 0x2362F9DE, non-negative as is
    assert.equal(murmurHash(-1), 1982413648); // 0x76293B50
    assert.equal(murmurHash(-2023406815), 178564757); // raw 0xF55B516B (negative) -> negated
    assert.equal(murmurHash(1), 68075478); // raw 0xFBF1402A (negative) -> negated
  });

  it('hand-traced values at int extremes', () => {
    assert.equal(murmurHash(2), 1085422463);
    assert.equal(murmurHash(42), 1134849565);
    assert.equal(murmurHash(2147483647), 1653689534);
    assert.equal(murmurHash(-2147483648), 1718298732);
  });

  it('raw == Integer.MIN_VALUE maps to 0 (input found by inverting the hash)', () => {
    const input = refMurmurRawInverse(-2147483648);
    assert.equal(input, -2089875627);
    assert.equal(refMurmurRaw(input), -2147483648);
    assert.equal(murmurHash(-2089875627), 0);
  });

  it('raw == 0 maps to 0, raw == -MAX_VALUE and +MAX_VALUE both map to MAX_VALUE', () => {
    assert.equal(refMurmurRawInverse(0), -1035494534);
    assert.equal(murmurHash(-1035494534), 0);
    assert.equal(refMurmurRawInverse(-2147483647), 1814469223);
    assert.equal(murmurHash(1814469223), 2147483647);
    assert.equal(refMurmurRawInverse(2147483647), 994512208);
    assert.equal(murmurHash(994512208), 2147483647);
  });

  it('agrees with the BigInt reference over 10,000 ints (incl. 0, -1, MIN_VALUE, MAX_VALUE)', () => {
    const ints = sampleInts(10_000);
    assert.equal(ints.length, 10_000);
    for (const x of ints) {
      const got = murmurHash(x);
      if (got !== refMurmur(x)) assert.fail(`murmurHash(${x}) = ${got}, reference ${refMurmur(x)}`);
      assert.ok(got >= 0 && got <= 2147483647 && Number.isInteger(got));
    }
  });

  it('wraps a non-int32 argument like Java (int) would: 2^32 behaves like 0', () => {
    assert.equal(murmurHash(4294967296), 593689054);
    assert.equal(murmurHash(4294967295), 1982413648); // == -1 as int
  });
});

describe('computeKeyGroupForKeyHash / assignToKeyGroup', () => {
  it('known values', () => {
    assert.equal(computeKeyGroupForKeyHash(0, 128), 94); // 0x2362F9DE % 128
    assert.equal(computeKeyGroupForKeyHash(99162322, 128), 35); // "hello".hashCode()
    assert.equal(computeKeyGroupForKeyHash(99162322, 100), 79);
    assert.equal(computeKeyGroupForKeyHash(99162322, 7), 3);
    assert.equal(computeKeyGroupForKeyHash(99162322, 32768), 31395);
    assert.equal(computeKeyGroupForKeyHash(-2147483648, 32768), 10348);
    assert.equal(computeKeyGroupForKeyHash(-2089875627, 32768), 0); // the MIN_VALUE branch
    assert.equal(computeKeyGroupForKeyHash(994512208, 32768), 32767); // MAX_VALUE % 32768
    assert.equal(computeKeyGroupForKeyHash(994512208, 100), 47); // 2147483647 % 100
  });

  it('maxParallelism = 1 puts every key in key group 0', () => {
    for (const x of INT_EDGES) assert.equal(computeKeyGroupForKeyHash(x, 1), 0);
    assert.equal(assignToKeyGroup('anything', 1), 0);
  });

  it('assignToKeyGroup hashes the key with Java hashCode first', () => {
    assert.equal(assignToKeyGroup('hello', 128), 35);
    assert.equal(assignToKeyGroup(0, 128), 94);
    assert.equal(assignToKeyGroup(42, 128), 29);
    assert.equal(assignToKeyGroup('a', 128), 81); // "a".hashCode() = 97
    assert.equal(assignToKeyGroup(true, 128), 77); // Boolean.TRUE.hashCode() = 1231
    assert.equal(assignToKeyGroup(false, 128), 3); // Boolean.FALSE.hashCode() = 1237
    assert.equal(assignToKeyGroup('polygenelubricants', 32768), 10348); // hashCode = MIN_VALUE
  });

  it('agrees with reference for 10,000 ints across several maxParallelism values', () => {
    const ints = sampleInts(10_000);
    for (const maxP of [1, 2, 7, 100, 128, 129, 4096, 32767, 32768]) {
      for (const x of ints) {
        const got = computeKeyGroupForKeyHash(x, maxP);
        const want = refMurmur(x) % maxP;
        if (got !== want) assert.fail(`computeKeyGroupForKeyHash(${x}, ${maxP}) = ${got}, want ${want}`);
      }
    }
  });

  it('assignKeyToParallelOperator composes key group and operator index', () => {
    // "hello" -> key group 35 of 128; 35 * 4 / 128 = 1
    assert.equal(assignKeyToParallelOperator('hello', 128, 4), 1);
    // 0 -> key group 94 of 128; 94 * 3 / 128 = 2
    assert.equal(assignKeyToParallelOperator(0, 128, 3), 2);
    assert.equal(assignKeyToParallelOperator('hello', 128, 1), 0);
    assert.equal(assignKeyToParallelOperator('hello', 128, 128), 35);
  });

  it(
    'rejects maxParallelism = 0 instead of returning NaN (Java throws ArithmeticException on % 0)',
    () => {
      assert.throws(() => computeKeyGroupForKeyHash(1, 0), RangeError);
      assert.throws(() => assignToKeyGroup('a', 0), RangeError);
    },
  );
});

describe('keyGroupRangeForSubtask (computeKeyGroupRangeForOperatorIndex)', () => {
  const rangeOf = (maxP: number, p: number, i: number) => {
    const r = keyGroupRangeForSubtask(maxP, p, i);
    return [r.startKeyGroup, r.endKeyGroup];
  };

  it('p = 1 owns everything', () => {
    assert.deepEqual(rangeOf(128, 1, 0), [0, 127]);
    assert.deepEqual(rangeOf(32768, 1, 0), [0, 32767]);
    assert.deepEqual(rangeOf(7, 1, 0), [0, 6]);
    assert.deepEqual(rangeOf(1, 1, 0), [0, 0]);
  });

  it('p = maxParallelism gives one key group per subtask', () => {
    for (const maxP of [1, 7, 100, 128]) {
      for (let i = 0; i < maxP; i++) assert.deepEqual(rangeOf(maxP, maxP, i), [i, i]);
    }
    assert.deepEqual(rangeOf(32768, 32768, 0), [0, 0]);
    assert.deepEqual(rangeOf(32768, 32768, 16384), [16384, 16384]);
    assert.deepEqual(rangeOf(32768, 32768, 32767), [32767, 32767]);
  });

  it('hand-computed Java int arithmetic values', () => {
    assert.deepEqual([0, 1, 2].map((i) => rangeOf(128, 3, i)), [[0, 42], [43, 85], [86, 127]]);
    assert.deepEqual([0, 1, 2].map((i) => rangeOf(7, 3, i)), [[0, 2], [3, 4], [5, 6]]);
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6].map((i) => rangeOf(100, 7, i)),
      [[0, 14], [15, 28], [29, 42], [43, 57], [58, 71], [72, 85], [86, 99]],
    );
    assert.deepEqual([0, 1, 2].map((i) => rangeOf(32768, 3, i)), [[0, 10922], [10923, 21845], [21846, 32767]]);
    assert.deepEqual([0, 1].map((i) => rangeOf(7, 2, i)), [[0, 3], [4, 6]]);
    assert.deepEqual([0, 1, 2, 3].map((i) => rangeOf(128, 4, i)), [[0, 31], [32, 63], [64, 95], [96, 127]]);
  });

  it('returns KeyGroupRange instances with the right size', () => {
    const r = keyGroupRangeForSubtask(100, 7, 3);
    assert.ok(r instanceof KeyGroupRange);
    assert.equal(r.numberOfKeyGroups, 15);
    assert.equal(r.isEmpty, false);
  });

  function checkPartition(maxP: number, p: number): void {
    let expectedStart = 0;
    const minSize = Math.floor(maxP / p);
    for (let i = 0; i < p; i++) {
      const r = keyGroupRangeForSubtask(maxP, p, i);
      const [rs, re] = refRange(maxP, p, i);
      if (r.startKeyGroup !== rs || r.endKeyGroup !== re) {
        assert.fail(`maxP=${maxP} p=${p} i=${i}: got [${r.startKeyGroup},${r.endKeyGroup}] want [${rs},${re}]`);
      }
      if (r.startKeyGroup !== expectedStart) assert.fail(`maxP=${maxP} p=${p} i=${i}: gap/overlap at ${expectedStart}`);
      const size = r.numberOfKeyGroups;
      if (size !== minSize && size !== minSize + 1) assert.fail(`maxP=${maxP} p=${p} i=${i}: unbalanced size ${size}`);
      expectedStart = r.endKeyGroup + 1;
    }
    if (expectedStart !== maxP) assert.fail(`maxP=${maxP} p=${p}: ranges end at ${expectedStart - 1}, not ${maxP - 1}`);
  }

  it('ranges of all subtasks partition [0, maxP-1] exactly for every p, small maxP', () => {
    let pairs = 0;
    for (const maxP of [1, 2, 3, 5, 7, 8, 10, 64, 100, 127, 128, 129, 256, 1000]) {
      for (let p = 1; p <= maxP; p++, pairs++) checkPartition(maxP, p);
    }
    assert.equal(pairs, 1 + 2 + 3 + 5 + 7 + 8 + 10 + 64 + 100 + 127 + 128 + 129 + 256 + 1000);
  });

  it('ranges partition [0, 32767] for selected p at maxP = 32768 and 32767', () => {
    for (const maxP of [32767, 32768]) {
      for (const p of [1, 2, 3, 7, 100, 128, 1000, 4096, 12345, 16384, 32767]) checkPartition(maxP, p);
    }
    checkPartition(32768, 32768);
  });

  it('computeOperatorIndexForKeyGroup agrees with the ranges for every key group', () => {
    const check = (maxP: number, p: number) => {
      for (let i = 0; i < p; i++) {
        for (const kg of keyGroupRangeForSubtask(maxP, p, i)) {
          const got = computeOperatorIndexForKeyGroup(maxP, p, kg);
          if (got !== i) assert.fail(`computeOperatorIndexForKeyGroup(${maxP}, ${p}, ${kg}) = ${got}, range says ${i}`);
        }
      }
    };
    for (const maxP of [1, 2, 7, 100, 128, 129, 1000]) for (let p = 1; p <= maxP; p++) check(maxP, p);
    for (const p of [1, 2, 3, 7, 100, 128, 4096, 12345, 32767, 32768]) check(32768, p);
  });

  it('computeOperatorIndexForKeyGroup known values (keyGroup * p / maxP, Java int division)', () => {
    assert.equal(computeOperatorIndexForKeyGroup(128, 3, 42), 0);
    assert.equal(computeOperatorIndexForKeyGroup(128, 3, 43), 1);
    assert.equal(computeOperatorIndexForKeyGroup(128, 3, 127), 2);
    assert.equal(computeOperatorIndexForKeyGroup(100, 7, 14), 0);
    assert.equal(computeOperatorIndexForKeyGroup(100, 7, 15), 1);
    assert.equal(computeOperatorIndexForKeyGroup(100, 7, 99), 6);
    assert.equal(computeOperatorIndexForKeyGroup(32768, 32768, 32767), 32767);
    assert.equal(computeOperatorIndexForKeyGroup(32768, 1, 32767), 0);
  });

  it('preconditions throw RangeError', () => {
    const bad: Array<[number, number, number]> = [
      [128, 0, 0], // p = 0
      [128, -1, 0], // p < 0
      [128, 129, 0], // p > maxP
      [7, 8, 0], // p > maxP (non power of two)
      [0, 1, 0], // maxP = 0
      [0, 0, 0], // both 0
      [-128, 1, 0], // maxP < 0
      [32769, 1, 0], // maxP above upper bound
      [32769, 32769, 0], // both above upper bound
      [128.5, 2, 0], // non-integer maxP
      [128, 1.5, 0], // non-integer p
      [128, 2, 0.5], // non-integer operatorIndex
      [NaN, 1, 0],
      [128, NaN, 0],
      [128, 2, NaN],
      [128, 4, -1], // operatorIndex < 0
      [128, 4, 4], // operatorIndex == p
      [128, 4, 100], // operatorIndex > p
      [Infinity, 1, 0],
    ];
    for (const [maxP, p, i] of bad) {
      assert.throws(() => keyGroupRangeForSubtask(maxP, p, i), RangeError, `expected RangeError for (${maxP}, ${p}, ${i})`);
    }
  });

  it('boundary inputs that are valid do not throw', () => {
    assert.doesNotThrow(() => keyGroupRangeForSubtask(32768, 32768, 32767));
    assert.doesNotThrow(() => keyGroupRangeForSubtask(1, 1, 0));
  });

  it('checkMaxParallelism accepts [1, 32768] and rejects others with RangeError', () => {
    for (const ok of [1, 2, 7, 100, 128, 32767, 32768]) assert.doesNotThrow(() => checkMaxParallelism(ok));
    for (const bad of [0, -1, 32769, 65536, 1.5, NaN, Infinity]) assert.throws(() => checkMaxParallelism(bad), RangeError);
  });
});

describe('defaultMaxParallelism (computeDefaultMaxParallelism)', () => {
  it('known values', () => {
    const cases: Array<[number, number]> = [
      [1, 128], // roundUp(1) = 1 -> lower bound
      [2, 128], // 3 -> 4 -> 128
      [85, 128], // 85 + 42 = 127 -> 128
      [86, 256], // 86 + 43 = 129 -> 256
      [100, 256], // 150 -> 256
      [170, 256], // 255 -> 256
      [171, 256], // 256 -> 256
      [172, 512], // 258 -> 512
      [1000, 2048], // 1500 -> 2048
      [21845, 32768], // 32767 -> 32768
      [21846, 32768], // 32769 -> 65536 -> capped
      [30000, 32768], // 45000 -> 65536 -> capped
      [32768, 32768], // 49152 -> 65536 -> capped
    ];
    for (const [p, want] of cases) assert.equal(defaultMaxParallelism(p), want, `defaultMaxParallelism(${p})`);
  });

  it("agrees with Flink's formula for every p in [1, 32768]", () => {
    for (let p = 1; p <= 32768; p++) {
      const got = defaultMaxParallelism(p);
      const want = refDefaultMaxParallelism(p);
      if (got !== want) assert.fail(`defaultMaxParallelism(${p}) = ${got}, Flink ${want}`);
    }
  });

  it('rejects non-positive and non-integer parallelism with RangeError', () => {
    for (const bad of [0, -1, 1.5, NaN, Infinity]) assert.throws(() => defaultMaxParallelism(bad), RangeError, String(bad));
  });

  it(
    'rejects parallelism above 32768 like Flink checkParallelismPreconditions',
    () => {
      assert.throws(() => defaultMaxParallelism(32769), RangeError);
      assert.throws(() => defaultMaxParallelism(40000), RangeError);
    },
  );
});

describe('KeyGroupRange', () => {
  it('of(start, end) with start > end is the EMPTY singleton', () => {
    assert.equal(KeyGroupRange.of(5, 4), KeyGroupRange.EMPTY);
    assert.equal(KeyGroupRange.of(1, 0), KeyGroupRange.EMPTY);
    assert.equal(KeyGroupRange.of(100, -1), KeyGroupRange.EMPTY);
  });

  it('EMPTY has no key groups and contains nothing', () => {
    const e = KeyGroupRange.EMPTY;
    assert.equal(e.numberOfKeyGroups, 0);
    assert.equal(e.isEmpty, true);
    assert.equal(e.startKeyGroup, 0);
    assert.equal(e.endKeyGroup, -1);
    for (const kg of [-1, 0, 1, 4, 5, 32767]) assert.equal(e.contains(kg), false, `contains(${kg})`);
    assert.deepEqual([...e], []);
    assert.equal(KeyGroupRange.of(5, 4).contains(5), false);
    assert.equal(KeyGroupRange.of(5, 4).contains(4), false);
    assert.equal(e.toString(), 'KeyGroupRange{EMPTY}');
  });

  it('basics (Flink KeyGroupRangeTest.testKeyGroupRangeBasics)', () => {
    for (const [s, e] of [[0, 0], [0, 1], [1, 2], [42, 42], [3, 7], [0, 32767], [32766, 32767]] as const) {
      const r = KeyGroupRange.of(s, e);
      assert.equal(r.numberOfKeyGroups, e - s + 1);
      assert.equal(r.isEmpty, false);
      assert.equal(r.startKeyGroup, s);
      assert.equal(r.endKeyGroup, e);
      let c = s;
      for (const kg of r) {
        assert.equal(kg, c);
        assert.ok(r.contains(kg));
        c++;
      }
      assert.equal(c, e + 1);
      assert.equal(r.contains(s - 1), false);
      assert.equal(r.contains(e + 1), false);
    }
    assert.deepEqual([...KeyGroupRange.of(3, 7)], [3, 4, 5, 6, 7]);
    assert.equal(KeyGroupRange.of(0, 32767).numberOfKeyGroups, 32768);
  });

  it('negative or non-integer bounds throw RangeError', () => {
    assert.throws(() => KeyGroupRange.of(-3, 2), RangeError);
    assert.throws(() => KeyGroupRange.of(-1, 5), RangeError);
    assert.throws(() => KeyGroupRange.of(0.5, 5), RangeError);
    assert.throws(() => KeyGroupRange.of(0, 5.5), RangeError);
    assert.throws(() => KeyGroupRange.of(NaN, 5), RangeError);
    assert.throws(() => KeyGroupRange.of(0, NaN), RangeError);
  });

  it('intersection (Flink KeyGroupRangeTest.testKeyGroupIntersection)', () => {
    const ends = (r: KeyGroupRange) => [r.startKeyGroup, r.endKeyGroup];
    assert.deepEqual(ends(KeyGroupRange.of(0, 10).intersection(KeyGroupRange.of(3, 7))), [3, 7]);
    assert.deepEqual(ends(KeyGroupRange.of(3, 7).intersection(KeyGroupRange.of(0, 10))), [3, 7]);
    assert.deepEqual(ends(KeyGroupRange.of(0, 10).intersection(KeyGroupRange.of(0, 10))), [0, 10]);
    assert.deepEqual(ends(KeyGroupRange.of(0, 10).intersection(KeyGroupRange.of(5, 20))), [5, 10]);
    assert.deepEqual(ends(KeyGroupRange.of(5, 20).intersection(KeyGroupRange.of(0, 10))), [5, 10]);
    assert.deepEqual(ends(KeyGroupRange.of(3, 12).intersection(KeyGroupRange.of(0, 10))), [3, 10]);
    assert.deepEqual(ends(KeyGroupRange.of(4, 4).intersection(KeyGroupRange.of(0, 10))), [4, 4]);
  });

  it('intersection of disjoint ranges, or with EMPTY, is EMPTY', () => {
    assert.equal(KeyGroupRange.of(0, 5).intersection(KeyGroupRange.of(6, 10)), KeyGroupRange.EMPTY);
    assert.equal(KeyGroupRange.of(6, 10).intersection(KeyGroupRange.of(0, 5)), KeyGroupRange.EMPTY);
    assert.equal(KeyGroupRange.of(0, 0).intersection(KeyGroupRange.of(1, 1)), KeyGroupRange.EMPTY);
    assert.equal(KeyGroupRange.of(0, 10).intersection(KeyGroupRange.EMPTY), KeyGroupRange.EMPTY);
    assert.equal(KeyGroupRange.EMPTY.intersection(KeyGroupRange.of(0, 10)), KeyGroupRange.EMPTY);
    assert.equal(KeyGroupRange.of(0, 0).intersection(KeyGroupRange.EMPTY), KeyGroupRange.EMPTY);
    assert.equal(KeyGroupRange.EMPTY.intersection(KeyGroupRange.EMPTY), KeyGroupRange.EMPTY);
  });

  it('toJSON and toString', () => {
    assert.deepEqual(KeyGroupRange.of(3, 7).toJSON(), { start: 3, end: 7 });
    assert.equal(JSON.stringify(KeyGroupRange.of(0, 127)), '{"start":0,"end":127}');
    assert.equal(KeyGroupRange.of(3, 7).toString(), 'KeyGroupRange{3..7}');
    assert.deepEqual(KeyGroupRange.EMPTY.toJSON(), { start: 0, end: -1 });
  });

  it('intersection of adjacent subtask ranges is EMPTY, union of them is everything', () => {
    const ranges = [0, 1, 2, 3, 4, 5, 6].map((i) => keyGroupRangeForSubtask(100, 7, i));
    for (let a = 0; a < ranges.length; a++) {
      for (let b = 0; b < ranges.length; b++) {
        if (a !== b) assert.equal(ranges[a]!.intersection(ranges[b]!), KeyGroupRange.EMPTY);
      }
    }
    assert.equal(ranges.reduce((n, r) => n + r.numberOfKeyGroups, 0), 100);
  });
});
