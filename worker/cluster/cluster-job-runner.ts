// Runs the subtasks of one job attempt that the coordinator placed on this worker. The same
// StreamTasks as the embedded mode, scheduled cooperatively on this process's event loop: poll the
// sources, process what arrived, flush partial batches, yield so the network runs. Edges to
// subtasks on other workers go through the data plane; a task whose remote consumer has no credit
// left stops processing (and its source stops polling), so backpressure travels upstream and
// every queue stays bounded. Checkpoint barriers come from the coordinator; each subtask writes its
// state to the checkpoint storage and acknowledges with the handles.

import type { SplitState } from '../../shared/api/connectors.ts';
import type { ApplicationProperties, StreamExecutionEnvironment } from '../../shared/api/environment.ts';
import { WakeableSleep, type Clock } from '../../shared/clock.ts';
import { errorChainMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import type { SubtaskStateHandle } from '../../coordinator/checkpoint/checkpoint-metadata.ts';
import { openRestorePath } from '../../coordinator/checkpoint/restore-path.ts';
import { writeOperatorSnapshot, type CheckpointWriteLimiter } from '../../coordinator/checkpoint/operator-state-files.ts';
import type { CheckpointStorage } from '../../coordinator/checkpoint/checkpoint-storage.ts';
import { SinkOperator } from '../operators/sink-operator.ts';
import { SourceOperator } from '../operators/source-operator.ts';
import type { KeyedStateBackend, StateBackendKind } from '../state/keyed-state-backend.ts';
import type { DeadLetterOutput } from '../runtime/dead-letter.ts';
import type { ChannelTarget, InputChannel } from '../runtime/exchange.ts';
import { planJob, type JobPlan } from '../runtime/job-plan.ts';
import { hasState, type OperatorSnapshot } from '../runtime/stream-operator.ts';
import type { StreamTask } from '../runtime/stream-task.ts';
import { buildSubtasks, loadRestoreState } from '../runtime/subtask-builder.ts';

export interface SubtaskRef {
  readonly taskId: number;
  readonly subtask: number;
}

/** What the coordinator sends to deploy an attempt (the DeployTasks request, decoded). */
export interface AttemptDeployment {
  readonly jobId: string;
  readonly attempt: number;
  readonly jobName: string;
  readonly properties: ApplicationProperties;
  readonly parallelism: number;
  readonly maxParallelism: number;
  /** A checkpoint (`…/chk-N`) or snapshot folder to restore from; undefined: a fresh start. */
  readonly restorePath: string | undefined;
  readonly allowNonRestoredState: boolean;
  /** Overrides the worker's state backend for this job. */
  readonly stateBackend: StateBackendKind | undefined;
  readonly localSubtasks: readonly SubtaskRef[];
  /** "taskId/subtask" → data-plane address of the worker running it. */
  readonly placement: ReadonlyMap<string, string>;
  /** "taskId/subtask" → the splits of a source subtask on a fresh start. */
  readonly splits: ReadonlyMap<string, readonly SplitState[]>;
}

/** The data plane as the runner needs it. */
export interface DataPlaneChannels {
  registerInput(channelKey: string, channel: InputChannel): void;
  openOutput(channelKey: string, address: string, onWritable?: () => void): ChannelTarget;
  releaseChannels(prefix: string): void;
}

/** What the runner reports to the coordinator. */
export interface AttemptListener {
  /** The subtask wrote its operators' state for the checkpoint: one handle per operator uid. */
  acknowledgeCheckpoint(checkpointId: number, subtask: SubtaskRef, states: ReadonlyArray<{ uid: string; handle: SubtaskStateHandle }>): void;
  subtasksFinished(subtasks: SubtaskRef[]): void;
  failed(error: Error): void;
}

export interface ClusterJobRunnerServices {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly stateBackend: StateBackendKind;
  readonly stateDirectory: string;
  readonly checkpointStorage: CheckpointStorage;
  /** Paces this worker's checkpoint writing; none: as fast as it goes. */
  readonly checkpointLimiter?: CheckpointWriteLimiter;
  readonly deadLetters: DeadLetterOutput;
  readonly dataPlane: DataPlaneChannels;
  readonly listener: AttemptListener;
  readonly sourceBatchSize?: number;
}

export interface SubtaskStatus {
  readonly taskId: number;
  readonly subtask: number;
  readonly taskName: string;
  readonly state: 'running' | 'finished';
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly watermark: number;
  readonly busyTimeMs: number;
  readonly backPressuredTimeMs: number;
  readonly backPressured: boolean;
}

const MAX_IDLE_SLEEP_MS = 50;
/** Longest a processing step runs before the worker yields to its event loop. */
const DRAIN_STEP_MS = 20;
const RECORD_BATCHES_PER_STEP = 4;

interface TaskCounters {
  busyTimeMs: number;
  backPressuredTimeMs: number;
  backPressured: boolean;
}

export function channelKey(jobId: string, attempt: number, edgeIndex: number, producer: number, consumer: number): string {
  return `${jobId}/${attempt}/${edgeIndex}/${producer}/${consumer}`;
}

export class ClusterJobRunner {
  private tasks: StreamTask[] = [];
  private backends: KeyedStateBackend[] = [];
  private readonly counters = new Map<StreamTask, TaskCounters>();
  private readonly reportedFinished = new Set<StreamTask>();
  private cancelled = false;
  private loop: Promise<void> | undefined;
  private watermarkIntervalMs = 0;
  private readonly log: Logger;

  private constructor(readonly deployment: AttemptDeployment, private readonly services: ClusterJobRunnerServices) {
    this.log = services.logger.child({ job: deployment.jobId, attempt: deployment.attempt });
    this.idleSleep = new WakeableSleep(services.clock);
  }

  private readonly idleSleep: WakeableSleep;

  get jobId(): string {
    return this.deployment.jobId;
  }

  get attempt(): number {
    return this.deployment.attempt;
  }

  /** Builds the local subtasks from the application's pipeline; restores their state if asked. */
  static async create(env: StreamExecutionEnvironment, deployment: AttemptDeployment, services: ClusterJobRunnerServices): Promise<ClusterJobRunner> {
    const runner = new ClusterJobRunner(deployment, services);
    await runner.build(env);
    return runner;
  }

  private async build(env: StreamExecutionEnvironment): Promise<void> {
    const { deployment, services } = this;
    const plan: JobPlan = planJob(env.graph, env.settings, {
      jobName: deployment.jobName,
      parallelism: deployment.parallelism,
      maxParallelism: deployment.maxParallelism,
    });
    this.watermarkIntervalMs = env.settings.autoWatermarkIntervalMs;
    const local = new Set(deployment.localSubtasks.map((s) => `${s.taskId}/${s.subtask}`));
    const started = performance.now();
    const restored =
      deployment.restorePath === undefined
        ? undefined
        : await loadRestoreState(plan, await openRestorePath(deployment.restorePath, deployment.allowNonRestoredState), (taskId, subtask) => local.has(`${taskId}/${subtask}`));
    const readMs = Math.round(performance.now() - started);
    const addressOf = (taskId: number, subtask: number) => {
      const address = deployment.placement.get(`${taskId}/${subtask}`);
      if (address === undefined) throw new Error(`the deployment places no worker for task ${taskId} subtask ${subtask}`);
      return address;
    };
    const built = await buildSubtasks({
      plan,
      properties: deployment.properties,
      clock: services.clock,
      stateBackend: deployment.stateBackend ?? services.stateBackend,
      stateDirectory: services.stateDirectory,
      deadLetters: services.deadLetters,
      watermarkIntervalMs: this.watermarkIntervalMs,
      listener: { acknowledgeCheckpoint: (task, id, snapshots) => this.acknowledge(task, id, snapshots) },
      ...(restored ? { restored } : {}),
      isLocal: (taskId, subtask) => local.has(`${taskId}/${subtask}`),
      remote: {
        output: (edgeIndex, producer, consumer) => {
          const consumerTask = plan.taskOfNode.get(plan.edges[edgeIndex]!.targetId)!;
          const key = channelKey(deployment.jobId, deployment.attempt, edgeIndex, producer, consumer);
          return services.dataPlane.openOutput(key, addressOf(consumerTask, consumer), () => this.wake());
        },
        input: (edgeIndex, producer, consumer, channel) => {
          services.dataPlane.registerInput(channelKey(deployment.jobId, deployment.attempt, edgeIndex, producer, consumer), channel);
        },
      },
      initialSplits: (nodeId, subtask) => deployment.splits.get(`${plan.taskOfNode.get(nodeId)!}/${subtask}`),
      onChannelData: () => this.wake(),
    });
    this.tasks = built.tasks;
    this.backends = built.backends;
    for (const task of this.tasks) this.counters.set(task, { busyTimeMs: 0, backPressuredTimeMs: 0, backPressured: false });
    this.log.info('attempt deployed', {
      subtasks: this.tasks.map((t) => t.name),
      restoredFrom: deployment.restorePath ?? null,
      restoreReadMs: readMs,
      buildMs: Math.round(performance.now() - started) - readMs,
      stateBackend: deployment.stateBackend ?? services.stateBackend,
    });
  }

  /** Starts the scheduling loop; a failure is reported to the listener once. */
  start(): void {
    this.loop = this.run().catch((error: unknown) => {
      if (this.cancelled) return;
      this.cancelled = true;
      this.services.listener.failed(error instanceof Error ? error : new Error(String(error)));
    });
  }

  private wake(): void {
    this.idleSleep.wakeUp();
  }

  private isBackPressured(task: StreamTask): boolean {
    for (const out of task.exchangeOutputs) if (!out.isWritable()) return true;
    return false;
  }

  private async run(): Promise<void> {
    const { clock } = this.services;
    const sourceBatchSize = this.services.sourceBatchSize ?? 1024;
    let nextWatermarkMs = clock.now();
    let lastRoundMs = performance.now();
    while (!this.cancelled) {
      const now = clock.now();
      const roundStart = performance.now();
      // Time since the last round counts as backpressured for the tasks that were backpressured.
      for (const [task, counter] of this.counters) {
        if (counter.backPressured) counter.backPressuredTimeMs += roundStart - lastRoundMs;
        counter.backPressured = task.status === 'running' && this.isBackPressured(task);
      }
      lastRoundMs = roundStart;
      if (this.watermarkIntervalMs > 0 && now >= nextWatermarkMs) {
        for (const task of this.tasks) task.emitPeriodicWatermarks(now);
        nextWatermarkMs = now + this.watermarkIntervalMs;
      }
      for (const task of this.tasks) if (task.nextProcessingTimerMs() <= now) task.fireProcessingTimers(now);
      let progressed = this.drain();

      let waitMs = MAX_IDLE_SLEEP_MS;
      for (const task of this.tasks) {
        if (!task.source || task.status !== 'running' || this.cancelled) continue;
        if (this.isBackPressured(task)) continue;
        const started = performance.now();
        let status = task.pollSource(sourceBatchSize);
        if (status instanceof Promise) status = await status;
        if (this.cancelled) return;
        if (status === 'end') task.finish();
        else if (status === 'wait') waitMs = Math.min(waitMs, task.source.waitHintMs);
        else progressed = true;
        this.counters.get(task)!.busyTimeMs += performance.now() - started;
        if (this.drain()) progressed = true;
      }
      this.reportFinished();

      if (!progressed) {
        const nextTimer = Math.min(...this.tasks.map((t) => t.nextProcessingTimerMs()), this.watermarkIntervalMs > 0 ? nextWatermarkMs : Infinity);
        await this.idleSleep.sleep(Math.max(0, Math.min(waitMs, nextTimer - clock.now())));
      } else {
        // Let frames in and out, RPCs and snapshot writes run between rounds.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }


  /**
   * Processes what is queued between local subtasks until nothing moves or the step's time is
   * up (what is left goes on after a yield, so heartbeats and frames are served between steps);
   * skips backpressured tasks.
   */
  private drain(): boolean {
    let any = false;
    let moved = true;
    const stepStart = performance.now();
    while (moved && performance.now() - stepStart < DRAIN_STEP_MS) {
      moved = false;
      for (const task of this.tasks) {
        task.flushOutputs();
        if (!task.hasInput || this.isBackPressured(task)) continue;
        const started = performance.now();
        if (task.processInput(RECORD_BATCHES_PER_STEP)) moved = any = true;
        this.counters.get(task)!.busyTimeMs += performance.now() - started;
      }
    }
    for (const task of this.tasks) task.flushOutputs();
    return any;
  }

  private reportFinished(): void {
    const finished = this.tasks.filter((t) => t.status === 'finished' && !this.reportedFinished.has(t));
    if (finished.length === 0) return;
    for (const t of finished) this.reportedFinished.add(t);
    this.services.listener.subtasksFinished(finished.map((t) => ({ taskId: t.vertex.id, subtask: t.subtaskIndex })));
  }

  /** The coordinator's barrier: sources inject it, finished subtasks acknowledge with their final state. */
  triggerCheckpoint(checkpointId: number): void {
    for (const task of this.tasks) if (task.status === 'finished' || task.source) task.triggerCheckpoint(checkpointId);
    this.drain();
    this.wake();
  }

  private acknowledge(task: StreamTask, checkpointId: number, snapshots: ReadonlyMap<string, Promise<OperatorSnapshot>>): void {
    const { checkpointStorage, listener } = this.services;
    const capturedAt = performance.now();
    const writes = [...snapshots].map(async ([uid, pending]) => {
      const snapshot = await pending;
      if (!hasState(snapshot)) return [];
      const written = await writeOperatorSnapshot(checkpointStorage, checkpointId, uid, task.subtaskIndex, snapshot, this.services.checkpointLimiter);
      this.log.info('checkpoint state written', {
        checkpointId,
        task: task.name,
        uid,
        ms: Math.round(performance.now() - capturedAt),
        uploadedBytes: written.uploadedBytes,
        totalBytes: written.totalBytes,
      });
      return [{ uid, handle: written.handle }];
    });
    Promise.all(writes).then(
      (written) => {
        if (this.cancelled) return;
        listener.acknowledgeCheckpoint(checkpointId, { taskId: task.vertex.id, subtask: task.subtaskIndex }, written.flat());
      },
      (error: unknown) => this.log.warn('checkpoint state could not be written; the checkpoint will not complete', { checkpointId, task: task.name, error: errorChainMessage(error) }),
    );
  }

  /** The checkpoint is durable and recorded: sinks commit what they prepared for it. */
  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    for (const task of this.tasks) await task.notifyCheckpointComplete(checkpointId);
  }

  /** Stops the loop, closes the operators, frees the state and the channels of this attempt. */
  async cancel(reason: string): Promise<void> {
    const wasRunning = !this.cancelled;
    this.cancelled = true;
    this.wake();
    await this.loop;
    this.services.dataPlane.releaseChannels(`${this.deployment.jobId}/${this.deployment.attempt}/`);
    let first: unknown;
    for (const task of this.tasks) await task.close().catch((e: unknown) => (first ??= e));
    if (wasRunning) this.log.info('attempt cancelled', { reason });
    if (first) this.log.warn('closing the attempt failed', { error: errorChainMessage(first) });
    // Deleting a large LevelDB state takes a while and nothing waits for it: the next attempt
    // (a restart, a rescale) gets its own working directories.
    this.disposed = Promise.all(this.backends.map((backend) => backend.dispose())).then(
      () => undefined,
      (error: unknown) => this.log.warn('freeing the attempt\'s state failed', { error: errorChainMessage(error) }),
    );
  }

  /** Resolves once the cancelled attempt's state backends are freed. */
  disposed: Promise<void> = Promise.resolve();

  getStatus(): SubtaskStatus[] {
    return this.tasks.map((task) => {
      const counters = this.counters.get(task)!;
      let recordsOut = 0;
      for (const out of task.exchangeOutputs) recordsOut += out.recordsOut;
      for (const { operator } of task.operators) {
        if (operator instanceof SinkOperator) recordsOut += operator.recordsIn;
      }
      let recordsIn = task.recordsIn;
      if (task.source) recordsIn = (task.operators[0]!.operator as SourceOperator).recordsOut;
      return {
        taskId: task.vertex.id,
        subtask: task.subtaskIndex,
        taskName: task.name,
        state: task.status,
        recordsIn,
        recordsOut,
        watermark: task.combinedWatermark,
        busyTimeMs: counters.busyTimeMs,
        backPressuredTimeMs: counters.backPressuredTimeMs,
        backPressured: counters.backPressured,
      };
    });
  }
}
