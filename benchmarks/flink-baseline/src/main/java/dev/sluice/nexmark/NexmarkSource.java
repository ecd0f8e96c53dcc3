package dev.sluice.nexmark;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SourceSplit;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.core.io.InputStatus;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/**
 * The Nexmark generator as a bounded FLIP-27 source, split as Sluice's NexmarkSource
 * (worker/connectors/nexmark/nexmark-source.ts): with parallelism n there are n splits, split i
 * generating event numbers i, i+n, i+2n, … below maxEvents, and subtask i reads split i. Each
 * record carries its event's dateTime as timestamp, through a per-split output, so a
 * WatermarkStrategy without timestamp assigner takes it and watermarks are generated per split
 * (the reader's watermark is the minimum over its splits), as Sluice does. By default no
 * wall-clock rate limit: the rate only sets event times.
 *
 * Paced (latency mode, --latency-rate R; Sluice's benchmarks/nexmark/latency.ts
 * PacedNexmarkSource): the first reader to start sets the base, BASE_MS = its wall-clock time,
 * and every reader's generator gets base time BASE_MS (the config's rate should be R, so event
 * n's timestamp is when it is due). Event n is emitted no earlier than BASE_MS + n · 1000/R ms
 * of wall-clock time. A reader with nothing due returns NOTHING_AVAILABLE and a timer thread
 * completes its availability future when the next event is due; a reader behind schedule emits
 * as fast as it can. BASE_MS and the wall-clock times of the first and last emitted events
 * (FIRST_EMIT_MS / LAST_EMIT_MS) are statics: the MiniCluster runs readers and sinks in this
 * JVM, and the latency sink takes its measurement window from BASE_MS.
 */
public final class NexmarkSource implements Source<Event, NexmarkSource.Split, List<NexmarkSource.Split>> {
  private static final long serialVersionUID = 1L;

  /** Paced mode: the base (first reader's start), the first event emitted, the last (max over readers). */
  static final AtomicLong BASE_MS = new AtomicLong();
  static final AtomicLong FIRST_EMIT_MS = new AtomicLong();
  static final AtomicLong LAST_EMIT_MS = new AtomicLong();

  private final NexmarkGenerator config;
  private final long maxEvents;
  /** Events per second of wall-clock time; 0: not paced. */
  private final double paceRate;

  public NexmarkSource(NexmarkGenerator config, long maxEvents) {
    this(config, maxEvents, 0);
  }

  /** Paced at paceRate events/s from the first reader's start (config's rate should be the same). */
  public NexmarkSource(NexmarkGenerator config, long maxEvents, double paceRate) {
    this.config = config;
    this.maxEvents = maxEvents;
    this.paceRate = paceRate;
  }

  @Override
  public Boundedness getBoundedness() {
    return Boundedness.BOUNDED;
  }

  @Override
  public SplitEnumerator<Split, List<Split>> createEnumerator(SplitEnumeratorContext<Split> context) {
    int n = context.currentParallelism();
    List<Split> splits = new ArrayList<>();
    for (int i = 0; i < n; i++) splits.add(new Split(i, n, i, Math.max(0, (maxEvents - i + n - 1) / n)));
    return new Enumerator(context, splits);
  }

  @Override
  public SplitEnumerator<Split, List<Split>> restoreEnumerator(SplitEnumeratorContext<Split> context, List<Split> checkpoint) {
    return new Enumerator(context, checkpoint);
  }

  @Override
  public SimpleVersionedSerializer<Split> getSplitSerializer() {
    return new SplitSerializer();
  }

  @Override
  public SimpleVersionedSerializer<List<Split>> getEnumeratorCheckpointSerializer() {
    return new SplitListSerializer();
  }

  @Override
  public SourceReader<Event, Split> createReader(SourceReaderContext context) {
    return new Reader(config, paceRate);
  }

  /** Split `index` of `count`: `remaining` events from event number `next`, every `count`-th. */
  public static final class Split implements SourceSplit {
    final int index;
    final int count;
    long next;
    long remaining;

    Split(int index, int count, long next, long remaining) {
      this.index = index;
      this.count = count;
      this.next = next;
      this.remaining = remaining;
    }

    @Override
    public String splitId() {
      return "nexmark-" + index + "-of-" + count;
    }
  }

  static final class SplitSerializer implements SimpleVersionedSerializer<Split> {
    @Override
    public int getVersion() {
      return 1;
    }

    @Override
    public byte[] serialize(Split s) throws IOException {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(bytes);
      write(out, s);
      out.flush();
      return bytes.toByteArray();
    }

    @Override
    public Split deserialize(int version, byte[] serialized) throws IOException {
      return read(new DataInputStream(new ByteArrayInputStream(serialized)));
    }

    static void write(DataOutputStream out, Split s) throws IOException {
      out.writeInt(s.index);
      out.writeInt(s.count);
      out.writeLong(s.next);
      out.writeLong(s.remaining);
    }

    static Split read(DataInputStream in) throws IOException {
      return new Split(in.readInt(), in.readInt(), in.readLong(), in.readLong());
    }
  }

  static final class SplitListSerializer implements SimpleVersionedSerializer<List<Split>> {
    @Override
    public int getVersion() {
      return 1;
    }

    @Override
    public byte[] serialize(List<Split> splits) throws IOException {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(bytes);
      out.writeInt(splits.size());
      for (Split s : splits) SplitSerializer.write(out, s);
      out.flush();
      return bytes.toByteArray();
    }

    @Override
    public List<Split> deserialize(int version, byte[] serialized) throws IOException {
      DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized));
      int size = in.readInt();
      List<Split> splits = new ArrayList<>(size);
      for (int i = 0; i < size; i++) splits.add(SplitSerializer.read(in));
      return splits;
    }
  }

  /** Gives split i to subtask i % parallelism when that reader registers, then no more. */
  static final class Enumerator implements SplitEnumerator<Split, List<Split>> {
    private final SplitEnumeratorContext<Split> context;
    private final TreeMap<Integer, List<Split>> pending = new TreeMap<>();

    Enumerator(SplitEnumeratorContext<Split> context, List<Split> splits) {
      this.context = context;
      for (Split s : splits) add(s);
    }

    private void add(Split s) {
      pending.computeIfAbsent(s.index % context.currentParallelism(), k -> new ArrayList<>()).add(s);
    }

    @Override
    public void start() {}

    @Override
    public void handleSplitRequest(int subtaskId, String requesterHostname) {}

    @Override
    public void addSplitsBack(List<Split> splits, int subtaskId) {
      for (Split s : splits) add(s);
    }

    @Override
    public void addReader(int subtaskId) {
      List<Split> splits = pending.remove(subtaskId);
      if (splits != null) for (Split s : splits) context.assignSplit(s, subtaskId);
      context.signalNoMoreSplits(subtaskId);
    }

    @Override
    public List<Split> snapshotState(long checkpointId) {
      List<Split> all = new ArrayList<>();
      for (Map.Entry<Integer, List<Split>> e : pending.entrySet()) all.addAll(e.getValue());
      return all;
    }

    @Override
    public void close() {}
  }

  /** Emits its splits' events one per pollNext, round-robin over its splits. */
  static final class Reader implements SourceReader<Event, Split> {
    private final NexmarkGenerator generator;
    private final List<Split> splits = new ArrayList<>();
    private final List<SourceOutput<Event>> outputs = new ArrayList<>();
    private int turn = 0;
    private boolean noMoreSplits = false;
    private CompletableFuture<Void> availability = new CompletableFuture<>();
    private long paceBaseMs;
    private final double paceMsPerEvent;
    private final boolean paced;
    /** Paced: the last wall-clock time read (read again only when the next event is not yet due). */
    private long clockMs;
    private boolean emittedAny = false;
    private ScheduledExecutorService timer;

    Reader(NexmarkGenerator config, double paceRate) {
      this.generator = config;
      this.paced = paceRate > 0;
      this.paceMsPerEvent = paced ? 1000.0 / paceRate : 0;
    }

    @Override
    public void start() {
      if (paced) {
        BASE_MS.compareAndSet(0, System.currentTimeMillis());
        paceBaseMs = BASE_MS.get();
        generator.baseTimeMs = paceBaseMs; // before any event: nothing derived from it is cached
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
          Thread t = new Thread(r, "nexmark-pacer");
          t.setDaemon(true);
          return t;
        });
      }
    }

    /** Paced: whether event number n is due; if not, arranges to be woken when it is. */
    private boolean due(long n) {
      double dueMs = paceBaseMs + n * paceMsPerEvent;
      if (dueMs <= clockMs) return true;
      clockMs = System.currentTimeMillis();
      if (dueMs <= clockMs) return true;
      if (availability.isDone()) availability = new CompletableFuture<>();
      CompletableFuture<Void> wake = availability;
      timer.schedule(() -> wake.complete(null), Math.max(1, (long) Math.ceil(dueMs - clockMs)), TimeUnit.MILLISECONDS);
      return false;
    }

    @Override
    public InputStatus pollNext(ReaderOutput<Event> output) {
      if (outputs.size() < splits.size()) {
        for (int i = outputs.size(); i < splits.size(); i++) outputs.add(output.createOutputForSplit(splits.get(i).splitId()));
      }
      while (!splits.isEmpty()) {
        if (turn >= splits.size()) turn = 0;
        Split split = splits.get(turn);
        if (split.remaining <= 0) {
          if (paced) LAST_EMIT_MS.accumulateAndGet(System.currentTimeMillis(), Math::max);
          output.releaseOutputForSplit(split.splitId());
          splits.remove(turn);
          outputs.remove(turn);
          continue;
        }
        if (paced) {
          if (!due(split.next)) return InputStatus.NOTHING_AVAILABLE;
          if (!emittedAny) {
            emittedAny = true;
            FIRST_EMIT_MS.compareAndSet(0, clockMs);
          }
        }
        Event event = generator.eventAt(split.next);
        split.next += split.count;
        split.remaining--;
        outputs.get(turn).collect(event, event.dateTime());
        turn++;
        return InputStatus.MORE_AVAILABLE;
      }
      if (noMoreSplits) return InputStatus.END_OF_INPUT;
      if (availability.isDone()) availability = new CompletableFuture<>();
      return InputStatus.NOTHING_AVAILABLE;
    }

    @Override
    public List<Split> snapshotState(long checkpointId) {
      List<Split> copy = new ArrayList<>();
      for (Split s : splits) copy.add(new Split(s.index, s.count, s.next, s.remaining));
      return copy;
    }

    @Override
    public CompletableFuture<Void> isAvailable() {
      return availability;
    }

    @Override
    public void addSplits(List<Split> newSplits) {
      splits.addAll(newSplits);
      availability.complete(null);
    }

    @Override
    public void notifyNoMoreSplits() {
      noMoreSplits = true;
      availability.complete(null);
    }

    @Override
    public void close() {
      if (timer != null) timer.shutdownNow();
    }
  }
}
