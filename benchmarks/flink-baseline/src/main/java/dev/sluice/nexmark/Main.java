package dev.sluice.nexmark;

import java.time.Duration;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * One Nexmark query on Flink, on a local MiniCluster in this JVM:
 *
 *   java -jar target/flink-nexmark.jar --query q1 --events 5000000 --parallelism 1 [--checksum]
 *
 * Prints one JSON line on stdout. Timed mode (counting sink):
 *   {"engine":"flink","query":"q1","events":N,"parallelism":P,"seconds":S,"eventsPerSecond":E,"results":R,...}
 * where seconds is the job's net runtime (submission to end, as Flink's JobExecutionResult
 * measures it: no JVM or MiniCluster start). Checksum mode (checksum.ts's rules):
 *   {"engine":"flink","query":"q1","events":N,"eventsChecksum":"…","outputChecksum":"…","outputCount":C}
 * with eventsChecksum over the first min(N, 1,000,000) events, straight from the generator.
 *
 * Also: --rate R (event-time rate, default 10000/s as Sluice's run-query.ts), --self-test
 * (JavaRandom against java.util.Random), --events-checksum-only, --object-reuse (Flink's object
 * reuse on: for a sensitivity check only, the comparison runs without), --dump FILE (checksum mode: also
 * write every canonical result line, sorted, to FILE).
 *
 * Latency mode, --latency-rate R [--latency-seconds D (default 15)]: the source paced in
 * wall-clock time at R events/s from base = the wall-clock time the job starts (its first source
 * reader starts), with event-time rate R and base time base (an event's timestamp is when it is due); R × D events
 * (unless --events); a sink recording each result's latency (now − its timestamp) in a 1 ms
 * histogram (LatencyHistogram, which gives the definition). The JSON line:
 *   {"engine":"flink","query":"q5","mode":"latency","events":N,"parallelism":P,"seconds":S,"eventsPerSecond":E,"results":R,
 *    "latencyRate":R,"inputEventsPerSecond":I,"keptUp":true,"startLagMs":…,"endLagMs":…,"measuredResults":M,
 *    "overflowResults":0,"p50Ms":…,"p99Ms":…,"maxMs":…,…}
 * --buffer-timeout MS sets Flink's network buffer timeout (default: Flink's, 100 ms), for a
 * sensitivity check only.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    String query = "q1";
    long events = 5_000_000;
    int parallelism = 1;
    boolean checksum = false;
    double rate = 10_000;
    boolean selfTest = false;
    boolean eventsOnly = false;
    String dump = null;
    boolean objectReuse = false;
    double latencyRate = 0;
    double latencySeconds = 15;
    boolean eventsGiven = false;
    long bufferTimeout = -2; // not set: Flink's default
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--query": query = args[++i]; break;
        case "--events": events = Long.parseLong(args[++i]); eventsGiven = true; break;
        case "--latency-rate": latencyRate = Double.parseDouble(args[++i]); break;
        case "--latency-seconds": latencySeconds = Double.parseDouble(args[++i]); break;
        case "--buffer-timeout": bufferTimeout = Long.parseLong(args[++i]); break;
        case "--parallelism": parallelism = Integer.parseInt(args[++i]); break;
        case "--rate": rate = Double.parseDouble(args[++i]); break;
        case "--checksum": checksum = true; break;
        case "--self-test": selfTest = true; break;
        case "--dump": dump = args[++i]; break;
        case "--object-reuse": objectReuse = true; break;
        case "--events-checksum-only": eventsOnly = true; break;
        default: throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    if (selfTest) {
      selfTest();
      return;
    }
    boolean latencyMode = latencyRate > 0;
    if (latencyMode && checksum) throw new IllegalArgumentException("--latency-rate and --checksum exclude each other");
    if (latencyMode && !(latencySeconds > 0)) throw new IllegalArgumentException("--latency-seconds must be positive");
    if (latencyMode && !eventsGiven) events = Math.round(latencyRate * latencySeconds);
    if (!Queries.NAMES.contains(query)) throw new IllegalArgumentException("--query must be one of " + Queries.NAMES + ", got " + query);
    if (events < 1) throw new IllegalArgumentException("--events must be positive");
    if (parallelism < 1) throw new IllegalArgumentException("--parallelism must be positive");

    NexmarkGenerator config = new NexmarkGenerator();
    config.firstEventRatePerSecond = rate;
    if (eventsOnly) {
      System.out.println("{\"engine\":\"flink\",\"events\":" + events + ",\"eventsChecksum\":\"" + Canonical.eventsChecksum(config, Math.min(events, 1_000_000)) + "\"}");
      return;
    }

    Configuration conf = new Configuration();
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(parallelism, conf);
    // Sluice's WatermarkStrategy.forBoundedOutOfOrderness(0) is generated every 200 ms (Flink's default).
    env.getConfig().setAutoWatermarkInterval(200);
    // Off by default, as Flink's default: chained operators then hand each other copies.
    if (objectReuse) env.getConfig().enableObjectReuse();
    if (bufferTimeout != -2) env.setBufferTimeout(bufferTimeout);
    // Latency mode: event-time rate R; the first source reader to start sets the base time.
    if (latencyMode) config.firstEventRatePerSecond = latencyRate;
    DataStream<Event> source = env.fromSource(
        latencyMode ? new NexmarkSource(config, events, latencyRate) : new NexmarkSource(config, events),
        WatermarkStrategy.<Event>forBoundedOutOfOrderness(Duration.ZERO),
        "nexmark");
    DataStream<?> results = Queries.build(query, source);
    if (latencyMode) {
      addSink(results, new Sinks.Latency<>(events, latencyRate), "latency");
    } else {
      addSink(results, checksum ? new Sinks.Checksum<>(query, dump != null) : new Sinks.Counting<>(), checksum ? "checksum" : "count");
    }

    long started = System.nanoTime();
    JobExecutionResult result = env.execute("nexmark " + query);
    double wallSeconds = (System.nanoTime() - started) / 1e9;
    long count = result.<Long>getAccumulatorResult(Sinks.RESULTS);

    if (checksum) {
      long sum = result.<Long>getAccumulatorResult(Sinks.OUTPUT_SUM);
      if (dump != null) {
        java.util.List<String> lines = new java.util.ArrayList<>(Sinks.Checksum.LINES);
        java.util.Collections.sort(lines);
        StringBuilder sb = new StringBuilder();
        for (String l : lines) sb.append(l).append('\n');
        java.nio.file.Files.writeString(java.nio.file.Path.of(dump), sb.toString());
      }
      String eventsChecksum = Canonical.eventsChecksum(config, Math.min(events, 1_000_000));
      System.out.println("{\"engine\":\"flink\",\"query\":\"" + query + "\",\"events\":" + events
          + ",\"eventsChecksum\":\"" + eventsChecksum + "\",\"outputChecksum\":\"" + Canonical.hex64(sum)
          + "\",\"outputCount\":" + count + "}");
    } else if (latencyMode) {
      double seconds = result.getNetRuntime(TimeUnit.NANOSECONDS) / 1e9;
      LatencyHistogram histogram = result.getAccumulatorResult(LatencyHistogram.NAME);
      String figures = histogram.figuresJson(latencyRate, events, NexmarkSource.BASE_MS.get(), NexmarkSource.FIRST_EMIT_MS.get(), NexmarkSource.LAST_EMIT_MS.get());
      System.out.println("{\"engine\":\"flink\",\"query\":\"" + query + "\",\"mode\":\"latency\",\"events\":" + events
          + ",\"parallelism\":" + parallelism + ",\"seconds\":" + fmt(seconds)
          + ",\"eventsPerSecond\":" + fmt(events / seconds) + ",\"results\":" + count + "," + figures
          + ",\"wallSeconds\":" + fmt(wallSeconds) + ",\"jvm\":\"" + System.getProperty("java.vm.name") + " "
          + System.getProperty("java.runtime.version") + "\",\"flink\":\"" + flinkVersion() + "\",\"objectReuse\":" + objectReuse
          + ",\"bufferTimeoutMs\":" + (bufferTimeout == -2 ? "null" : Long.toString(bufferTimeout)) + "}");
    } else {
      double seconds = result.getNetRuntime(TimeUnit.NANOSECONDS) / 1e9;
      System.out.println("{\"engine\":\"flink\",\"query\":\"" + query + "\",\"events\":" + events
          + ",\"parallelism\":" + parallelism + ",\"seconds\":" + fmt(seconds)
          + ",\"eventsPerSecond\":" + fmt(events / seconds) + ",\"results\":" + count
          + ",\"wallSeconds\":" + fmt(wallSeconds) + ",\"jvm\":\"" + System.getProperty("java.vm.name") + " "
          + System.getProperty("java.runtime.version") + "\",\"flink\":\"" + flinkVersion() + "\",\"objectReuse\":" + objectReuse + "}");
    }
    System.exit(0);
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static void addSink(DataStream<?> results, org.apache.flink.streaming.api.functions.sink.SinkFunction sink, String name) {
    ((DataStream) results).addSink(sink).name(name);
  }

  private static String fmt(double x) {
    return String.format(Locale.ROOT, "%.3f", x);
  }

  private static String flinkVersion() {
    String v = org.apache.flink.runtime.util.EnvironmentInformation.getVersion();
    return v == null ? "unknown" : v;
  }

  /** JavaRandom must be java.util.Random, bit for bit. */
  private static void selfTest() {
    Random seeds = new Random(1);
    for (int s = 0; s < 100_000; s++) {
      long seed = s < 1000 ? s : seeds.nextLong();
      Random expected = new Random(seed);
      JavaRandom actual = new JavaRandom(seed);
      for (int k = 0; k < 20; k++) {
        int bound = 1 + (k * 7919 + s) % 20000;
        check(expected.nextInt(bound) == actual.nextInt(bound), "nextInt(bound)", seed);
        check(expected.nextInt() == actual.nextInt(), "nextInt", seed);
        check(expected.nextLong() == actual.nextLong(), "nextLong", seed);
        check(expected.nextDouble() == actual.nextDouble(), "nextDouble", seed);
        check(expected.nextInt(1 << (k % 31)) == actual.nextInt(1 << (k % 31)), "nextInt(2^k)", seed);
      }
    }
    System.out.println("{\"selfTest\":\"ok\"}");
  }

  private static void check(boolean ok, String what, long seed) {
    if (!ok) throw new AssertionError("JavaRandom." + what + " differs from java.util.Random for seed " + seed);
  }
}
