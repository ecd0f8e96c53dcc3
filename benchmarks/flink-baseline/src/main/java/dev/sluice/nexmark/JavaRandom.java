package dev.sluice.nexmark;

/**
 * java.util.Random's algorithm (the 48-bit LCG, next(bits), nextInt, nextInt(bound), nextLong,
 * nextDouble), bit for bit, in a reusable object without java.util.Random's AtomicLong: the
 * generator reseeds it for every event instead of allocating a Random per event. Main's
 * --self-test compares it with java.util.Random.
 */
final class JavaRandom {
  private static final long MULTIPLIER = 0x5DEECE66DL;
  private static final long ADDEND = 0xBL;
  private static final long MASK = (1L << 48) - 1;
  private static final double DOUBLE_UNIT = 0x1.0p-53;

  private long seed;

  JavaRandom() {}

  JavaRandom(long seed) {
    setSeed(seed);
  }

  /** As new Random(seed) / Random.setSeed(seed). */
  void setSeed(long seed) {
    this.seed = (seed ^ MULTIPLIER) & MASK;
  }

  int next(int bits) {
    seed = (seed * MULTIPLIER + ADDEND) & MASK;
    return (int) (seed >>> (48 - bits));
  }

  int nextInt() {
    return next(32);
  }

  int nextInt(int bound) {
    int r = next(31);
    int m = bound - 1;
    if ((bound & m) == 0) {
      r = (int) ((bound * (long) r) >> 31);
    } else {
      for (int u = r; u - (r = u % bound) + m < 0; u = next(31)) {
        // rejected: draw again
      }
    }
    return r;
  }

  long nextLong() {
    return ((long) next(32) << 32) + next(32);
  }

  double nextDouble() {
    return (((long) next(26) << 27) + next(27)) * DOUBLE_UNIT;
  }
}
