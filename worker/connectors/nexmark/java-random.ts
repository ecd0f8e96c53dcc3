// java.util.Random's 48-bit linear congruential generator, bit for bit, so that the Nexmark
// generator (which reseeds one per event, as the reference does with `new Random(eventId)`)
// produces exactly the events a Java baseline produces.
//
// The 48-bit state is kept as two 24-bit halves in plain numbers: every intermediate product then
// stays below 2^53 (exact in a double) or only its low bits matter (Math.imul), so no BigInt and
// no allocation is needed on the hot path. Algorithms follow the JDK's documented contracts:
//   setSeed:  state = (seed ^ 0x5DEECE66D) & (2^48 - 1)
//   next(b):  state = (state * 0x5DEECE66D + 0xB) & (2^48 - 1); return (int)(state >>> (48 - b))
//   nextInt(bound), nextLong(), nextDouble() as in the JDK (Random keeps its legacy algorithms
//   in Java 17+, so the sequences are stable across JDK versions).

const TWO_POW_24 = 16_777_216;
const TWO_POW_48 = 281_474_976_710_656;
const LOW_24_BITS = 0xff_ffff;
/** 0x5DEECE66D split at bit 24. */
const MULTIPLIER_HIGH = 0x5de;
const MULTIPLIER_LOW = 0xec_e66d;
const MULTIPLIER_LOW_TOP_12 = 0xece;
const MULTIPLIER_LOW_BOTTOM_12 = 0x66d;
const LOW_12_BITS = 0xfff;
const ADDEND = 0xb;
const DOUBLE_UNIT = 1 / 9_007_199_254_740_992; // 2^-53
const INT32_MAX = 2_147_483_647;

export class JavaRandom {
  private stateHigh24 = 0;
  private stateLow24 = 0;

  /** Same as `new java.util.Random(seed)`; `seed` is a safe integer, negative ones included. */
  constructor(seed = 0) {
    this.setSeed(seed);
  }

  /** Same as `Random.setSeed(seed)`: only the seed's low 48 bits (two's complement) matter. */
  setSeed(seed: number): void {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`JavaRandom seed must be a safe integer, got ${seed}`);
    const low48 = seed >= 0 && seed < TWO_POW_48 ? seed : ((seed % TWO_POW_48) + TWO_POW_48) % TWO_POW_48;
    const high24 = Math.floor(low48 / TWO_POW_24);
    this.setSeedHalves(high24, low48 - high24 * TWO_POW_24);
  }

  /**
   * `setSeed` for a seed already split into its bits 24..47 and 0..23 (each 0 ≤ x < 2^24); the
   * event generator uses it to avoid a division per event.
   */
  setSeedHalves(seedHigh24: number, seedLow24: number): void {
    this.stateHigh24 = (seedHigh24 ^ MULTIPLIER_HIGH) & LOW_24_BITS;
    this.stateLow24 = (seedLow24 ^ MULTIPLIER_LOW) & LOW_24_BITS;
  }

  /** Advances the LCG one step. */
  private step(): void {
    const high = this.stateHigh24;
    const low = this.stateLow24;
    // low * MULTIPLIER_LOW is 48 bits wide; computed in 12-bit pieces every partial product is an
    // int, so the whole step stays in integer registers (it is the latency chain of every event).
    const lowTop12 = low >>> 12;
    const lowBottom12 = low & LOW_12_BITS;
    const middle = lowTop12 * MULTIPLIER_LOW_BOTTOM_12 + lowBottom12 * MULTIPLIER_LOW_TOP_12;
    const bottom = lowBottom12 * MULTIPLIER_LOW_BOTTOM_12 + ((middle & LOW_12_BITS) << 12) + ADDEND;
    const carry = lowTop12 * MULTIPLIER_LOW_TOP_12 + (middle >>> 12) + (bottom >>> 24);
    this.stateLow24 = bottom & LOW_24_BITS;
    // Only bits 24..47 of the whole product survive, so only the low 24 bits of these partial
    // products matter: Math.imul's low 32 bits are enough.
    this.stateHigh24 = (Math.imul(high, MULTIPLIER_LOW) + Math.imul(low, MULTIPLIER_HIGH) + carry) & LOW_24_BITS;
  }

  /** `Random.next(32)`: a signed 32-bit integer. */
  nextInt(): number {
    this.step();
    return (this.stateHigh24 << 8) | (this.stateLow24 >>> 16);
  }

  /** `Random.next(31)`: 0 ≤ x < 2^31. */
  private next31(): number {
    this.step();
    return (this.stateHigh24 << 7) | (this.stateLow24 >>> 17);
  }

  /** `Random.nextInt(bound)`: 0 ≤ x < bound, for an integer 0 < bound ≤ 2^31 - 1. */
  nextIntBounded(bound: number): number {
    let r = this.next31();
    const m = bound - 1;
    if ((bound & m) === 0) {
      // Power of two: Java takes the high bits, (bound * r) >> 31, i.e. r >> (31 - log2(bound)).
      return r >>> Math.clz32(bound);
    }
    // Java rejects the top partial bucket by detecting int overflow of `u - r + m`.
    for (let u = r; u - (r = u % bound) + m > INT32_MAX; u = this.next31());
    return r;
  }

  /** `Random.nextDouble()`: ((next(26) << 27) + next(27)) * 2^-53. */
  nextDouble(): number {
    this.step();
    const high26 = (this.stateHigh24 << 2) | (this.stateLow24 >>> 22);
    this.step();
    const low27 = (this.stateHigh24 << 3) | (this.stateLow24 >>> 21);
    return (high26 * 134_217_728 + low27) * DOUBLE_UNIT;
  }

  /**
   * `Random.nextLong()` as a BigInt (a Java long does not fit a double). Only rarely needed, so
   * allocation is acceptable here.
   */
  nextLong(): bigint {
    const high = this.nextInt();
    const low = this.nextInt();
    return BigInt.asIntN(64, (BigInt(high) << 32n) + BigInt(low));
  }
}
