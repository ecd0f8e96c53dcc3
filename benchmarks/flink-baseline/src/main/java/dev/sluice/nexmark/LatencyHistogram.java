package dev.sluice.nexmark;

import java.util.Locale;
import org.apache.flink.api.common.accumulators.Accumulator;

/**
 * Latency mode (--latency-rate R): the histogram of result latencies, as Sluice's
 * benchmarks/nexmark/latency.ts LatencyHistogram, and the figures computed from it the same way.
 * See that file (and the README) for the definition; in short:
 *
 * <ul>
 *   <li>latency of a result = System.currentTimeMillis() when the sink receives it − the result's
 *       timestamp (for windowed results the window's max timestamp), in whole ms;
 *   <li>only results with base + 3 s ≤ timestamp &lt; base + N/R − 1 s are recorded;
 *   <li>1 ms buckets 0 … 59,999 plus an overflow bucket (≥ 60 s), preallocated: recording
 *       allocates nothing; p50/p99 nearest-rank, max exact;
 *   <li>achieved input rate = N / (last event emitted − base); kept up if ≥ 98 % of R, otherwise
 *       no latency figures (null) and a note.
 * </ul>
 *
 * A Flink accumulator (summed over the sink subtasks, read from the JobExecutionResult). Its
 * value is the histogram itself.
 */
final class LatencyHistogram implements Accumulator<Long, LatencyHistogram> {
  private static final long serialVersionUID = 1L;

  static final String NAME = "latency-histogram";
  static final long WARMUP_MS = 3_000;
  static final long COOLDOWN_MS = 1_000;
  static final int HISTOGRAM_MS = 60_000;
  static final double KEPT_UP_FRACTION = 0.98;

  /** counts[i]: latency i ms (i &lt; HISTOGRAM_MS); counts[HISTOGRAM_MS]: HISTOGRAM_MS or more. */
  private final long[] counts = new long[HISTOGRAM_MS + 1];
  private long total;
  private long maxMs;
  /** Latencies below 0 (clock resolution): counted as 0. */
  private long negative;

  void record(long latencyMs) {
    long bucket = latencyMs;
    if (bucket < 0) {
      negative++;
      bucket = 0;
    } else if (bucket > HISTOGRAM_MS) {
      bucket = HISTOGRAM_MS;
    }
    counts[(int) bucket]++;
    total++;
    if (latencyMs > maxMs) maxMs = latencyMs;
  }

  long total() {
    return total;
  }

  /** Nearest rank: the smallest L with at least `fraction` of the latencies ≤ L; -1 if empty. */
  long percentile(double fraction) {
    if (total == 0) return -1;
    long rank = Math.max(1, (long) Math.ceil(fraction * total));
    long seen = 0;
    for (int i = 0; i <= HISTOGRAM_MS; i++) {
      seen += counts[i];
      if (seen >= rank) return i;
    }
    return HISTOGRAM_MS;
  }

  @Override
  public void add(Long latencyMs) {
    record(latencyMs);
  }

  @Override
  public LatencyHistogram getLocalValue() {
    return this;
  }

  @Override
  public void resetLocal() {
    java.util.Arrays.fill(counts, 0);
    total = 0;
    maxMs = 0;
    negative = 0;
  }

  @Override
  public void merge(Accumulator<Long, LatencyHistogram> other) {
    LatencyHistogram o = other.getLocalValue();
    for (int i = 0; i <= HISTOGRAM_MS; i++) counts[i] += o.counts[i];
    total += o.total;
    maxMs = Math.max(maxMs, o.maxMs);
    negative += o.negative;
  }

  @Override
  public LatencyHistogram clone() {
    LatencyHistogram copy = new LatencyHistogram();
    copy.merge(this);
    return copy;
  }

  /**
   * The latency fields of the JSON line, as latency.ts latencyFigures: latencyRate,
   * inputEventsPerSecond, keptUp, startLagMs, endLagMs, measuredResults, overflowResults,
   * p50Ms, p99Ms, maxMs (null unless kept up and measured), latencyNote (only then).
   */
  String figuresJson(double rate, long events, long baseMs, long firstEmitMs, long lastEmitMs) {
    double inputEventsPerSecond = events / (Math.max(1, lastEmitMs - baseMs) / 1000.0);
    boolean keptUp = inputEventsPerSecond >= KEPT_UP_FRACTION * rate;
    double endLagMs = lastEmitMs - (baseMs + (events - 1) * 1000.0 / rate);
    StringBuilder sb = new StringBuilder();
    sb.append("\"latencyRate\":").append(num(rate))
        .append(",\"inputEventsPerSecond\":").append(num(inputEventsPerSecond))
        .append(",\"keptUp\":").append(keptUp)
        .append(",\"startLagMs\":").append(firstEmitMs - baseMs)
        .append(",\"endLagMs\":").append(Math.round(endLagMs))
        .append(",\"measuredResults\":").append(total)
        .append(",\"overflowResults\":").append(counts[HISTOGRAM_MS]);
    if (!keptUp) {
      sb.append(",\"p50Ms\":null,\"p99Ms\":null,\"maxMs\":null,\"latencyNote\":\"could not keep up with ")
          .append(num(rate)).append(" events/s: achieved ").append(Math.round(inputEventsPerSecond))
          .append(" events/s (source finished ").append(Math.round(endLagMs)).append(" ms behind schedule); latency not reported\"");
    } else if (total == 0) {
      sb.append(",\"p50Ms\":null,\"p99Ms\":null,\"maxMs\":null,\"latencyNote\":\"no results in the measurement window\"");
    } else {
      sb.append(",\"p50Ms\":").append(percentile(0.5))
          .append(",\"p99Ms\":").append(percentile(0.99))
          .append(",\"maxMs\":").append(maxMs);
    }
    return sb.toString();
  }

  private static String num(double x) {
    return x == Math.rint(x) && Math.abs(x) < 1e15 ? Long.toString((long) x) : String.format(Locale.ROOT, "%.3f", x);
  }
}
