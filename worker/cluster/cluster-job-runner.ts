// Runs the subtasks of one job attempt that the coordinator placed on this worker. The same
// StreamTasks as the embedded mode, scheduled cooperatively on this process's event loop: poll the
// sources, process what arrived, flush partial batches, yield so the network runs. Edges to
// subtasks on other workers go through the data plane; a task whose remote consumer has no credit
// left stops processing (and its source stops polling), so backpressure travels upstream and
// every queue stays bounded. Checkpoint barriers come from the coordinator; each subtask writes its
// state to the checkpoint storage and acknowledges with the handles.

import type { UserMetricRegistry } from '../../shared/metrics/user-metrics.ts';
import type { SplitState } from '../../shared/api/connectors.ts';
import type { ApplicationProperties, StreamExecutionEnvironment } from '../../shared/api/environment.ts';
import { WakeableSleep, type Clock } from '../../shared/clock.ts';
import { errorChainMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import type { CheckpointMetadata, SubtaskStateHandle } from '../../shared/checkpoint/checkpoint-metadata.ts';
import { openRestorePath } from '../../shared/checkpoint/restore-path.ts';
import type { SourceOperatorState } from '../operators/source-operator.ts';
import type { CheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import { SinkOperator } from '../operators/sink-operator.ts';
import { SourceOperator } from '../operators/source-operator.ts';
import type { KeyedStateBackend, StateBackendKind } from '../state/keyed-state-backend.ts';
import type { DeadLetterOutput } from '../runtime/dead-letter.ts';
import type { ChannelTarget, InputChannel } from '../runtime/exchange.ts';
import { liveRescaleRefusal, planJob, type JobPlan } from '../../shared/plan/job-plan.ts';
import { hasState, type OperatorSnapshot } from '../runtime/stream-operator.ts';
import type { StreamTask } from '../runtime/stream-task.ts';
import { buildSubtasks, type BuiltSubtasks } from '../runtime/subtask-builder.ts';
import { loadRestoreState } from '../../shared/checkpoint/restore-state.ts';
import type { RescaleCompletion, SubtaskStatus } from '../../shared/rpc/worker-reports.ts';
import type { SubtaskRef } from '../../shared/rpc/subtask-ref.ts';
import { readKeyGroupChunks, readOperatorSnapshot, writeOperatorSnapshot, type CheckpointWriteLimiter } from '../../shared/checkpoint/operator-state-files.ts';
import { assignToKeyGroup, KeyGroupRange, keyGroupRangeForSubtask } from '../../shared/key-groups.ts';
import { SluiceError } from '../../shared/errors.ts';

export type { SubtaskRef };

/** What the coordinator sends to deploy an attempt (the DeployTasks request, decoded). */
export interface AttemptDeployment {
  readonly jobId: string;
  readonly attempt: number;
  readonly jobName: string;
  /** When the job was submitted (its sinks' claims on their outputs compare it). */
  readonly submittedAtMs: number;
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
  /** LevelDB backend: cache entries per keyed subtask; undefined: the backend's default. */
  readonly stateCacheEntries?: number;
  readonly checkpointStorage: CheckpointStorage;
  /** Paces this worker's checkpoint writing; none: as fast as it goes. */
  readonly checkpointLimiter?: CheckpointWriteLimiter;
  readonly deadLetters: DeadLetterOutput;
  readonly dataPlane: DataPlaneChannels;
  readonly listener: AttemptListener;
  readonly sourceBatchSize?: number;
  /** Where user functions' metrics go (the worker's /metrics), with the worker's id as tm_id. */
  readonly userMetrics?: { readonly registry: UserMetricRegistry; readonly tmId: string };
}

/** What the coordinator sends to prepare a live rescale (the PrepareRescale request, decoded). */
export interface RescalePreparation {
  readonly parallelism: number;
  /** The checkpoint whose barrier switches the job to the new parallelism. */
  readonly checkpointId: number;
  /** The latest completed checkpoint, if any: gained key groups are staged from it ahead of the switch. */
  readonly stagingCheckpointId?: number;
  /** The subtasks the rescale adds that this worker runs. */
  readonly localSubtasks: readonly SubtaskRef[];
  /** "taskId/subtask" → data-plane address, for every subtask at the new parallelism. */
  readonly placement: ReadonlyMap<string, string>;
}

/** "taskId/subtask" → the ids of the splits a source subtask reads after the rescale. */
export type SplitAssignment = ReadonlyMap<string, readonly string[]>;

const MAX_IDLE_SLEEP_MS = 50;
/** Longest a processing step runs before the worker yields to its event loop. */
const DRAIN_STEP_MS = 20;
const RECORD_BATCHES_PER_STEP = 4;
/**
 * How long a live rescale's staging of gained key groups may take; what is not staged by then is
 * taken over whole. Well inside the coordinator's deadline for PrepareRescale.
 */
const STAGING_BUDGET_MS = 40_000;

interface TaskCounters {
  busyTimeMs: number;
  backPressuredTimeMs: number;
  backPressured: boolean;
}

/**
 * A channel's data-plane name. Channels a live rescale adds carry its checkpoint id: a consumer
 * index that retired in one rescale and comes back in a later one gets a fresh channel.
 */
export function channelKey(jobId: string, attempt: number, edgeIndex: number, producer: number, consumer: number, rescaleCheckpointId?: number): string {
  const key = `${jobId}/${attempt}/${edgeIndex}/${producer}/${consumer}`;
  return rescaleCheckpointId === undefined ? key : `${key}@${rescaleCheckpointId}`;
}

export class ClusterJobRunner {
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

  private env!: StreamExecutionEnvironment;
  private plan!: JobPlan;
  /** What runs here; a live rescale adds subtasks to it and takes retired ones out. */
  private built!: BuiltSubtasks;

  private get tasks(): StreamTask[] {
    return this.built.tasks;
  }

  /** What every build of this attempt's subtasks shares: services, listener, channels to `placement`. */
  private buildOptions(plan: JobPlan, placement: ReadonlyMap<string, string>, isLocal: (taskId: number, subtask: number) => boolean, rescaleCheckpointId?: number) {
    const { deployment, services } = this;
    const addressOf = (taskId: number, subtask: number) => {
      const address = placement.get(`${taskId}/${subtask}`);
      if (address === undefined) throw new Error(`no worker is placed for task ${taskId} subtask ${subtask}`);
      return address;
    };
    const key = (edgeIndex: number, producer: number, consumer: number) => channelKey(deployment.jobId, deployment.attempt, edgeIndex, producer, consumer, rescaleCheckpointId);
    return {
      plan,
      job: { id: deployment.jobId, submittedAtMs: deployment.submittedAtMs },
      properties: deployment.properties,
      clock: services.clock,
      stateBackend: deployment.stateBackend ?? services.stateBackend,
      stateDirectory: services.stateDirectory,
      ...(services.stateCacheEntries === undefined ? {} : { stateCacheEntries: services.stateCacheEntries }),
      deadLetters: services.deadLetters,
      watermarkIntervalMs: this.watermarkIntervalMs,
      listener: { acknowledgeCheckpoint: (task: StreamTask, id: number, snapshots: ReadonlyMap<string, Promise<OperatorSnapshot>>) => this.acknowledge(task, id, snapshots) },
      isLocal,
      remote: {
        output: (edgeIndex: number, producer: number, consumer: number) => {
          const consumerTask = plan.taskOfNode.get(plan.edges[edgeIndex]!.targetId)!;
          return services.dataPlane.openOutput(key(edgeIndex, producer, consumer), addressOf(consumerTask, consumer), () => this.wake());
        },
        input: (edgeIndex: number, producer: number, consumer: number, channel: InputChannel) => services.dataPlane.registerInput(key(edgeIndex, producer, consumer), channel),
      },
      onChannelData: () => this.wake(),
      wakeUp: () => this.wake(),
      ...(services.userMetrics
        ? {
            userMetrics: {
              registry: services.userMetrics.registry,
              scope: { job_id: deployment.jobId, job_name: deployment.jobName, task_attempt_num: String(deployment.attempt), tm_id: services.userMetrics.tmId },
            },
          }
        : {}),
    };
  }

  private async build(env: StreamExecutionEnvironment): Promise<void> {
    const { deployment, services } = this;
    this.env = env;
    const plan: JobPlan = planJob(env.graph, env.settings, {
      jobName: deployment.jobName,
      parallelism: deployment.parallelism,
      maxParallelism: deployment.maxParallelism,
    });
    this.plan = plan;
    this.watermarkIntervalMs = env.settings.autoWatermarkIntervalMs;
    const local = new Set(deployment.localSubtasks.map((s) => `${s.taskId}/${s.subtask}`));
    const started = performance.now();
    const restored =
      deployment.restorePath === undefined
        ? undefined
        : await loadRestoreState(plan, await openRestorePath(deployment.restorePath, deployment.allowNonRestoredState), (taskId, subtask) => local.has(`${taskId}/${subtask}`));
    const readMs = Math.round(performance.now() - started);
    const built = await buildSubtasks({
      ...this.buildOptions(plan, deployment.placement, (taskId, subtask) => local.has(`${taskId}/${subtask}`)),
      ...(restored ? { restored } : {}),
      initialSplits: (nodeId, subtask) => deployment.splits.get(`${plan.taskOfNode.get(nodeId)!}/${subtask}`),
    });
    this.built = built;
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
        if (!task.source || task.status !== 'running' || this.cancelled || this.pollingHeld.has(task)) continue;
        if (this.isBackPressured(task) || task.inputBlocked()) continue;
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
        if (task.processInput(RECORD_BATCHES_PER_STEP, stepStart + DRAIN_STEP_MS)) moved = any = true;
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
  triggerCheckpoint(checkpointId: number, splitAssignment?: SplitAssignment): void {
    if (splitAssignment !== undefined) this.armSources(checkpointId, splitAssignment);
    for (const task of this.tasks) if (task.status === 'finished' || task.status === 'ending' || (task.source && task.status === 'running')) task.triggerCheckpoint(checkpointId);
    this.drain();
    this.wake();
  }

  /** The coordinator gave up a checkpoint (expired or declined): tasks aligning it let their channels go on. */
  abortCheckpoint(checkpointId: number): void {
    for (const task of this.tasks) if (task.status === 'running') task.abortCheckpoint(checkpointId);
    this.wake();
  }

  // ---- live rescale -----------------------------------------------------------------------------
  //
  // 1. prepareRescale: the subtasks the new parallelism adds are built here and wired to the running
  //    ones; every running subtask is armed for the rescale barrier. Sources report their splits.
  // 2. triggerCheckpoint(R, assignment): at barrier R each exchange switches to the new partitioning,
  //    each keyed subtask keeps only its new key groups (the checkpoint has the state of all of
  //    them) and holds back records of the key groups it gains; sources keep their assigned
  //    splits; subtasks beyond the new parallelism retire. Everything else goes on processing.
  // 3. completeRescale (checkpoint R is complete): gained key groups and splits are read from
  //    checkpoint R, the held-back records processed; retired subtasks are closed.

  private rescale: { readonly preparation: RescalePreparation; readonly plan: JobPlan } | undefined;
  private readonly pollingHeld = new Set<StreamTask>();

  /** Builds and wires the subtasks a live rescale adds; returns the splits of this worker's source subtasks. */
  async prepareRescale(preparation: RescalePreparation): Promise<Map<string, string[]>> {
    if (this.rescale !== undefined) throw new SluiceError(`job ${this.jobId} attempt ${this.attempt}: a rescale is in progress already`);
    const { deployment } = this;
    const previous = this.plan;
    const plan = planJob(this.env.graph, this.env.settings, { jobName: deployment.jobName, parallelism: preparation.parallelism, maxParallelism: deployment.maxParallelism });
    const refusal = liveRescaleRefusal(previous, plan);
    if (refusal !== undefined) throw new SluiceError(`job ${this.jobId} cannot be rescaled live: ${refusal}`);
    const local = new Set(preparation.localSubtasks.map((s) => `${s.taskId}/${s.subtask}`));
    const runningHere = new Set(this.tasks.map((t) => `${t.vertex.id}/${t.subtaskIndex}`));
    const isLocal = (taskId: number, subtask: number) => local.has(`${taskId}/${subtask}`) || runningHere.has(`${taskId}/${subtask}`);
    const added = await buildSubtasks({
      ...this.buildOptions(plan, preparation.placement, isLocal, preparation.checkpointId),
      rescaleOf: { previous, existing: this.built, checkpointId: preparation.checkpointId },
    });
    const splits = new Map<string, string[]>();
    /** The key groups each subtask gains, staged below. */
    const gains: Array<{ task: StreamTask; gained: ReadonlySet<number> }> = [];
    for (const task of this.tasks) {
      const oldParallelism = previous.tasks.find((t) => t.id === task.vertex.id)!.parallelism;
      const newParallelism = plan.tasks.find((t) => t.id === task.vertex.id)!.parallelism;
      if (task.status !== 'running' || oldParallelism === newParallelism) continue;
      const i = task.subtaskIndex;
      const maxParallelism = plan.maxParallelismOf.get(task.vertex.nodeIds[0]!)!;
      if (i >= newParallelism) task.prepareRescale({ checkpointId: preparation.checkpointId, retire: true, parallelism: newParallelism });
      else {
        const previousKeyGroupRange = keyGroupRangeForSubtask(maxParallelism, oldParallelism, i);
        const keyGroupRange = keyGroupRangeForSubtask(maxParallelism, newParallelism, i);
        task.prepareRescale({ checkpointId: preparation.checkpointId, retire: false, parallelism: newParallelism, previousKeyGroupRange, keyGroupRange });
        gains.push({ task, gained: keyGroupRange.keyGroupsNotIn(previousKeyGroupRange) });
      }
      if (task.source) splits.set(`${task.vertex.id}/${i}`, task.source.currentSplitIds());
    }
    for (const task of added.tasks) {
      const maxParallelism = plan.maxParallelismOf.get(task.vertex.nodeIds[0]!)!;
      const keyGroupRange = keyGroupRangeForSubtask(maxParallelism, task.vertex.parallelism, task.subtaskIndex);
      task.prepareRescale({ checkpointId: preparation.checkpointId, retire: false, parallelism: task.vertex.parallelism, previousKeyGroupRange: KeyGroupRange.EMPTY, keyGroupRange });
      gains.push({ task, gained: keyGroupRange.keyGroupsNotIn(KeyGroupRange.EMPTY) });
      // A new source has no splits until it takes some over: a bounded one would end at once.
      if (task.source) this.pollingHeld.add(task);
      this.counters.set(task, { busyTimeMs: 0, backPressuredTimeMs: 0, backPressured: false });
      this.tasks.push(task);
    }
    for (const [key, exchange] of added.exchanges) this.built.exchanges.set(key, exchange);
    for (const [task, backends] of added.backendsOf) this.built.backendsOf.set(task, backends);
    this.rescale = { preparation, plan };
    this.log.info('rescale prepared', { checkpointId: preparation.checkpointId, parallelism: preparation.parallelism, added: added.tasks.map((t) => t.name) });
    this.wake();
    if (preparation.stagingCheckpointId !== undefined) await this.stageGainedKeyGroups(preparation.stagingCheckpointId, gains);
    return splits;
  }

  /**
   * Ahead of the switch, each subtask that gains key groups writes them into its state backend as
   * the latest completed checkpoint holds them (backends that can stage: LevelDB), while the job
   * runs on. At the takeover only the key groups changed since are read from the rescale
   * checkpoint, so the moved key groups pause for the rescale checkpoint, not for a copy of their
   * whole state. Best effort, within STAGING_BUDGET_MS: a key group not staged is taken over whole.
   */
  private async stageGainedKeyGroups(checkpointId: number, gains: ReadonlyArray<{ task: StreamTask; gained: ReadonlySet<number> }>): Promise<void> {
    const startedAt = performance.now();
    const storage = this.services.checkpointStorage;
    const stageable = gains.flatMap(({ task, gained }) => {
      const backend = this.keyedBackendOf(task);
      return backend?.stageKeyGroup !== undefined && gained.size > 0 ? [{ task, gained, backend }] : [];
    });
    if (stageable.length === 0) return;
    let metadata: CheckpointMetadata;
    try {
      metadata = await storage.readMetadata(checkpointId);
    } catch (error) {
      this.log.warn('staging key groups for the rescale: the latest checkpoint cannot be read; they are taken over whole', { checkpointId, error: errorChainMessage(error) });
      return;
    }
    let keyGroups = 0;
    let bytes = 0;
    const overBudget = () => performance.now() - startedAt >= STAGING_BUDGET_MS;
    const outOfTime = new Error('out of time');
    await Promise.all(
      stageable.map(async ({ task, gained, backend }) => {
        const uid = task.operators[0]!.uid;
        try {
          for (const handle of metadata.operators.find((o) => o.uid === uid)?.subtasks ?? []) {
            await readKeyGroupChunks(storage, checkpointId, handle, (g) => gained.has(g), async (chunk) => {
              if (overBudget()) throw outOfTime;
              if (chunk.state.rawPairs === undefined) return; // not a LevelDB checkpoint's chunk
              await backend.stageKeyGroup!(chunk.keyGroup, chunk.state.rawPairs, chunk.sha256);
              keyGroups++;
              bytes += chunk.state.rawPairs.byteLength;
            });
          }
        } catch (error) {
          if (error !== outOfTime) this.log.warn('staging key groups for the rescale failed; the rest are taken over whole', { task: task.name, checkpointId, error: errorChainMessage(error) });
        }
      }),
    );
    this.log.info('key groups staged for the rescale', { checkpointId, keyGroups, bytes, ms: Math.round(performance.now() - startedAt), outOfTime: overBudget() });
  }

  /** The state backend of a subtask whose head is keyed (a live rescale allows keyed state there only). */
  private keyedBackendOf(task: StreamTask): KeyedStateBackend | undefined {
    const backends = this.built.backendsOf.get(task);
    return backends?.length === 1 ? backends[0] : undefined;
  }

  /** Before the rescale barrier: each source subtask keeps the splits assigned to it (and what it found since the plan). */
  private armSources(checkpointId: number, assignment: SplitAssignment): void {
    const rescale = this.rescale;
    if (rescale === undefined || rescale.preparation.checkpointId !== checkpointId) throw new SluiceError(`checkpoint ${checkpointId} carries a split assignment but no rescale at it was prepared`);
    const assigned = new Set([...assignment.values()].flat());
    for (const task of this.tasks) {
      if (!task.source || task.status !== 'running') continue;
      const mine = assignment.get(`${task.vertex.id}/${task.subtaskIndex}`);
      if (mine === undefined) continue; // retiring, or not rescaled
      const keep = new Set(mine);
      for (const id of task.source.currentSplitIds()) if (!assigned.has(id)) keep.add(id);
      task.setKeptSplits(keep);
    }
  }

  /** Checkpoint R is complete: takes over key groups and splits from it, closes retired subtasks. */
  async completeRescale(checkpointId: number, assignment: SplitAssignment): Promise<RescaleCompletion> {
    const rescale = this.rescale;
    if (rescale === undefined || rescale.preparation.checkpointId !== checkpointId) throw new SluiceError(`no rescale at checkpoint ${checkpointId} was prepared`);
    const { plan } = rescale;
    const storage = this.services.checkpointStorage;
    const metadata = await storage.readMetadata(checkpointId);
    const handlesOf = (uid: string) => [...(metadata.operators.find((o) => o.uid === uid)?.subtasks ?? [])].sort((a, b) => a.subtask - b.subtask);
    let stashedRecords = 0;
    let keyGroupsTakenOver = 0;
    let keyGroupsStaged = 0;
    let splitsTakenOver = 0;
    let keyGroupPauseMs = 0;
    const retired = this.tasks.filter((t) => t.status === 'retired');
    const live = this.tasks.filter((t) => t.status !== 'retired');
    const assigned = new Set([...assignment.values()].flat());
    /** The splits a source subtask takes over: assigned to it, or found late by a subtask that retired. */
    const splitsGainedBy = async (task: StreamTask): Promise<SplitState[]> => {
      const newParallelism = rescale.plan.tasks.find((t) => t.id === task.vertex.id)!.parallelism;
      const wanted = new Set(assignment.get(`${task.vertex.id}/${task.subtaskIndex}`) ?? []);
      const have = new Set(task.source!.currentSplitIds());
      const gained: SplitState[] = [];
      for (const handle of handlesOf(task.operators[0]!.uid)) {
        const state = (await readOperatorSnapshot(storage, checkpointId, handle)).operatorState as SourceOperatorState | undefined;
        for (const split of state?.splits ?? []) {
          if (have.has(split.id)) continue;
          const leftover = !assigned.has(split.id) && handle.subtask >= newParallelism && assignToKeyGroup(split.id, newParallelism) === task.subtaskIndex;
          if (wanted.has(split.id) || leftover) gained.push(split);
        }
      }
      return gained;
    };
    // Every subtask takes over what it gained side by side; none waits for another.
    await Promise.all(
      live.map(async (task) => {
        const gained = task.gainedKeyGroups();
        keyGroupsTakenOver += gained.size;
        const uid = task.operators[0]!.uid;
        const result = await task.completeRescale(async (operator) => {
          // A key group staged from a chunk the rescale checkpoint still has is in place already.
          const backend = this.keyedBackendOf(task);
          const staged = backend?.stagedKeyGroups?.() ?? new Map<number, string>();
          const kept = new Set<number>();
          const alreadyHeld = (keyGroup: number, sha256: string) => {
            if (staged.get(keyGroup) !== sha256) return false;
            kept.add(keyGroup);
            return true;
          };
          const snapshots = await Promise.all(handlesOf(uid).map((handle) => readOperatorSnapshot(storage, checkpointId, handle, (g) => gained.has(g), alreadyHeld)));
          await backend?.settleStaged?.(kept);
          keyGroupsStaged += kept.size;
          // Small key groups and timers are inline in the state file: keep only the gained ones.
          await operator.restoreState(snapshots.map((s) => (s.keyed ? { ...s, keyed: { ...s.keyed, keyGroups: s.keyed.keyGroups.filter((g) => gained.has(g.keyGroup)) } } : s)));
        });
        stashedRecords += result.stashedRecords;
        keyGroupPauseMs = Math.max(keyGroupPauseMs, Math.round(result.pausedMs));
        if (task.source) {
          const splits = await splitsGainedBy(task);
          splitsTakenOver += splits.length;
          await task.addSplits(splits);
          this.pollingHeld.delete(task);
        }
      }),
    );
    for (const task of retired) {
      await task.close().catch((error: unknown) => this.log.warn('closing a retired subtask failed', { task: task.name, error: errorChainMessage(error) }));
      this.tasks.splice(this.tasks.indexOf(task), 1);
      this.counters.delete(task);
      // Its state is in the checkpoint; a later rescale may bring its subtask index back here.
      for (const backend of this.built.backendsOf.get(task) ?? []) {
        await backend.dispose().catch((error: unknown) => this.log.warn('freeing a retired subtask\'s state failed', { task: task.name, error: errorChainMessage(error) }));
      }
      this.built.backendsOf.delete(task);
    }
    this.plan = plan;
    this.rescale = undefined;
    const completion = { stashedRecords, keyGroupsTakenOver, keyGroupsStaged, splitsTakenOver, retiredSubtasks: retired.length, keyGroupPauseMs };
    this.log.info('rescale completed', { checkpointId, ...completion });
    this.wake();
    return completion;
  }

  private acknowledge(task: StreamTask, checkpointId: number, snapshots: ReadonlyMap<string, Promise<OperatorSnapshot>>): void {
    const { checkpointStorage, listener } = this.services;
    const capturedAt = performance.now();
    // A live rescale's moved key groups wait for its checkpoint: that one is written at full speed.
    const limiter = this.rescale?.preparation.checkpointId === checkpointId ? undefined : this.services.checkpointLimiter;
    const writes = [...snapshots].map(async ([uid, pending]) => {
      const snapshot = await pending;
      if (!hasState(snapshot)) return [];
      const written = await writeOperatorSnapshot(checkpointStorage, checkpointId, uid, task.subtaskIndex, snapshot, limiter);
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
    const attempt = String(this.deployment.attempt);
    this.services.userMetrics?.registry.remove((labels) => labels.job_id === this.deployment.jobId && labels.task_attempt_num === attempt);
    if (wasRunning) this.log.info('attempt cancelled', { reason });
    if (first) this.log.warn('closing the attempt failed', { error: errorChainMessage(first) });
    // Deleting a large LevelDB state takes a while and nothing waits for it: the next attempt
    // (a restart, a rescale) gets its own working directories.
    this.disposed = Promise.all([...this.built.backendsOf.values()].flat().map((backend) => backend.dispose())).then(
      () => undefined,
      (error: unknown) => this.log.warn('freeing the attempt\'s state failed', { error: errorChainMessage(error) }),
    );
  }

  /** Resolves once the cancelled attempt's state backends are freed. */
  disposed: Promise<void> = Promise.resolve();

  getStatus(): SubtaskStatus[] {
    return this.tasks.flatMap((task) => {
      if (task.status === 'retired') return [];
      const counters = this.counters.get(task)!;
      let recordsOut = 0;
      for (const out of task.exchangeOutputs) recordsOut += out.recordsOut;
      for (const { operator } of task.operators) {
        if (operator instanceof SinkOperator) recordsOut += operator.recordsIn;
      }
      let recordsIn = task.recordsIn;
      if (task.source) recordsIn = (task.operators[0]!.operator as SourceOperator).recordsOut;
      let lateRecordsDropped = 0;
      for (const { operator } of task.operators) lateRecordsDropped += operator.metrics.numLateRecordsDropped;
      return {
        taskId: task.vertex.id,
        subtask: task.subtaskIndex,
        taskName: task.name,
        // 'ending' (its operators finish pending work) still runs, as far as the coordinator is concerned.
        state: task.status === 'finished' ? 'finished' : 'running',
        recordsIn,
        recordsOut,
        watermark: task.combinedWatermark,
        busyTimeMs: counters.busyTimeMs,
        backPressuredTimeMs: counters.backPressuredTimeMs,
        backPressured: counters.backPressured,
        lateRecordsDropped,
        ...(task.source ? { unfinishedSplits: task.source.unfinishedSplitIds(), pendingRecords: task.source.pendingRecords() } : {}),
      };
    });
  }
}
