// When and how far to rescale a job, decided from what it measures (issue 15, item 3). Two
// policies behind one interface, both on the coordinator's clock:
//
// - ManagedFlinkPolicy: the service's published rule, for users who want the familiar behaviour:
//   CPU at or above 75 % for 15 minutes doubles the parallelism; below 10 % for 6 hours halves it.
// - ResponsivePolicy (the default): as the Flink Kubernetes operator's autoscaler, from each
//   operator's true processing rate (records per busy second) and the sources' input rate and
//   backlog, the parallelism that handles the input plus the backlog within a catch-up time at a
//   target utilization; up as soon as that holds for a short stabilization period, down only
//   after a quiet period.
//
// A policy only proposes; the Autoscaler (autoscaler.ts) applies bounds, cooldown and the
// "no decisions while the job is failing or being updated" rule.

/** What the job measured over the last sampling interval. */
export interface ScalingSample {
  readonly atMs: number;
  /** The job's parallelism when it was measured. */
  readonly parallelism: number;
  /** Mean CPU utilization of the job's KPUs, 0..1. */
  readonly cpuUtilization: number;
  readonly vertices: readonly VertexSample[];
}

export interface VertexSample {
  readonly name: string;
  readonly isSource: boolean;
  readonly parallelism: number;
  /** Records taken in per second, all subtasks together. */
  readonly recordsInPerSecond: number;
  /** Milliseconds per second its subtasks were busy, averaged over the subtasks (0..1000). */
  readonly busyTimeMsPerSecond: number;
  /** Sources: records waiting to be read (Kafka lag, Kinesis records behind), all splits together. */
  readonly backlogRecords?: number;
  /** Sources: how many splits (partitions, shards) it reads: more subtasks than that would idle. */
  readonly splits?: number;
}

export interface ScalingProposal {
  readonly parallelism: number;
  readonly reason: string;
}

export interface ScalingPolicy {
  readonly mode: 'managed-flink' | 'responsive';
  /** Takes a sample; proposes a parallelism other than the current one, or nothing. */
  observe(sample: ScalingSample): ScalingProposal | undefined;
  /** The job was rescaled (or restarted): what was measured before no longer describes it. */
  reset(): void;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/** Managed Flink's rule: ≥ 75 % CPU for 15 minutes → ×2; < 10 % for 6 hours → ÷2. */
export class ManagedFlinkPolicy implements ScalingPolicy {
  readonly mode = 'managed-flink' as const;
  static readonly SCALE_UP_CPU = 0.75;
  static readonly SCALE_UP_AFTER_MS = 15 * MINUTE_MS;
  static readonly SCALE_DOWN_CPU = 0.1;
  static readonly SCALE_DOWN_AFTER_MS = 6 * HOUR_MS;

  /** Since when every sample was at or above 75 % (undefined: the last one was not). */
  private highSinceMs: number | undefined;
  private lowSinceMs: number | undefined;

  observe(sample: ScalingSample): ScalingProposal | undefined {
    const cpu = sample.cpuUtilization;
    this.highSinceMs = cpu >= ManagedFlinkPolicy.SCALE_UP_CPU ? (this.highSinceMs ?? sample.atMs) : undefined;
    this.lowSinceMs = cpu < ManagedFlinkPolicy.SCALE_DOWN_CPU ? (this.lowSinceMs ?? sample.atMs) : undefined;
    if (this.highSinceMs !== undefined && sample.atMs - this.highSinceMs >= ManagedFlinkPolicy.SCALE_UP_AFTER_MS) {
      return { parallelism: sample.parallelism * 2, reason: `CPU at or above 75 % for ${minutes(sample.atMs - this.highSinceMs)} (rule: 15 minutes): double the parallelism` };
    }
    if (this.lowSinceMs !== undefined && sample.atMs - this.lowSinceMs >= ManagedFlinkPolicy.SCALE_DOWN_AFTER_MS && sample.parallelism > 1) {
      return { parallelism: Math.ceil(sample.parallelism / 2), reason: `CPU below 10 % for ${minutes(sample.atMs - this.lowSinceMs)} (rule: 6 hours): halve the parallelism` };
    }
    return undefined;
  }

  reset(): void {
    this.highSinceMs = undefined;
    this.lowSinceMs = undefined;
  }
}

export interface ResponsivePolicyOptions {
  /** The backlog is to be worked off within this time, besides the input. Default 60 s. */
  readonly catchUpMs?: number;
  /** The busy share each subtask should run at after scaling. Default 0.7. */
  readonly targetUtilization?: number;
  /** A higher target must hold this long before scaling up. Default 10 s. */
  readonly scaleUpStabilizationMs?: number;
  /** A lower target must hold this long before scaling down. Default 10 minutes. */
  readonly scaleDownQuietMs?: number;
}

/** How much more than 10 % a target must differ from the current parallelism to count (no ±1 flapping on noise). */
const TOLERANCE = 0.1;

/** From true processing rates, input rate and backlog (the Flink Kubernetes operator's autoscaler). */
export class ResponsivePolicy implements ScalingPolicy {
  readonly mode = 'responsive' as const;
  private readonly catchUpMs: number;
  private readonly targetUtilization: number;
  private readonly scaleUpStabilizationMs: number;
  private readonly scaleDownQuietMs: number;
  private upSinceMs: number | undefined;
  private downSinceMs: number | undefined;

  constructor(options: ResponsivePolicyOptions = {}) {
    this.catchUpMs = options.catchUpMs ?? 60_000;
    this.targetUtilization = options.targetUtilization ?? 0.7;
    this.scaleUpStabilizationMs = options.scaleUpStabilizationMs ?? 10_000;
    this.scaleDownQuietMs = options.scaleDownQuietMs ?? 10 * MINUTE_MS;
    if (!(this.catchUpMs > 0)) throw new RangeError(`catchUpMs must be positive, got ${this.catchUpMs}`);
    if (!(this.targetUtilization > 0 && this.targetUtilization <= 1)) throw new RangeError(`targetUtilization must be in (0, 1], got ${this.targetUtilization}`);
  }

  /** The parallelism the sample calls for, with the reason (the bottleneck vertex and the rates). */
  target(sample: ScalingSample): ScalingProposal | undefined {
    const sources = sample.vertices.filter((v) => v.isSource);
    if (sources.length === 0) return undefined;
    const inputRate = sources.reduce((sum, v) => sum + v.recordsInPerSecond, 0);
    const backlog = sources.reduce((sum, v) => sum + (v.backlogRecords ?? 0), 0);
    const targetRate = inputRate + backlog / (this.catchUpMs / 1000);
    let best: ScalingProposal | undefined;
    for (const vertex of sample.vertices) {
      const busyShare = vertex.busyTimeMsPerSecond / 1000;
      // Too little work to measure a rate from: this vertex does not decide.
      if (busyShare < 0.01 || vertex.recordsInPerSecond <= 0) continue;
      const perSubtask = vertex.recordsInPerSecond / vertex.parallelism / busyShare;
      // Each vertex sees the target in proportion to what reaches it now (a filter upstream passes fewer).
      const vertexTargetRate = targetRate * (vertex.recordsInPerSecond / Math.max(inputRate, 1e-9));
      let parallelism = Math.max(1, Math.ceil(vertexTargetRate / (perSubtask * this.targetUtilization)));
      if (vertex.isSource && vertex.splits !== undefined) parallelism = Math.min(parallelism, vertex.splits);
      if (best === undefined || parallelism > best.parallelism) {
        best = {
          parallelism,
          reason:
            `"${vertex.name}" processes ${Math.round(perSubtask)} records per busy second per subtask; ` +
            `input ${Math.round(inputRate)}/s plus a backlog of ${Math.round(backlog)} records to work off in ${this.catchUpMs / 1000} s ` +
            `needs ${parallelism} subtasks at ${Math.round(this.targetUtilization * 100)} % busy`,
        };
      }
    }
    return best;
  }

  observe(sample: ScalingSample): ScalingProposal | undefined {
    const target = this.target(sample);
    if (target === undefined) return undefined;
    const current = sample.parallelism;
    const up = target.parallelism > current * (1 + TOLERANCE);
    const down = target.parallelism < current * (1 - TOLERANCE);
    this.upSinceMs = up ? (this.upSinceMs ?? sample.atMs) : undefined;
    this.downSinceMs = down ? (this.downSinceMs ?? sample.atMs) : undefined;
    if (up && sample.atMs - this.upSinceMs! >= this.scaleUpStabilizationMs) return target;
    if (down && sample.atMs - this.downSinceMs! >= this.scaleDownQuietMs) return target;
    return undefined;
  }

  reset(): void {
    this.upSinceMs = undefined;
    this.downSinceMs = undefined;
  }
}

function minutes(ms: number): string {
  return ms >= HOUR_MS ? `${(ms / HOUR_MS).toFixed(1)} h` : `${(ms / MINUTE_MS).toFixed(1)} min`;
}
