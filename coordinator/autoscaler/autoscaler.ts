// The autoscaler of one application: takes the job's samples, asks its policy, and turns a
// proposal into a decision only within the rules: between the minimum and maximum parallelism
// (and never above the job's max parallelism), not within the cooldown after the last rescale,
// and never while checkpoints keep failing or an update or another operation runs. Every
// decision and every proposal it holds back is kept with its inputs and reason, for
// DescribeApplication, ListApplicationOperations and the logs.

import type { ScalingPolicy, ScalingSample } from './scaling-policies.ts';

export interface AutoscalerBounds {
  readonly minParallelism: number;
  readonly maxParallelism: number;
  /** The job's max parallelism (key groups): no subtask can exist beyond it. */
  readonly jobMaxParallelism: number;
  /** After a rescale, no other for this long. */
  readonly cooldownMs: number;
}

/** What else the job is doing: the autoscaler leaves it alone while any of these holds. */
export interface JobCondition {
  /** Consecutive failed checkpoints. */
  readonly checkpointFailureStreak: number;
  /** An update, a rollback, a snapshot or a rescale in progress. */
  readonly operationInProgress: boolean;
  readonly running: boolean;
}

export interface ScalingDecision {
  readonly atMs: number;
  readonly from: number;
  readonly to: number;
  readonly policy: ScalingPolicy['mode'];
  readonly reason: string;
  readonly sample: ScalingSample;
}

export interface HeldBack {
  readonly atMs: number;
  readonly proposed: number;
  readonly why: string;
}

export class Autoscaler {
  readonly decisions: ScalingDecision[] = [];
  /** The latest proposal not acted on, and why. */
  heldBack: HeldBack | undefined;

  /** `lastRescaleMs`: when the job was last rescaled, for the cooldown (a new leader's autoscaler reads it from the operations). */
  constructor(
    private readonly policy: ScalingPolicy,
    private readonly bounds: AutoscalerBounds,
    private lastRescaleMs = Number.NEGATIVE_INFINITY,
  ) {
    const { minParallelism, maxParallelism, jobMaxParallelism } = bounds;
    if (!Number.isInteger(minParallelism) || minParallelism < 1) throw new RangeError(`minParallelism must be a positive integer, got ${minParallelism}`);
    if (!Number.isInteger(maxParallelism) || maxParallelism < minParallelism) throw new RangeError(`maxParallelism must be an integer at least minParallelism ${minParallelism}, got ${maxParallelism}`);
    if (minParallelism > jobMaxParallelism) throw new RangeError(`minParallelism ${minParallelism} is above the job's max parallelism ${jobMaxParallelism}`);
  }

  /** One sample: a decision to rescale to `to`, or undefined (none, or held back: see heldBack). */
  observe(sample: ScalingSample, condition: JobCondition): ScalingDecision | undefined {
    if (!condition.running || condition.operationInProgress) {
      // Measurements of a job being changed describe neither the old nor the new one.
      this.policy.reset();
      return undefined;
    }
    const proposal = this.policy.observe(sample);
    if (proposal === undefined) return undefined;
    const ceiling = Math.min(this.bounds.maxParallelism, this.bounds.jobMaxParallelism);
    const to = Math.max(this.bounds.minParallelism, Math.min(ceiling, proposal.parallelism));
    const hold = (why: string): undefined => {
      this.heldBack = { atMs: sample.atMs, proposed: proposal.parallelism, why };
      return undefined;
    };
    if (to === sample.parallelism) {
      return hold(`${proposal.reason}; but the parallelism is bounded to ${this.bounds.minParallelism}..${ceiling} and is ${sample.parallelism} already`);
    }
    if (condition.checkpointFailureStreak > 0) return hold(`${proposal.reason}; held back: ${condition.checkpointFailureStreak} checkpoint(s) failed in a row`);
    const sinceRescale = sample.atMs - this.lastRescaleMs;
    if (sinceRescale < this.bounds.cooldownMs) {
      return hold(`${proposal.reason}; held back: cooldown, ${Math.ceil((this.bounds.cooldownMs - sinceRescale) / 1000)} s left`);
    }
    const decision: ScalingDecision = {
      atMs: sample.atMs,
      from: sample.parallelism,
      to,
      policy: this.policy.mode,
      reason: to === proposal.parallelism ? proposal.reason : `${proposal.reason} (${proposal.parallelism}, bounded to ${to})`,
      sample,
    };
    this.decisions.push(decision);
    this.heldBack = undefined;
    this.lastRescaleMs = sample.atMs;
    this.policy.reset();
    return decision;
  }
}
