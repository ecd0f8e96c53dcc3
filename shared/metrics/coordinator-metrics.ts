// The coordinator's metrics under the names Flink's PrometheusReporter gives the JobManager's
// (`flink_jobmanager_job_<metric>` with `job_id, job_name`; `flink_jobmanager_<metric>`), plus
// whether this coordinator leads. Job values are computed when scraped from a sampler the
// scheduler provides; a job the sampler no longer reports leaves no stale series.

import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../logging.ts';
import { errorChainMessage } from '../errors.ts';
import { OncePerScrape } from './once-per-scrape.ts';

export interface JobMetricsSample {
  readonly jobId: string;
  readonly jobName: string;
  readonly numRestarts: number;
  /** NaN while no checkpoint has completed. */
  readonly lastCheckpointDurationMs: number;
  /** NaN while no checkpoint has completed. */
  readonly lastCheckpointSizeBytes: number;
  readonly numberOfCompletedCheckpoints: number;
  readonly numberOfFailedCheckpoints: number;
  readonly numberOfInProgressCheckpoints: number;
  readonly uptimeMs: number;
  /** The job's state, as Flink's JobStatus names them (CREATED, RUNNING, RESTARTING, …). */
  readonly state: string;
}

export interface CoordinatorMetricsOptions {
  /** The coordinator's id: the `coordinator_id` label of `sluice_coordinator_is_leader`. */
  readonly coordinatorId: string;
  /** Where a failing sampler is reported; without one it fails silently (no job series). */
  readonly logger?: Logger;
}

export const JOB_LABELS = ['job_id', 'job_name'] as const;
type JobLabel = (typeof JOB_LABELS)[number];

const JOB_PREFIX = 'flink_jobmanager_job_';

/** Flink's value for "no checkpoint yet" in lastCheckpointDuration and lastCheckpointSize. */
const NO_CHECKPOINT = -1;
const orNoCheckpoint = (value: number): number => (Number.isNaN(value) ? NO_CHECKPOINT : value);

const JOB_GAUGES = {
  numRestarts: { help: 'Restarts of this job since it was submitted.', value: (s: JobMetricsSample) => s.numRestarts },
  lastCheckpointDuration: {
    help: 'Milliseconds the last completed checkpoint took (-1 before the first).',
    value: (s: JobMetricsSample) => orNoCheckpoint(s.lastCheckpointDurationMs),
  },
  lastCheckpointSize: {
    help: 'Bytes of the last completed checkpoint (-1 before the first).',
    value: (s: JobMetricsSample) => orNoCheckpoint(s.lastCheckpointSizeBytes),
  },
  numberOfCompletedCheckpoints: { help: 'Checkpoints completed.', value: (s: JobMetricsSample) => s.numberOfCompletedCheckpoints },
  numberOfFailedCheckpoints: { help: 'Checkpoints that failed.', value: (s: JobMetricsSample) => s.numberOfFailedCheckpoints },
  numberOfInProgressCheckpoints: { help: 'Checkpoints in progress.', value: (s: JobMetricsSample) => s.numberOfInProgressCheckpoints },
  uptime: { help: 'Milliseconds the job has been running without interruption.', value: (s: JobMetricsSample) => s.uptimeMs },
} as const;
type JobGaugeName = keyof typeof JOB_GAUGES;

export class CoordinatorMetrics {
  private readonly jobGauges: Record<JobGaugeName, Gauge<JobLabel>>;
  private readonly jobState: Gauge<JobLabel | 'state'>;
  private readonly runningJobs: Gauge;
  private readonly isLeader: Gauge<'coordinator_id'>;
  private readonly registeredWorkers: Gauge;
  private readonly slotsTotal: Gauge;
  private readonly slotsAvailable: Gauge;
  private readonly scrape: OncePerScrape;
  private sampler: (() => JobMetricsSample[]) | undefined;

  constructor(registry: Registry, private readonly options: CoordinatorMetricsOptions) {
    this.scrape = new OncePerScrape(() => this.publish());
    const collect = () => this.scrape.run();
    const registers = [registry];
    this.jobGauges = Object.fromEntries(
      Object.entries(JOB_GAUGES).map(([name, { help }]) => [name, new Gauge<JobLabel>({ name: JOB_PREFIX + name, help, labelNames: JOB_LABELS, registers, collect })]),
    ) as Record<JobGaugeName, Gauge<JobLabel>>;
    this.jobState = new Gauge({
      name: 'sluice_jobmanager_job_state',
      help: 'The state of each job: 1 on the series whose `state` label is the current one.',
      labelNames: [...JOB_LABELS, 'state'],
      registers,
      collect,
    });
    this.runningJobs = new Gauge({ name: 'flink_jobmanager_numRunningJobs', help: 'Jobs in state RUNNING.', registers, collect });
    this.isLeader = new Gauge({
      name: 'sluice_coordinator_is_leader',
      help: '1 while this coordinator is the leader, else 0.',
      labelNames: ['coordinator_id'],
      registers,
    });
    this.registeredWorkers = new Gauge({ name: 'flink_jobmanager_numRegisteredTaskManagers', help: 'Workers registered with this coordinator.', registers });
    this.slotsTotal = new Gauge({ name: 'flink_jobmanager_taskSlotsTotal', help: 'Slots of all registered workers.', registers });
    this.slotsAvailable = new Gauge({ name: 'flink_jobmanager_taskSlotsAvailable', help: 'Slots not running a subtask.', registers });
    this.setLeader(false);
    this.setNumRegisteredTaskManagers(0);
    this.setTaskSlots(0, 0);
  }

  /** Where the job samples come from; replaces any earlier sampler. */
  setJobSampler(sampler: () => JobMetricsSample[]): void {
    this.sampler = sampler;
  }

  setLeader(isLeader: boolean): void {
    this.isLeader.set({ coordinator_id: this.options.coordinatorId }, isLeader ? 1 : 0);
  }

  setNumRegisteredTaskManagers(count: number): void {
    this.registeredWorkers.set(count);
  }

  setTaskSlotsTotal(count: number): void {
    this.slotsTotal.set(count);
  }

  setTaskSlotsAvailable(count: number): void {
    this.slotsAvailable.set(count);
  }

  setTaskSlots(total: number, available: number): void {
    this.setTaskSlotsTotal(total);
    this.setTaskSlotsAvailable(available);
  }

  private publish(): void {
    for (const gauge of Object.values(this.jobGauges)) gauge.reset();
    this.jobState.reset();
    const samples = this.sample();
    for (const s of samples) {
      const labels = { job_id: s.jobId, job_name: s.jobName };
      for (const [name, { value }] of Object.entries(JOB_GAUGES)) this.jobGauges[name as JobGaugeName].set(labels, value(s));
      this.jobState.set({ ...labels, state: s.state }, 1);
    }
    this.runningJobs.set(samples.filter((s) => s.state.toUpperCase() === 'RUNNING').length);
  }

  private sample(): JobMetricsSample[] {
    if (!this.sampler) return [];
    try {
      return this.sampler();
    } catch (error) {
      this.options.logger?.warn('job metrics sampler failed', { error: errorChainMessage(error) });
      return [];
    }
  }
}
