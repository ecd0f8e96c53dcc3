// The 32-bit hash code of a record key, the input to key-group assignment. It follows Java's
// hashCode for the types both sides have, so a key lands in the same key group on Sluice and on
// Flink: String.hashCode for strings, Integer/Long.hashCode for integers, Double.hashCode for
// other numbers, Boolean.hashCode for booleans, List.hashCode for arrays. Frozen once state exists.

const float64 = new Float64Array(1);
const float64Words = new Int32Array(float64.buffer);
/** Java's Double.hashCode(Double.NaN): the bits 0x7ff8000000000000, high word xor low word. */
const CANONICAL_NAN_HASH = 0x7ff80000;

export function stringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

function numberHashCode(n: number): number {
  if (Number.isInteger(n)) {
    if (n >= -2147483648 && n <= 2147483647) return n | 0; // Integer.hashCode
    if (Number.isSafeInteger(n)) {
      // Long.hashCode: (int)(value ^ (value >>> 32))
      const big = BigInt.asUintN(64, BigInt(n));
      return Number(BigInt.asIntN(32, big ^ (big >> 32n)));
    }
  }
  // Double.hashCode via doubleToLongBits: every NaN hashes as the canonical NaN (a computed NaN's
  // bits differ between CPUs), and -0 and 0 share a key.
  if (Number.isNaN(n)) return CANONICAL_NAN_HASH;
  float64[0] = n === 0 ? 0 : n;
  return float64Words[0]! ^ float64Words[1]!;
}

export function keyHashCode(key: unknown): number {
  switch (typeof key) {
    case 'string':
      return stringHashCode(key);
    case 'number':
      return numberHashCode(key);
    case 'boolean':
      return key ? 1231 : 1237;
    case 'bigint':
      return Number(BigInt.asIntN(32, BigInt.asUintN(64, key) ^ (BigInt.asUintN(64, key) >> 32n)));
    case 'object':
      if (Array.isArray(key)) {
        let h = 1;
        for (const part of key) h = (Math.imul(h, 31) + (part == null ? 0 : keyHashCode(part))) | 0;
        return h;
      }
      break;
  }
  throw new TypeError(
    `a key must be a string, number, boolean, bigint or an array of those (a composite key), got ${key === null ? 'null' : typeof key}`,
  );
}
