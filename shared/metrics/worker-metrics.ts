// A worker's task metrics under the names and labels Flink's PrometheusReporter gives them
// (`flink_taskmanager_job_task_<metric>`), so dashboards and alerts written for Flink and for
// Managed Flink work unchanged. Values are computed when scraped: the worker hands over a sampler
// of its subtasks' cumulative counters, and per-second rates come from a sliding window of those
// samples (taken on every scrape and by a timer, so the window fills between scrapes). A subtask
// the sampler no longer reports (job cancelled, subtask redeployed) leaves no stale series.

import { Gauge, type Registry } from 'prom-client';
import type { Cancellable, Clock } from '../clock.ts';
import type { Logger } from '../logging.ts';
import { errorChainMessage } from '../errors.ts';
import { CounterRateWindow } from './counter-rate-window.ts';
import { OncePerScrape } from './once-per-scrape.ts';

export interface TaskMetricsSample {
  readonly jobId: string;
  readonly jobName: string;
  readonly taskName: string;
  readonly subtaskIndex: number;
  readonly attempt: number;
  /** Cumulative since the subtask (this attempt) started. */
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly busyTimeMs: number;
  readonly backPressuredTimeMs: number;
  /** Cumulative: records its operators dropped as too late. */
  readonly lateRecordsDropped: number;
  /** Source subtasks: records not read yet, when the source can tell. */
  readonly pendingRecords?: number | undefined;
  /** Epoch milliseconds, or -Infinity before the first watermark. */
  readonly currentInputWatermark: number;
}

export interface WorkerMetricsOptions {
  /** The worker's id: the `tm_id` label. */
  readonly tmId: string;
  readonly clock: Clock;
  /** Span of the sliding window per-second rates are computed over (Flink's MeterView: 60 s). */
  readonly rateWindowMs?: number;
  /** How often the timer samples between scrapes. */
  readonly sampleIntervalMs?: number;
  /** Where a failing sampler is reported; without one it fails silently (no task series). */
  readonly logger?: Logger;
}

export const DEFAULT_RATE_WINDOW_MS = 10_000;
export const DEFAULT_SAMPLE_INTERVAL_MS = 1_000;

/** Flink's task scope labels, in Flink's order. */
export const TASK_LABELS = ['job_id', 'job_name', 'task_name', 'subtask_index', 'task_attempt_num', 'tm_id'] as const;
type TaskLabel = (typeof TASK_LABELS)[number];

const TASK_PREFIX = 'flink_taskmanager_job_task_';

const TASK_GAUGES = {
  numRecordsIn: 'Records this subtask has received.',
  numRecordsOut: 'Records this subtask has emitted.',
  numRecordsInPerSecond: 'Records received per second.',
  numRecordsOutPerSecond: 'Records emitted per second.',
  busyTimeMsPerSecond: 'Milliseconds per second this subtask was busy processing.',
  backPressuredTimeMsPerSecond: 'Milliseconds per second this subtask was back-pressured (waiting to emit).',
  idleTimeMsPerSecond: 'Milliseconds per second this subtask was idle (waiting for input).',
} as const;
type TaskGaugeName = keyof typeof TASK_GAUGES;

const WATERMARK_GAUGE = 'flink_taskmanager_job_task_operator_currentInputWatermark';
const LATE_RECORDS_GAUGE = 'flink_taskmanager_job_task_operator_numLateRecordsDropped';
const PENDING_RECORDS_GAUGE = 'flink_taskmanager_job_task_operator_pendingRecords';

/** Counter order inside a rate window. */
const RECORDS_IN = 0;
const RECORDS_OUT = 1;
const BUSY_MS = 2;
const BACK_PRESSURED_MS = 3;

const clampMsPerSecond = (value: number): number => Math.min(Math.max(value, 0), 1000);

export class WorkerMetrics {
  private readonly gauges: Record<TaskGaugeName, Gauge<TaskLabel>>;
  private readonly watermark: Gauge<TaskLabel>;
  private readonly lateRecords: Gauge<TaskLabel>;
  private readonly pendingRecords: Gauge<TaskLabel>;
  private readonly windows = new Map<string, CounterRateWindow>();
  private readonly scrape: OncePerScrape;
  private readonly rateWindowMs: number;
  private readonly sampleIntervalMs: number;
  private sampler: (() => TaskMetricsSample[]) | undefined;
  private timer: Cancellable | undefined;
  private closed = false;

  constructor(registry: Registry, private readonly options: WorkerMetricsOptions) {
    this.rateWindowMs = options.rateWindowMs ?? DEFAULT_RATE_WINDOW_MS;
    this.sampleIntervalMs = options.sampleIntervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS;
    if (!(this.rateWindowMs > 0)) throw new RangeError(`rateWindowMs must be positive, got ${this.rateWindowMs}`);
    if (!(this.sampleIntervalMs > 0)) throw new RangeError(`sampleIntervalMs must be positive, got ${this.sampleIntervalMs}`);
    this.scrape = new OncePerScrape(() => this.publish(this.sample()));
    const collect = () => this.scrape.run();
    const gauge = (name: string, help: string) =>
      new Gauge<TaskLabel>({ name, help, labelNames: TASK_LABELS, registers: [registry], collect });
    this.gauges = Object.fromEntries(
      Object.entries(TASK_GAUGES).map(([name, help]) => [name, gauge(TASK_PREFIX + name, help)]),
    ) as Record<TaskGaugeName, Gauge<TaskLabel>>;
    this.watermark = gauge(WATERMARK_GAUGE, 'The lowest watermark this subtask has received, in epoch milliseconds (-Inf before the first).');
    this.lateRecords = gauge(LATE_RECORDS_GAUGE, 'Records this subtask dropped as too late (past the allowed lateness of their windows).');
    this.pendingRecords = gauge(PENDING_RECORDS_GAUGE, 'Source subtasks: records their splits hold not read yet (Kafka: up to each partition\'s high watermark); absent when the source cannot tell.');
    this.scheduleSample();
  }

  /** Where the task samples come from; replaces any earlier sampler. */
  setTaskSampler(sampler: () => TaskMetricsSample[]): void {
    this.sampler = sampler;
    this.windows.clear();
    this.sample();
  }

  /** Stops the sampling timer; scrapes still work. */
  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private scheduleSample(): void {
    if (this.closed) return;
    this.timer = this.options.clock.schedule(this.sampleIntervalMs, () => {
      this.sample();
      this.scheduleSample();
    });
  }

  /** Calls the sampler, feeds the rate windows and drops the windows of vanished subtasks. */
  private sample(): TaskMetricsSample[] {
    if (!this.sampler) return [];
    let samples: TaskMetricsSample[];
    try {
      samples = this.sampler();
    } catch (error) {
      this.options.logger?.warn('task metrics sampler failed', { error: errorChainMessage(error) });
      return [];
    }
    const nowMs = this.options.clock.now();
    const seen = new Set<string>();
    for (const s of samples) {
      const key = this.seriesKey(s);
      seen.add(key);
      let window = this.windows.get(key);
      if (!window) this.windows.set(key, (window = new CounterRateWindow(this.rateWindowMs)));
      window.add({ atMs: nowMs, values: [s.recordsIn, s.recordsOut, s.busyTimeMs, s.backPressuredTimeMs] });
    }
    for (const key of this.windows.keys()) if (!seen.has(key)) this.windows.delete(key);
    return samples;
  }

  private publish(samples: TaskMetricsSample[]): void {
    for (const gauge of Object.values(this.gauges)) gauge.reset();
    this.watermark.reset();
    this.lateRecords.reset();
    this.pendingRecords.reset();
    for (const s of samples) {
      const labels = this.labels(s);
      this.gauges.numRecordsIn.set(labels, s.recordsIn);
      this.gauges.numRecordsOut.set(labels, s.recordsOut);
      this.watermark.set(labels, s.currentInputWatermark);
      this.lateRecords.set(labels, s.lateRecordsDropped);
      if (s.pendingRecords !== undefined) this.pendingRecords.set(labels, s.pendingRecords);
      // No rate series until there are two samples apart in time: 0 would be a guess.
      const rates = this.windows.get(this.seriesKey(s))?.ratesPerSecond();
      if (!rates) continue;
      const busy = clampMsPerSecond(rates[BUSY_MS]!);
      const backPressured = clampMsPerSecond(rates[BACK_PRESSURED_MS]!);
      this.gauges.numRecordsInPerSecond.set(labels, rates[RECORDS_IN]!);
      this.gauges.numRecordsOutPerSecond.set(labels, rates[RECORDS_OUT]!);
      this.gauges.busyTimeMsPerSecond.set(labels, busy);
      this.gauges.backPressuredTimeMsPerSecond.set(labels, backPressured);
      // Flink measures idle and back-pressured time and derives busy; we measure busy, so idle is the rest.
      this.gauges.idleTimeMsPerSecond.set(labels, clampMsPerSecond(1000 - busy - backPressured));
    }
  }

  private labels(s: TaskMetricsSample): Record<TaskLabel, string> {
    return {
      job_id: s.jobId,
      job_name: s.jobName,
      task_name: s.taskName,
      subtask_index: String(s.subtaskIndex),
      task_attempt_num: String(s.attempt),
      tm_id: this.options.tmId,
    };
  }

  private seriesKey(s: TaskMetricsSample): string {
    return JSON.stringify([s.jobId, s.jobName, s.taskName, s.subtaskIndex, s.attempt]);
  }
}
