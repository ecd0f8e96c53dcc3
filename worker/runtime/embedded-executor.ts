// Runs a job in one process: the embedded mode behind `sluice run`. It builds every subtask of
// the plan, wires chains and exchanges, restores from a checkpoint if asked, and schedules the
// subtasks cooperatively on the event loop: a batch from each source, then every downstream
// subtask in topological order until all is processed. A slow consumer therefore slows its
// sources (nothing queues without bound), and all of it is deterministic for a given input.
// Checkpoints inject barriers at all sources between two batches; a bounded job ends with a
// final checkpoint whose completion commits the sinks' last output.

import type { UserMetricRegistry } from '../../shared/metrics/user-metrics.ts';
import { randomUUID } from 'node:crypto';
import type { ApplicationProperties, StreamExecutionEnvironment } from '../../shared/api/environment.ts';
import type { Clock } from '../../shared/clock.ts';
import { sleep, WakeableSleep } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logging.ts';
import { CheckpointCoordinator, type CheckpointParticipants, type CompletedCheckpointInfo } from '../../shared/checkpoint/checkpoint-coordinator.ts';
import type { CheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import { SinkOperator } from '../operators/sink-operator.ts';
import { SourceOperator } from '../operators/source-operator.ts';
import type { KeyedStateBackend, StateBackendKind } from '../state/keyed-state-backend.ts';
import type { DeadLetterOutput } from './dead-letter.ts';
import { planJob, type JobPlan } from '../../shared/plan/job-plan.ts';
import type { OperatorSnapshot } from './stream-operator.ts';
import type { StreamTask } from './stream-task.ts';
import type { RestoreSource } from '../../shared/checkpoint/restore-path.ts';
import { buildSubtasks } from './subtask-builder.ts';
import { loadRestoreState } from '../../shared/checkpoint/restore-state.ts';

export type { RestoreSource } from '../../shared/checkpoint/restore-path.ts';

export interface EmbeddedExecutorOptions {
  readonly jobName: string;
  readonly properties: ApplicationProperties;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly stateBackend: StateBackendKind;
  /** Where the LevelDB backend keeps its working databases. */
  readonly stateDirectory?: string;
  readonly checkpointStorage: CheckpointStorage;
  /** Periodic checkpoints; undefined: only the final one of a bounded job. */
  readonly checkpointIntervalMs?: number;
  readonly minPauseBetweenCheckpointsMs?: number;
  readonly retainedCheckpoints?: number;
  readonly restore?: RestoreSource;
  readonly deadLetters: DeadLetterOutput;
  /** `--parallelism`/`--max-parallelism`; the application's own settings win. */
  readonly parallelism?: number;
  readonly maxParallelism?: number;
  /** Records a source emits per poll. */
  readonly sourceBatchSize?: number;
  /** Records per exchange batch. */
  readonly exchangeBatchSize?: number;
  /** Where user functions' metrics go (`sluice run --metrics-port`); kept after the run ends. */
  readonly userMetrics?: UserMetricRegistry;
}

export interface JobStatus {
  readonly jobName: string;
  readonly state: 'created' | 'running' | 'finished' | 'stopped' | 'failed';
  readonly recordsRead: number;
  readonly recordsWritten: number;
  readonly lateRecordsDropped: number;
  readonly deadLetters: number;
  /** The lowest watermark among the sink subtasks' inputs. */
  readonly watermark: number;
  /** `inProgress`: a checkpoint is being taken, written or committed (a test waits for it to settle). */
  readonly checkpoints: { completed: number; failed: number; inProgress: boolean; last: CompletedCheckpointInfo | undefined };
  readonly subtasks: ReadonlyArray<{ task: string; status: string; recordsIn: number; watermark: number }>;
}

export interface JobResult {
  readonly state: 'finished' | 'stopped';
  readonly status: JobStatus;
}

const YIELD_EVERY_MS = 20;
const MAX_IDLE_SLEEP_MS = 50;

export class EmbeddedExecutor {
  private readonly tasks: StreamTask[] = [];
  private readonly backends: KeyedStateBackend[] = [];
  private readonly operatorNames = new Map<string, { name: string; parallelism: number; maxParallelism: number }>();
  private coordinator!: CheckpointCoordinator;
  private state: JobStatus['state'] = 'created';
  private stopRequested = false;
  private readonly watermarkIntervalMs: number;

  private constructor(
    readonly plan: JobPlan,
    private readonly options: EmbeddedExecutorOptions,
    watermarkIntervalMs: number,
  ) {
    this.watermarkIntervalMs = watermarkIntervalMs;
    this.idleSleep = new WakeableSleep(options.clock);
  }

  private readonly idleSleep: WakeableSleep;

  /** Plans the environment's pipeline, builds every subtask and restores state if asked. */
  static async create(env: StreamExecutionEnvironment, options: EmbeddedExecutorOptions): Promise<EmbeddedExecutor> {
    const plan = planJob(env.graph, env.settings, { jobName: options.jobName, parallelism: options.parallelism, maxParallelism: options.maxParallelism });
    const executor = new EmbeddedExecutor(plan, options, env.settings.autoWatermarkIntervalMs);
    await executor.build();
    return executor;
  }

  private async build(): Promise<void> {
    const { plan, options } = this;
    const logger = options.logger;
    const restored = options.restore ? await loadRestoreState(plan, options.restore) : undefined;
    // New checkpoints continue after every id the directory holds, so none is ever overwritten.
    const completed = await options.checkpointStorage.listCompleted();
    const lastCheckpointId = Math.max(restored?.metadata.checkpointId ?? 0, completed.length > 0 ? completed[completed.length - 1]! : 0);

    const jobId = randomUUID();
    const built = await buildSubtasks({
      plan,
      // Each run is a job of its own: a later run (a restore, a replacement) takes its sinks' outputs over.
      job: { id: jobId, submittedAtMs: Date.now() },
      ...(options.userMetrics ? { userMetrics: { registry: options.userMetrics, scope: { job_id: jobId, job_name: plan.jobName, task_attempt_num: '0', tm_id: 'embedded' } } } : {}),
      properties: options.properties,
      clock: options.clock,
      stateBackend: options.stateBackend,
      ...(options.stateDirectory ? { stateDirectory: options.stateDirectory } : {}),
      deadLetters: options.deadLetters,
      watermarkIntervalMs: this.watermarkIntervalMs,
      ...(options.exchangeBatchSize ? { exchangeBatchSize: options.exchangeBatchSize } : {}),
      listener: this.listener,
      wakeUp: () => this.idleSleep.wakeUp(),
      ...(restored ? { restored } : {}),
    });
    this.tasks.push(...built.tasks);
    this.backends.push(...built.backends);
    for (const [uid, info] of built.operatorInfo) this.operatorNames.set(uid, info);

    this.coordinator = new CheckpointCoordinator(this.participants(), {
      storage: options.checkpointStorage,
      clock: options.clock,
      logger,
      retainedCheckpoints: options.retainedCheckpoints ?? 3,
      minPauseBetweenCheckpointsMs: options.minPauseBetweenCheckpointsMs ?? 0,
      lastCheckpointId,
    });
    await this.coordinator.initialize();
    logger.info('job built', {
      job: plan.jobName,
      tasks: plan.tasks.map((t) => `${t.name} ×${t.parallelism}`),
      maxParallelism: plan.maxParallelism,
      stateBackend: options.stateBackend,
      checkpointIntervalMs: options.checkpointIntervalMs ?? null,
      checkpoints: options.checkpointStorage.location,
      restoredFrom: restored?.metadata.checkpointId ?? null,
    });
  }

  private readonly listener = {
    acknowledgeCheckpoint: (task: StreamTask, checkpointId: number, snapshots: ReadonlyMap<string, Promise<OperatorSnapshot>>) => {
      this.coordinator.acknowledge(checkpointId, { taskId: task.vertex.id, subtask: task.subtaskIndex, snapshots });
    },
  };

  /** What the checkpoint coordinator sees of this job. */
  private participants(): CheckpointParticipants {
    return {
      jobName: this.plan.jobName,
      maxParallelism: this.plan.maxParallelism,
      subtasks: () => this.tasks.map((t) => ({ taskId: t.vertex.id, subtask: t.subtaskIndex })),
      allFinished: () => this.tasks.every((t) => t.status === 'finished'),
      triggerCheckpoint: (checkpointId: number) => {
        for (const task of this.tasks) if (task.status === 'finished' || task.status === 'ending' || task.source) task.triggerCheckpoint(checkpointId);
        this.drain();
      },
      notifyCheckpointComplete: async (checkpointId: number) => {
        for (const task of this.tasks) await task.notifyCheckpointComplete(checkpointId);
      },
      abortCheckpoint: (checkpointId: number) => {
        for (const task of this.tasks) if (task.status === 'running') task.abortCheckpoint(checkpointId);
        this.drain();
      },
      operatorInfo: (uid: string) => this.operatorNames.get(uid) ?? { name: uid, parallelism: 0, maxParallelism: this.plan.maxParallelism },
    };
  }

  /** Runs until a bounded job has finished (and committed) or `stop()` was called. */
  async run(): Promise<JobResult> {
    const { clock, logger } = this.options;
    const sourceBatchSize = this.options.sourceBatchSize ?? 1024;
    const interval = this.options.checkpointIntervalMs;
    this.state = 'running';
    let nextCheckpointMs = interval !== undefined ? clock.now() + interval : Number.POSITIVE_INFINITY;
    let nextWatermarkMs = clock.now();
    let lastYieldMs = Date.now();
    const sources = this.tasks.filter((t) => t.source);
    try {
      for (;;) {
        const now = clock.now();
        if (this.watermarkIntervalMs > 0 && now >= nextWatermarkMs) {
          for (const task of this.tasks) task.emitPeriodicWatermarks(now);
          nextWatermarkMs = now + this.watermarkIntervalMs;
        }
        for (const task of this.tasks) if (task.nextProcessingTimerMs() <= now) task.fireProcessingTimers(now);
        this.drain();

        // A completed checkpoint whose commit failed: fail, so a restore finishes the commit.
        if (this.coordinator.fatalError) throw this.coordinator.fatalError;
        if (this.stopRequested) {
          await this.takeStopCheckpoint();
          this.state = 'stopped';
          break;
        }
        if (now >= nextCheckpointMs && this.coordinator.canTrigger()) {
          this.coordinator.trigger().catch(() => {}); // failures are counted and logged by the coordinator
          nextCheckpointMs = now + interval!;
        }

        let progressed = false;
        let waitMs = MAX_IDLE_SLEEP_MS;
        for (const task of sources) {
          if (task.status !== 'running' || task.inputBlocked()) continue;
          let status = task.pollSource(sourceBatchSize);
          if (status instanceof Promise) status = await status;
          if (status === 'end') task.finish();
          else if (status === 'wait') waitMs = Math.min(waitMs, task.source!.waitHintMs);
          else progressed = true;
          this.drain();
        }

        if (this.tasks.every((t) => t.status === 'finished')) {
          await this.finalCheckpoint();
          this.state = 'finished';
          break;
        }
        if (!progressed) {
          const nextTimer = Math.min(...this.tasks.map((t) => t.nextProcessingTimerMs()), nextCheckpointMs, this.watermarkIntervalMs > 0 ? nextWatermarkMs : Infinity);
          await this.idleSleep.sleep(Math.max(0, Math.min(waitMs, nextTimer - clock.now())));
          lastYieldMs = Date.now();
        } else if (this.coordinator.isBusy || Date.now() - lastYieldMs >= YIELD_EVERY_MS) {
          // Let pending snapshot uploads, signals and I/O run; while a checkpoint is being
          // written, after every round, so its many small I/O steps do not each wait YIELD_EVERY_MS.
          await new Promise<void>((resolve) => setImmediate(resolve));
          lastYieldMs = Date.now();
        }
      }
    } catch (error) {
      this.state = 'failed';
      logger.error('job failed', { job: this.plan.jobName, error: (error as Error).message });
      await this.coordinator.abort();
      await this.close().catch(() => {});
      throw error;
    }
    await this.close();
    const status = this.getStatus();
    logger.info(`job ${this.state}`, { job: this.plan.jobName, recordsRead: status.recordsRead, recordsWritten: status.recordsWritten });
    return { state: this.state as 'finished' | 'stopped', status };
  }


  /** Processes everything queued between subtasks, upstream first, until nothing moves. */
  private drain(): void {
    let moved = true;
    while (moved) {
      moved = false;
      for (const task of this.tasks) {
        task.flushOutputs();
        if (task.processInput()) moved = true;
      }
    }
    for (const task of this.tasks) task.flushOutputs();
  }

  private async waitForCheckpointSlot(): Promise<void> {
    while (this.coordinator.isBusy) await sleep(this.options.clock, 5);
  }

  private async finalCheckpoint(): Promise<void> {
    await this.waitForCheckpointSlot();
    await this.coordinator.trigger();
  }

  /** Ctrl-C: a last checkpoint commits what was processed, so a restore resumes right after it. */
  private async takeStopCheckpoint(): Promise<void> {
    await this.waitForCheckpointSlot();
    const pending = this.coordinator.trigger();
    this.drain();
    await pending;
  }

  /** Asks a running job to stop cleanly (checkpoint, commit, close). */
  stop(): void {
    this.stopRequested = true;
    this.idleSleep.wakeUp();
  }

  private async close(): Promise<void> {
    let first: unknown;
    for (const task of this.tasks) await task.close().catch((e) => (first ??= e));
    for (const backend of this.backends) await backend.dispose().catch((e) => (first ??= e));
    if (first) throw first;
  }

  getStatus(): JobStatus {
    let recordsRead = 0;
    let recordsWritten = 0;
    let lateRecordsDropped = 0;
    let watermark = Number.POSITIVE_INFINITY;
    for (const task of this.tasks) {
      for (const { operator } of task.operators) {
        lateRecordsDropped += operator.metrics.numLateRecordsDropped;
        if (operator instanceof SourceOperator) recordsRead += operator.recordsOut;
        if (operator instanceof SinkOperator) {
          recordsWritten += operator.recordsIn;
          watermark = Math.min(watermark, task.combinedWatermark);
        }
      }
    }
    return {
      jobName: this.plan.jobName,
      state: this.state,
      recordsRead,
      recordsWritten,
      lateRecordsDropped,
      deadLetters: this.options.deadLetters.count,
      watermark,
      checkpoints: {
        completed: this.coordinator?.numberOfCompleted ?? 0,
        failed: this.coordinator?.numberOfFailed ?? 0,
        inProgress: this.coordinator?.isBusy ?? false,
        last: this.coordinator?.lastCompleted,
      },
      subtasks: this.tasks.map((t) => ({ task: t.name, status: t.status, recordsIn: t.recordsIn, watermark: t.combinedWatermark })),
    };
  }
}
