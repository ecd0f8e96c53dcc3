// java.util.Random's 48-bit linear congruential generator, bit for bit, so that the Nexmark
// generator (which reseeds one per event, as the reference does with `new Random(eventId)`)
// produces exactly the events a Java baseline produces.
//
// The 48-bit state is kept as two 24-bit halves in int32s, and the 48-bit product is taken in
// 12-bit pieces, so every step is integer arithmetic: no BigInt, no allocation. The algorithms
// are the JDK's documented ones (Random keeps them in Java 17+, so sequences are stable):
//   setSeed:  state = (seed ^ 0x5DEECE66D) & (2^48 - 1)
//   next(b):  state = (state * 0x5DEECE66D + 0xB) & (2^48 - 1); return (int)(state >>> (48 - b))
//   nextInt(bound), nextLong(), nextDouble() built on next(b) as in the JDK.
//
// Speed: steps depend on each other and V8 inlines a step behind a function call only a few
// times per compiled function, after which each step costs a call and a round trip through
// memory, about three times as much. So steps run in loops over local variables: `advance`
// computes them in batches for the draw-by-draw API, and the two hot draw patterns,
// nextLetterCodes here and the generator's bid, step the LCG themselves with JAVA_LCG.

const TWO_POW_24 = 16_777_216;
const TWO_POW_48 = 281_474_976_710_656;
const LOW_24_BITS = 0xff_ffff;
/** 0x5DEECE66D split at bit 24, and its low half split again at bit 12. */
const MULTIPLIER_HIGH = 0x5de;
const MULTIPLIER_LOW = 0xec_e66d;
const MULTIPLIER_LOW_TOP_12 = 0xece;
const MULTIPLIER_LOW_BOTTOM_12 = 0x66d;
const ADDEND = 0xb;
const DOUBLE_UNIT = 1 / 9_007_199_254_740_992; // 2^-53
const INT32_MAX = 2_147_483_647;
const LOWERCASE_A = 0x61;
/** Steps computed per refill of the draw-by-draw API. */
const BATCH_SIZE = 8;

/**
 * The LCG's constants, for loops that step it themselves with the state in local variables; the
 * step is the one in `advance`. Copy them to locals first: read from here (or as module
 * constants) in the loop, each costs a load and a check per step.
 */
export const JAVA_LCG = Object.freeze({
  multiplierHigh24: MULTIPLIER_HIGH,
  multiplierLow24: MULTIPLIER_LOW,
  multiplierLowTop12: MULTIPLIER_LOW_TOP_12,
  multiplierLowBottom12: MULTIPLIER_LOW_BOTTOM_12,
  addend: ADDEND,
});

/** Where `advance` leaves the state after its last step: [bits 24..47, bits 0..23]. */
const advancedState = new Int32Array(2);

/**
 * Runs `steps` LCG steps from the state (high24, low24), writing each step's next(32) to
 * out[0..steps); the final state goes to `advancedState`.
 */
function advance(out: Int32Array, steps: number, high24: number, low24: number): void {
  const { multiplierHigh24, multiplierLow24, multiplierLowTop12, multiplierLowBottom12, addend } = JAVA_LCG;
  let high = high24;
  let low = low24;
  for (let k = 0; k < steps; k++) {
    // state * 0x5DEECE66D + 0xB mod 2^48 on 24-bit halves. low * multiplierLow24 is 48 bits
    // wide, so it is taken in 12-bit pieces, each partial product an int; of the high half's
    // products only the low 24 bits survive, which Math.imul's low 32 bits cover.
    const lowTop12 = low >>> 12;
    const lowBottom12 = low & 0xfff;
    const middle = lowTop12 * multiplierLowBottom12 + lowBottom12 * multiplierLowTop12;
    const bottom = lowBottom12 * multiplierLowBottom12 + ((middle & 0xfff) << 12) + addend;
    const carry = lowTop12 * multiplierLowTop12 + (middle >>> 12) + (bottom >>> 24);
    high = (Math.imul(high, multiplierLow24) + Math.imul(low, multiplierHigh24) + carry) & 0xff_ffff;
    low = bottom & 0xff_ffff;
    out[k] = (high << 8) | (low >>> 16);
  }
  advancedState[0] = high;
  advancedState[1] = low;
}

/** Splits a safe-integer seed into the low 48 bits' halves (two's complement, as Java's long). */
function seedHalves(seed: number): [high24: number, low24: number] {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`JavaRandom seed must be a safe integer, got ${seed}`);
  const low48 = seed >= 0 && seed < TWO_POW_48 ? seed : ((seed % TWO_POW_48) + TWO_POW_48) % TWO_POW_48;
  const high24 = Math.floor(low48 / TWO_POW_24);
  return [high24, low48 - high24 * TWO_POW_24];
}

/** Bits 24..47 of the state `new Random(seed)` starts from, given the seed's bits 24..47. */
export function initialStateHigh24(seedHigh24: number): number {
  return (seedHigh24 ^ MULTIPLIER_HIGH) & LOW_24_BITS;
}

/** Bits 0..23 of the state `new Random(seed)` starts from, given the seed's bits 0..23. */
export function initialStateLow24(seedLow24: number): number {
  return (seedLow24 ^ MULTIPLIER_LOW) & LOW_24_BITS;
}

/**
 * `Random.nextInt(bound)` from the next(31) it draws first: the result, or -1 when Java would
 * reject that draw and draw again. For an integer 0 < bound ≤ 2^31 - 1.
 */
export function javaBoundedInt(next31: number, bound: number): number {
  const m = bound - 1;
  // Power of two: Java takes the high bits, (bound * r) >> 31, i.e. r >> (31 - log2(bound)).
  if ((bound & m) === 0) return next31 >>> Math.clz32(bound);
  const r = next31 % bound;
  // Java's `next31 - r + m < 0` (int overflow), arranged so that nothing overflows an int.
  return next31 - r > INT32_MAX - m ? -1 : r;
}

export class JavaRandom {
  /** next(32) of the batch of steps computed ahead; outputs[consumedSteps] is the next one. */
  private readonly outputs = new Int32Array(BATCH_SIZE);
  private computedSteps = 0;
  private consumedSteps = 0;
  /** State after the last computed step: bits 24..47 and bits 0..23. */
  private stateHigh24 = 0;
  private stateLow24 = 0;

  /** Same as `new java.util.Random(seed)`; `seed` is a safe integer, negative ones included. */
  constructor(seed = 0) {
    this.setSeed(seed);
  }

  /** Same as `Random.setSeed(seed)`: only the seed's low 48 bits (two's complement) matter. */
  setSeed(seed: number): void {
    const [high24, low24] = seedHalves(seed);
    this.setSeedHalves(high24, low24);
  }

  /**
   * `setSeed` for a seed already split into its bits 24..47 and 0..23 (each 0 ≤ x < 2^24); the
   * event generator uses it to avoid a division per event.
   */
  setSeedHalves(seedHigh24: number, seedLow24: number): void {
    this.resumeAt(initialStateHigh24(seedHigh24), initialStateLow24(seedLow24));
  }

  /**
   * Continues from a raw state (bits 24..47 and 0..23), as left by a caller that ran the steps
   * itself with JAVA_LCG.
   */
  resumeAt(stateHigh24: number, stateLow24: number): void {
    this.stateHigh24 = stateHigh24;
    this.stateLow24 = stateLow24;
    this.computedSteps = 0;
    this.consumedSteps = 0;
  }

  /** Computes the next batch; only when every computed step is consumed. */
  private refill(): void {
    advance(this.outputs, BATCH_SIZE, this.stateHigh24, this.stateLow24);
    this.stateHigh24 = advancedState[0]!;
    this.stateLow24 = advancedState[1]!;
    this.computedSteps = BATCH_SIZE;
    this.consumedSteps = 0;
  }

  /** `Random.next(32)`, also `Random.nextInt()`: a signed 32-bit integer. */
  nextInt(): number {
    if (this.consumedSteps === this.computedSteps) this.refill();
    return this.outputs[this.consumedSteps++]!;
  }

  /** `Random.nextInt(bound)`: 0 ≤ x < bound, for an integer 0 < bound ≤ 2^31 - 1. */
  nextIntBounded(bound: number): number {
    let result: number;
    while ((result = javaBoundedInt(this.nextInt() >>> 1, bound)) < 0);
    return result;
  }

  /** `Random.nextDouble()`: ((next(26) << 27) + next(27)) * 2^-53. */
  nextDouble(): number {
    const high26 = this.nextInt() >>> 6;
    const low27 = this.nextInt() >>> 5;
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

  /**
   * Writes `length` character codes to out[0..length), each drawn as
   * `nextInt(13) == 0 ? specialCharCode : 'a' + nextInt(26)` (Nexmark's random strings): the
   * same draws as calling nextIntBounded, stepping the LCG in this loop, about twice as fast.
   */
  nextLetterCodes(out: Uint8Array, length: number, specialCharCode: number): void {
    const { multiplierHigh24, multiplierLow24, multiplierLowTop12, multiplierLowBottom12, addend } = JAVA_LCG;
    let written = 0;
    let bound = 13;
    // First the steps already computed, then steps of our own (the step as in `advance`).
    while (written < length && this.consumedSteps < this.computedSteps) {
      const next31 = this.outputs[this.consumedSteps++]! >>> 1;
      const remainder = next31 % bound;
      if (next31 - remainder > INT32_MAX - (bound - 1)) continue; // nextInt(bound) rejects it
      if (bound === 26) {
        out[written++] = LOWERCASE_A + remainder;
        bound = 13;
      } else if (remainder === 0) {
        out[written++] = specialCharCode;
      } else {
        bound = 26;
      }
    }
    if (written === length) return;
    let high = this.stateHigh24;
    let low = this.stateLow24;
    const int32Max = INT32_MAX;
    const lowercaseA = LOWERCASE_A;
    while (written < length) {
      const lowTop12 = low >>> 12;
      const lowBottom12 = low & 0xfff;
      const middle = lowTop12 * multiplierLowBottom12 + lowBottom12 * multiplierLowTop12;
      const bottom = lowBottom12 * multiplierLowBottom12 + ((middle & 0xfff) << 12) + addend;
      const carry = lowTop12 * multiplierLowTop12 + (middle >>> 12) + (bottom >>> 24);
      high = (Math.imul(high, multiplierLow24) + Math.imul(low, multiplierHigh24) + carry) & 0xff_ffff;
      low = bottom & 0xff_ffff;
      const next31 = (high << 7) | (low >>> 17);
      // Constant divisors, so that the remainders compile to multiplications.
      const remainder = bound === 13 ? next31 % 13 : next31 % 26;
      if (next31 - remainder > int32Max - (bound - 1)) continue; // nextInt(bound) rejects it
      if (bound === 26) {
        out[written++] = lowercaseA + remainder;
        bound = 13;
      } else if (remainder === 0) {
        out[written++] = specialCharCode;
      } else {
        bound = 26;
      }
    }
    this.stateHigh24 = high;
    this.stateLow24 = low;
    this.computedSteps = 0;
    this.consumedSteps = 0;
  }
}
