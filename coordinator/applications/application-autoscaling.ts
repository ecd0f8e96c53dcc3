// Autoscaling of running applications (AutoScalingEnabled), on the leader: every interval it
// looks at each such application's job, turns what the job measured into a sample
// (autoscaler/job-sampler.ts), and asks the application's Autoscaler (its policy within bounds,
// cooldown and the "not while failing or changing" rule). A decision becomes an
// AutoscaleApplication operation (status AUTOSCALING) that rescales the job live, recorded with
// the decision's reason like every other operation, so ListApplicationOperations shows it and a
// new leader resumes it. Held-back proposals are logged once per reason.
//
// The settings come from the property group `sluice.autoscaling` (Managed Flink itself has only
// AutoScalingEnabled and its fixed rule):
//   mode                       responsive (default) | managed-flink
//   min.parallelism            default 1
//   max.parallelism            default the job's max parallelism
//   cooldown.ms                after a rescale, no other for this long; default 30000
//   catch-up.ms                responsive: the backlog is worked off within this; default 60000
//   target.utilization         responsive: busy share to scale to, (0, 1]; default 0.7
//   scale-up.stabilization.ms  responsive: default 10000
//   scale-down.quiet.ms        responsive: default 600000

import type { Cancellable, Clock } from '../../shared/clock.ts';
import { errorChainMessage, FencedError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import { Autoscaler, type ScalingDecision } from '../autoscaler/autoscaler.ts';
import { JobScalingSampler } from '../autoscaler/job-sampler.ts';
import { ManagedFlinkPolicy, ResponsivePolicy, type ScalingPolicy } from '../autoscaler/scaling-policies.ts';
import type { ApplicationJobs } from './application-jobs.ts';
import type { ApplicationConfig, ApplicationRecord } from './application-model.ts';
import type { ApplicationOperations } from './application-operations.ts';
import type { ApplicationStatus } from './application-states.ts';
import type { ApplicationStore } from './application-store.ts';
import { InvalidArgumentException } from './kinesis-analytics-errors.ts';

export const AUTOSCALING_PROPERTY_GROUP = 'sluice.autoscaling';
export const AUTOSCALE_OPERATION = 'AutoscaleApplication';

export interface AutoscalingSettings {
  readonly mode: 'responsive' | 'managed-flink';
  readonly minParallelism: number;
  readonly maxParallelism: number | undefined;
  readonly cooldownMs: number;
  readonly catchUpMs: number;
  readonly targetUtilization: number;
  readonly scaleUpStabilizationMs: number;
  readonly scaleDownQuietMs: number;
}

const SETTING_KEYS = ['mode', 'min.parallelism', 'max.parallelism', 'cooldown.ms', 'catch-up.ms', 'target.utilization', 'scale-up.stabilization.ms', 'scale-down.quiet.ms'];

/** The application's autoscaling settings; a bad one is refused naming its property. */
export function autoscalingSettingsOf(config: Pick<ApplicationConfig, 'propertyGroups'>): AutoscalingSettings {
  const group = config.propertyGroups[AUTOSCALING_PROPERTY_GROUP] ?? {};
  const field = (key: string) => `EnvironmentProperties.PropertyGroups[${AUTOSCALING_PROPERTY_GROUP}].${key}`;
  for (const key of Object.keys(group)) {
    if (!SETTING_KEYS.includes(key)) throw new InvalidArgumentException(`${field(key)}: unknown setting; the settings are ${SETTING_KEYS.join(', ')}`);
  }
  const number = (key: string, fallback: number, check: (n: number) => boolean, expected: string): number => {
    const text = group[key];
    if (text === undefined) return fallback;
    const value = Number(text);
    if (text.trim() === '' || !check(value)) throw new InvalidArgumentException(`${field(key)}: ${expected}, got ${JSON.stringify(text)}`);
    return value;
  };
  const positiveInteger = (n: number) => Number.isInteger(n) && n >= 1;
  const milliseconds = (n: number) => Number.isInteger(n) && n >= 0;
  const mode = group.mode ?? 'responsive';
  if (mode !== 'responsive' && mode !== 'managed-flink') throw new InvalidArgumentException(`${field('mode')}: responsive or managed-flink, got ${JSON.stringify(mode)}`);
  const minParallelism = number('min.parallelism', 1, positiveInteger, 'an integer at least 1');
  const maxParallelism = group['max.parallelism'] === undefined ? undefined : number('max.parallelism', 0, positiveInteger, 'an integer at least 1');
  if (maxParallelism !== undefined && maxParallelism < minParallelism) {
    throw new InvalidArgumentException(`${field('max.parallelism')}: at least min.parallelism ${minParallelism}, got ${maxParallelism}`);
  }
  return {
    mode,
    minParallelism,
    maxParallelism,
    cooldownMs: number('cooldown.ms', 30_000, milliseconds, 'milliseconds, an integer at least 0'),
    catchUpMs: number('catch-up.ms', 60_000, positiveInteger, 'milliseconds, an integer at least 1'),
    targetUtilization: number('target.utilization', 0.7, (n) => n > 0 && n <= 1, 'a number in (0, 1]'),
    scaleUpStabilizationMs: number('scale-up.stabilization.ms', 10_000, milliseconds, 'milliseconds, an integer at least 0'),
    scaleDownQuietMs: number('scale-down.quiet.ms', 600_000, milliseconds, 'milliseconds, an integer at least 0'),
  };
}

export interface ApplicationAutoscalingOptions {
  readonly store: ApplicationStore;
  readonly jobs: ApplicationJobs;
  readonly operations: ApplicationOperations;
  readonly clock: Clock;
  readonly log: Logger;
  /** How often each application is sampled. Default 5 s. */
  readonly intervalMs?: number;
}

/** The statuses in which the autoscaler watches an application (AUTOSCALING: its own rescale runs). */
const WATCHED: readonly ApplicationStatus[] = ['RUNNING', 'ROLLED_BACK', 'AUTOSCALING'];

interface Scaler {
  readonly jobId: string;
  readonly versionId: number;
  readonly sampler: JobScalingSampler;
  readonly autoscaler: Autoscaler;
  lastHeldBack: string | undefined;
}

export class ApplicationAutoscaling {
  private readonly scalers = new Map<string, Scaler>();
  private timer: Cancellable | undefined;
  private disposed = false;
  readonly intervalMs: number;
  /** Rounds completed so far. */
  rounds = 0;

  constructor(private readonly options: ApplicationAutoscalingOptions) {
    this.intervalMs = options.intervalMs ?? 5_000;
    if (!(this.intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${this.intervalMs}`);
  }

  start(): void {
    if (this.disposed || this.timer !== undefined) return;
    this.timer = this.options.clock.schedule(this.intervalMs, () => {
      this.timer = undefined;
      this.tick()
        .catch((error: unknown) => {
          if (error instanceof FencedError || this.options.store.deposed) return;
          this.options.log.warn('an autoscaling round failed; the next one tries again', { error: errorChainMessage(error) });
        })
        .finally(() => this.start());
    });
  }

  dispose(): void {
    this.disposed = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** One round: samples every autoscaled application and starts the rescales decided. */
  async tick(): Promise<void> {
    const watched = new Set<string>();
    for (const record of await this.options.store.records()) {
      if (this.disposed) return;
      if (!record.config.parallelism.autoScaling || record.jobId === undefined || !WATCHED.includes(record.status)) continue;
      const view = this.options.jobs.scalingView(record.jobId);
      if (view === undefined) continue;
      watched.add(record.name);
      const scaler = await this.scalerOf(record, view.maxParallelism);
      const sample = scaler.sampler.sample(view, this.options.clock.now());
      if (sample === undefined) continue;
      const decision = scaler.autoscaler.observe(sample, {
        running: view.state === 'running',
        operationInProgress: record.operationId !== undefined || record.status === 'AUTOSCALING',
        checkpointFailureStreak: view.consecutiveFailedCheckpoints,
      });
      const held = scaler.autoscaler.heldBack;
      if (decision === undefined) {
        if (held !== undefined && held.why !== scaler.lastHeldBack) {
          scaler.lastHeldBack = held.why;
          this.options.log.info('autoscaling proposal held back', { application: record.name, proposed: held.proposed, reason: held.why });
        }
        continue;
      }
      scaler.lastHeldBack = undefined;
      await this.startRescale(record, decision);
    }
    for (const name of this.scalers.keys()) if (!watched.has(name)) this.scalers.delete(name);
    this.rounds++;
  }

  /**
   * The application's autoscaler, new for a new job or version. A new leader's starts its
   * cooldown at the end of the application's last autoscaling operation.
   */
  private async scalerOf(record: ApplicationRecord, jobMaxParallelism: number): Promise<Scaler> {
    const known = this.scalers.get(record.name);
    if (known !== undefined && known.jobId === record.jobId && known.versionId === record.versionId) return known;
    const settings = autoscalingSettingsOf(record.config);
    const policy: ScalingPolicy =
      settings.mode === 'managed-flink'
        ? new ManagedFlinkPolicy()
        : new ResponsivePolicy({
            catchUpMs: settings.catchUpMs,
            targetUtilization: settings.targetUtilization,
            scaleUpStabilizationMs: settings.scaleUpStabilizationMs,
            scaleDownQuietMs: settings.scaleDownQuietMs,
          });
    const lastRescale = (await this.options.store.operations(record.name))
      .filter((o) => o.type === AUTOSCALE_OPERATION && o.status === 'SUCCESSFUL' && o.endedAtMs !== undefined)
      .reduce((latest, o) => Math.max(latest, o.endedAtMs!), Number.NEGATIVE_INFINITY);
    // Settings beyond the job's max parallelism (its key groups) are held to it.
    const minParallelism = Math.min(settings.minParallelism, jobMaxParallelism);
    const maxParallelism = Math.max(minParallelism, Math.min(settings.maxParallelism ?? jobMaxParallelism, jobMaxParallelism));
    const autoscaler = new Autoscaler(policy, { minParallelism, maxParallelism, jobMaxParallelism, cooldownMs: settings.cooldownMs }, lastRescale);
    const scaler: Scaler = { jobId: record.jobId!, versionId: record.versionId, sampler: new JobScalingSampler(), autoscaler, lastHeldBack: undefined };
    this.scalers.set(record.name, scaler);
    return scaler;
  }

  /**
   * Starts the decided rescale as an operation, unless the application changed since it was read
   * (a user's operation began, the job was replaced): then the decision lapses.
   */
  private async startRescale(read: ApplicationRecord, decision: ScalingDecision): Promise<void> {
    const { store, operations, log } = this.options;
    await store.locked(read.name, async () => {
      const record = await store.record(read.name);
      if (record.operationId !== undefined || record.jobId !== read.jobId || !(record.status === 'RUNNING' || record.status === 'ROLLED_BACK')) {
        log.info('autoscaling decision lapsed: the application changed meanwhile', { application: record.name, status: record.status, from: decision.from, to: decision.to });
        return;
      }
      const operation = await operations.newOperation(record, AUTOSCALE_OPERATION, { kind: 'rescale', parallelism: decision.to, reason: decision.reason }, {});
      await store.putRecord({ ...store.moved(record, 'AUTOSCALING'), operationId: operation.id });
      log.info('autoscaling: rescaling the application', {
        application: record.name,
        operation: operation.id,
        policy: decision.policy,
        from: decision.from,
        to: decision.to,
        reason: decision.reason,
        cpuUtilization: decision.sample.cpuUtilization,
        vertices: decision.sample.vertices,
      });
      operations.run(operation);
    });
  }
}
