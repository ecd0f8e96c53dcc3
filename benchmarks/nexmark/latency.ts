// Latency mode of the Nexmark benchmark: "p50/p99 latency where the query emits". The Flink
// baseline implements the same definition (benchmarks/flink-baseline: NexmarkSource's pacing,
// Sinks.Latency, LatencyHistogram.java); keep the two in step.
//
// Definition
// - R events/s (--latency-rate), N = R × D events (D = --latency-seconds, default 15 s).
// - base = the wall-clock time (Date.now(), epoch ms) when the job starts, taken as the moment
//   its source starts: the first source reader's creation (here: PacedNexmarkSource.createReader,
//   while the embedded executor sets up the job) or start (Flink: NexmarkSource.Reader.start(),
//   once the MiniCluster is up and the source task deployed). Process and cluster start-up come
//   before it; what remains of the job's start-up after it shows as the source's start lag.
// - The generator runs with event-time rate R and base time `base`: event n's timestamp is
//   base + trunc(n · 1e6/R µs) / 1000 ms, i.e. when it is due.
// - The source is paced in wall-clock time: event n is emitted no earlier than
//   base + n · 1000/R ms (never before its timestamp). A source that is behind schedule (at
//   start-up, or held back by a slow pipeline) emits as fast as it can until it is on schedule
//   again, so a slow engine shows up as latency, not as a lower rate.
// - Latency of a result = wall-clock time when the sink receives it (Date.now() /
//   System.currentTimeMillis()) − the result's event timestamp (what SinkWriter.write /
//   SinkFunction.Context.timestamp() get). For q0–q2 that is the delay of one record through the
//   pipeline; for a windowed result the timestamp is the window's max timestamp (end − 1), so the
//   figure includes waiting for the watermark (periodic, every 200 ms, out-of-orderness 0).
// - Measured: results whose timestamp t has base + 3 s ≤ t < base + D − 1 s. The first 3 s of
//   event time are warm-up (job start-up, JIT, the catch-up after start-up); the last second is
//   left out because the end of input (the final watermark) fires windows early there. Results
//   with later timestamps (windows closed by the end of input) would even be negative.
// - Histogram: 1 ms buckets from 0 to 60 s, plus one overflow bucket; p50/p99 are nearest-rank
//   (the smallest L such that at least 50 % / 99 % of the measured results have latency ≤ L),
//   max is exact. All in whole ms (both clocks are ms clocks).
// - Achieved input rate = N / (time the source emitted its last event − base), in events/s.
//   The engine kept up if it is at least 98 % of R (the source finished at most ~2 % behind
//   schedule: 0.3 s over 15 s). Otherwise the latency figures are not reported (null), with a note.

import type { PollStatus, Source, SourceOutput, SourceReader, SourceReaderContext, Sink, SinkWriter, SplitState } from '../../shared/api/connectors.ts';
import type { NexmarkEvent } from '../../shared/nexmark/model.ts';
import { NexmarkSource } from '../../worker/connectors/nexmark/nexmark-source.ts';

export const LATENCY_WARMUP_MS = 3_000;
export const LATENCY_COOLDOWN_MS = 1_000;
/** Histogram range: 1 ms buckets for 0 … HISTOGRAM_MS − 1, and one overflow bucket. */
export const HISTOGRAM_MS = 60_000;
/** Kept up: achieved input rate ≥ this fraction of the requested rate. */
export const KEPT_UP_FRACTION = 0.98;
export const DEFAULT_LATENCY_RATE = 200_000;
export const DEFAULT_LATENCY_SECONDS = 15;

/**
 * The Nexmark source, paced as above: base = the first reader's creation, event-time rate R from
 * base, and event n emitted no earlier than base + n · 1000/R. (NexmarkSource's own
 * `ratePerSecond` would count from each reader's creation and needs the base time up front.)
 * Also the run's record: base, the measurement window, first and last emission.
 */
export class PacedNexmarkSource implements Source<NexmarkEvent> {
  readonly name = 'Nexmark (paced)';
  readonly bounded = true;
  /** Splits are event-number ranges: they do not depend on the base time. */
  private readonly splitter: NexmarkSource;
  private inner: NexmarkSource | undefined;
  /** Set when the first reader is created; NaN before (so no result is in the window). */
  baseMs = Number.NaN;
  /** The measurement window in event time, [fromMs, toMs): see measurementWindow. */
  fromMs = Number.NaN;
  toMs = Number.NaN;
  /** Wall-clock time of the first and of the last poll that emitted anything (all readers). */
  firstEmitMs = 0;
  lastEmitMs = 0;

  constructor(readonly options: { readonly maxEvents: number; readonly ratePerSecond: number }) {
    this.splitter = new NexmarkSource({ maxEvents: options.maxEvents, firstEventRatePerSecond: options.ratePerSecond });
  }

  discoverSplits(context: { parallelism: number }): readonly SplitState[] | Promise<readonly SplitState[]> {
    return this.splitter.discoverSplits(context);
  }

  createReader(context: SourceReaderContext): SourceReader<NexmarkEvent> {
    if (this.inner === undefined) {
      const { maxEvents, ratePerSecond } = this.options;
      this.baseMs = context.now();
      ({ fromMs: this.fromMs, toMs: this.toMs } = measurementWindow(this.baseMs, maxEvents, ratePerSecond));
      this.inner = new NexmarkSource({ maxEvents, firstEventRatePerSecond: ratePerSecond, baseTimeMs: this.baseMs });
    }
    return new PacedReader(this, this.inner.createReader(context), context);
  }
}

class PacedReader implements SourceReader<NexmarkEvent> {
  private emitted = 0;
  private readonly eventsPerMs: number;

  constructor(private readonly source: PacedNexmarkSource, private readonly inner: SourceReader<NexmarkEvent>, private readonly context: SourceReaderContext) {
    this.eventsPerMs = source.options.ratePerSecond / 1000;
  }

  get waitHintMs(): number {
    return 1;
  }

  addSplits(splits: readonly SplitState[]): void | Promise<void> {
    return this.inner.addSplits(splits);
  }

  poll(output: SourceOutput<NexmarkEvent>, maxRecords: number): PollStatus | Promise<PollStatus> {
    const now = this.context.now();
    // Subtask i of p reads split i (event numbers i, i+p, …): its k-th event is number i + k·p,
    // due at base + (i + k·p)/R. Events due so far: those with (i + k·p) ≤ (now − base)·R/1000.
    const { subtaskIndex, parallelism } = this.context;
    const due = Math.floor(((now - this.source.baseMs) * this.eventsPerMs - subtaskIndex) / parallelism) + 1;
    const allowed = Math.min(maxRecords, due - this.emitted);
    if (allowed <= 0) return 'wait';
    const status = this.inner.poll(output, allowed);
    if (status instanceof Promise) throw new Error('PacedNexmarkSource: the Nexmark reader polls synchronously');
    // NexmarkReader emits exactly `allowed` events unless its splits end.
    this.emitted += allowed;
    if (this.source.firstEmitMs === 0) this.source.firstEmitMs = now;
    this.source.lastEmitMs = Math.max(this.source.lastEmitMs, this.context.now());
    return status;
  }

  snapshotSplits(): SplitState[] {
    return this.inner.snapshotSplits();
  }

  close(): void | Promise<void> {
    return this.inner.close();
  }
}

/** Counts of latencies in 1 ms buckets, preallocated: recording allocates nothing. */
export class LatencyHistogram {
  /** counts[i]: latency i ms (0 ≤ i < HISTOGRAM_MS); counts[HISTOGRAM_MS]: HISTOGRAM_MS or more. */
  readonly counts = new Float64Array(HISTOGRAM_MS + 1);
  total = 0;
  maxMs = 0;
  /** Latencies below 0 (clock resolution): counted as 0. */
  negative = 0;

  record(latencyMs: number): void {
    let bucket = latencyMs;
    if (bucket < 0) {
      this.negative++;
      bucket = 0;
    } else if (bucket > HISTOGRAM_MS) bucket = HISTOGRAM_MS;
    this.counts[bucket]!++;
    this.total++;
    if (latencyMs > this.maxMs) this.maxMs = latencyMs;
  }

  /** Nearest rank: the smallest L with at least `fraction` of the latencies ≤ L; overflow gives HISTOGRAM_MS. */
  percentile(fraction: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.max(1, Math.ceil(fraction * this.total));
    let seen = 0;
    for (let i = 0; i <= HISTOGRAM_MS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return i;
    }
    return HISTOGRAM_MS;
  }
}

/**
 * Records, for each result whose timestamp lies in the measurement window, Date.now() − its
 * timestamp; counts all results. All writers share one histogram (embedded: one process). The
 * window is read from `window` at each write: the source sets it when the job starts.
 */
export class LatencySink implements Sink<unknown> {
  readonly name = 'Latency';
  readonly histogram = new LatencyHistogram();
  results = 0;

  constructor(private readonly window: { readonly fromMs: number; readonly toMs: number }) {}

  createWriter(): SinkWriter<unknown> {
    const histogram = this.histogram;
    const window = this.window;
    return {
      write: (_value, timestamp) => {
        this.results++;
        if (timestamp >= window.fromMs && timestamp < window.toMs) histogram.record(Date.now() - timestamp);
      },
      prepareCommit: () => undefined,
      commit: async () => {},
      close: () => {},
    };
  }
}

/** The measurement window in event time for a run of `events` events at `rate` from `baseMs`. */
export function measurementWindow(baseMs: number, events: number, rate: number): { fromMs: number; toMs: number } {
  return { fromMs: baseMs + LATENCY_WARMUP_MS, toMs: baseMs + (events * 1000) / rate - LATENCY_COOLDOWN_MS };
}

export interface LatencyFigures {
  readonly latencyRate: number;
  readonly inputEventsPerSecond: number;
  readonly keptUp: boolean;
  /** First event left the source this long after base (start-up). */
  readonly startLagMs: number;
  /** Last event left the source this long after it was due. */
  readonly endLagMs: number;
  readonly measuredResults: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  readonly overflowResults: number;
  readonly latencyNote?: string;
}

/** The figures of a latency run (the Flink jar computes the same fields the same way). */
export function latencyFigures(h: LatencyHistogram, o: { rate: number; events: number; baseMs: number; firstEmitMs: number; lastEmitMs: number }): LatencyFigures {
  const inputEventsPerSecond = o.events / (Math.max(1, o.lastEmitMs - o.baseMs) / 1000);
  const keptUp = inputEventsPerSecond >= KEPT_UP_FRACTION * o.rate;
  const endLagMs = o.lastEmitMs - (o.baseMs + ((o.events - 1) * 1000) / o.rate);
  const base = {
    latencyRate: o.rate,
    inputEventsPerSecond,
    keptUp,
    startLagMs: o.firstEmitMs - o.baseMs,
    endLagMs: Math.round(endLagMs),
    measuredResults: h.total,
    overflowResults: h.counts[HISTOGRAM_MS]!,
  };
  if (!keptUp) {
    return {
      ...base, p50Ms: null, p99Ms: null, maxMs: null,
      latencyNote: `could not keep up with ${o.rate} events/s: achieved ${Math.round(inputEventsPerSecond)} events/s (source finished ${Math.round(endLagMs)} ms behind schedule); latency not reported`,
    };
  }
  if (h.total === 0) return { ...base, p50Ms: null, p99Ms: null, maxMs: null, latencyNote: 'no results in the measurement window' };
  return { ...base, p50Ms: h.percentile(0.5), p99Ms: h.percentile(0.99), maxMs: h.maxMs };
}
