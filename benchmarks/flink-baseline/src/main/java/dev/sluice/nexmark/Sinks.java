package dev.sluice.nexmark;

import java.security.MessageDigest;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.sink.RichSinkFunction;

/**
 * The two sinks of a run. Their totals are Flink accumulators, summed over the subtasks and
 * read from the JobExecutionResult.
 */
final class Sinks {
  private Sinks() {}

  static final String RESULTS = "results";
  static final String OUTPUT_SUM = "output-sum";

  /** Counts and drops (the timed runs; Sluice's DiscardingSink). */
  static final class Counting<T> extends RichSinkFunction<T> {
    private final LongCounter count = new LongCounter();

    @Override
    public void open(OpenContext openContext) {
      getRuntimeContext().addAccumulator(RESULTS, count);
    }

    @Override
    public void invoke(T value, Context context) {
      count.add(1L);
    }
  }

  /**
   * Latency mode (LatencyHistogram for the definition): counts every result and records, for
   * each result whose timestamp lies in the measurement window [base + 3 s, base + N/R − 1 s),
   * System.currentTimeMillis() − its timestamp (the record's timestamp from the sink context:
   * for a window's result, the window's max timestamp). The base is the paced source's
   * NexmarkSource.BASE_MS, set before the first event: read at the first result. Sluice's
   * latency.ts LatencySink.
   */
  static final class Latency<T> extends RichSinkFunction<T> {
    private final long events;
    private final double rate;
    private final LongCounter count = new LongCounter();
    private final LatencyHistogram histogram = new LatencyHistogram();
    private long fromMs = Long.MAX_VALUE;
    private double toMs = Double.NEGATIVE_INFINITY;
    private boolean windowKnown = false;

    Latency(long events, double rate) {
      this.events = events;
      this.rate = rate;
    }

    @Override
    public void open(OpenContext openContext) {
      getRuntimeContext().addAccumulator(RESULTS, count);
      getRuntimeContext().addAccumulator(LatencyHistogram.NAME, histogram);
    }

    @Override
    public void invoke(T value, Context context) {
      count.add(1L);
      Long timestamp = context.timestamp();
      if (timestamp == null) return;
      if (!windowKnown) {
        long base = NexmarkSource.BASE_MS.get();
        if (base == 0) throw new IllegalStateException("latency sink: a result before the paced source started");
        fromMs = base + LatencyHistogram.WARMUP_MS;
        toMs = base + events * 1000.0 / rate - LatencyHistogram.COOLDOWN_MS;
        windowKnown = true;
      }
      long t = timestamp;
      if (t >= fromMs && t < toMs) histogram.record(System.currentTimeMillis() - t);
    }
  }

  /**
   * checksum.ts OutputChecksum: per result, its canonical line's SHA-256, first 8 bytes
   * big-endian, added modulo 2^64 (Java's wrapping long addition; LongCounter merges by adding).
   */
  static final class Checksum<T> extends RichSinkFunction<T> {
    /** --dump: every line, kept in this JVM (the MiniCluster runs the sink here). */
    static final java.util.concurrent.ConcurrentLinkedQueue<String> LINES = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final String query;
    private final boolean keepLines;
    private final LongCounter count = new LongCounter();
    private final LongCounter sum = new LongCounter();
    private transient MessageDigest sha256;

    Checksum(String query, boolean keepLines) {
      this.query = query;
      this.keepLines = keepLines;
    }

    @Override
    public void open(OpenContext openContext) {
      getRuntimeContext().addAccumulator(RESULTS, count);
      getRuntimeContext().addAccumulator(OUTPUT_SUM, sum);
      sha256 = Canonical.sha256();
    }

    @Override
    public void invoke(T value, Context context) {
      String line = Canonical.output(query, value);
      sum.add(Canonical.lineHash(sha256, line));
      if (keepLines) LINES.add(line);
      count.add(1L);
    }
  }
}
