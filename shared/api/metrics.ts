// User-defined metrics, as Flink's metric API: a function's RuntimeContext gives its operator's
// MetricGroup, where it registers counters, gauges, meters and histograms, in nested groups.
// Workers (and `sluice run --metrics-port`) export them on /metrics with Flink's Prometheus
// names: `flink_taskmanager_job_task_operator_<group>_<name>` with the task's and the operator's
// labels, a key-value group adding a label of its own.
//
//   open(ctx) {
//     this.parsed = ctx.getMetricGroup().addGroup('parser').counter('parsed');
//     this.latency = ctx.getMetricGroup().histogram('lookupMs', new DescriptiveStatisticsHistogram(500));
//   }

import { InvalidPipelineError } from '../errors.ts';

export interface Counter {
  inc(n?: number): void;
  dec(n?: number): void;
  getCount(): number;
}

export interface Gauge<T extends number = number> {
  getValue(): T;
}

export interface Meter {
  markEvent(n?: number): void;
  /** Events per second over the meter's time span. */
  getRate(): number;
  getCount(): number;
}

export interface HistogramStatistics {
  /** The value at quantile q (0..1) of the values kept. */
  getQuantile(q: number): number;
  getMin(): number;
  getMax(): number;
  getMean(): number;
  size(): number;
}

export interface Histogram {
  update(value: number): void;
  /** Values ever recorded. */
  getCount(): number;
  getStatistics(): HistogramStatistics;
}

export interface MetricGroup {
  counter(name: string, counter?: Counter): Counter;
  gauge<G extends Gauge>(name: string, gauge: G): G;
  meter<M extends Meter>(name: string, meter: M): M;
  histogram<H extends Histogram>(name: string, histogram: H): H;
  /** A nested group: `addGroup('parser')` puts "parser" in the names of its metrics; `addGroup('region', 'eu')` adds the label region="eu" as well. */
  addGroup(name: string, value?: string): MetricGroup;
}

export class SimpleCounter implements Counter {
  private count = 0;

  inc(n = 1): void {
    this.count += n;
  }

  dec(n = 1): void {
    this.count -= n;
  }

  getCount(): number {
    return this.count;
  }
}

/**
 * Flink's MeterView: a rate over the last `timeSpanSeconds` (default 60), from a count kept per
 * second. `clock` gives the time in milliseconds (the runtime's clock in tests).
 */
export class MeterView implements Meter {
  private readonly buckets: number[];
  private readonly bucketStartSeconds: number[];
  private count = 0;

  constructor(
    private readonly timeSpanSeconds = 60,
    private readonly clock: () => number = Date.now,
  ) {
    if (!Number.isInteger(timeSpanSeconds) || timeSpanSeconds < 1) throw new InvalidPipelineError(`MeterView: timeSpanSeconds must be a positive integer, got ${timeSpanSeconds}`);
    this.buckets = new Array<number>(timeSpanSeconds).fill(0);
    this.bucketStartSeconds = new Array<number>(timeSpanSeconds).fill(-1);
  }

  markEvent(n = 1): void {
    this.count += n;
    const second = Math.floor(this.clock() / 1000);
    const slot = second % this.timeSpanSeconds;
    if (this.bucketStartSeconds[slot] !== second) {
      this.bucketStartSeconds[slot] = second;
      this.buckets[slot] = 0;
    }
    this.buckets[slot]! += n;
  }

  getRate(): number {
    const now = Math.floor(this.clock() / 1000);
    let events = 0;
    for (let slot = 0; slot < this.timeSpanSeconds; slot++) {
      const started = this.bucketStartSeconds[slot]!;
      if (started > now - this.timeSpanSeconds && started <= now) events += this.buckets[slot]!;
    }
    return events / this.timeSpanSeconds;
  }

  getCount(): number {
    return this.count;
  }
}

/** Flink's DescriptiveStatisticsHistogram: statistics over the last `windowSize` values. */
export class DescriptiveStatisticsHistogram implements Histogram {
  private readonly values: number[] = [];
  private next = 0;
  private count = 0;

  constructor(private readonly windowSize: number) {
    if (!Number.isInteger(windowSize) || windowSize < 1) throw new InvalidPipelineError(`DescriptiveStatisticsHistogram: windowSize must be a positive integer, got ${windowSize}`);
  }

  update(value: number): void {
    this.count++;
    if (this.values.length < this.windowSize) this.values.push(value);
    else this.values[this.next] = value;
    this.next = (this.next + 1) % this.windowSize;
  }

  getCount(): number {
    return this.count;
  }

  getStatistics(): HistogramStatistics {
    const sorted = [...this.values].sort((a, b) => a - b);
    const n = sorted.length;
    return {
      // Nearest rank, as the estimate of a quantile of a sample.
      getQuantile: (q) => (n === 0 ? Number.NaN : sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!),
      getMin: () => (n === 0 ? Number.NaN : sorted[0]!),
      getMax: () => (n === 0 ? Number.NaN : sorted[n - 1]!),
      getMean: () => (n === 0 ? Number.NaN : sorted.reduce((a, b) => a + b, 0) / n),
      size: () => n,
    };
  }
}
