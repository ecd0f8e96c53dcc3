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
