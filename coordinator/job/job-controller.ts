// One job on the leader coordinator (Flink's JobMaster, Arroyo's job controller). The job's
// lifecycle is a set of declared states (job-states.ts: the states and the allowed transitions in
// one table), each a small module in states/ that says what a tick does in it and what a new
// leader does with a record it finds in it. The controller runs the current state and owns the
// mechanisms the states use: placing and deploying attempts, calling workers (every call carries
// the leader epoch), driving checkpoints across the workers and committing them in the fixed order
// (state files → `_metadata` → fenced pointer in the HA store → sinks commit), and failing over
// with the restart strategy. Every transition is logged and written to the job record (fenced).

import type { StreamExecutionEnvironment } from '../../shared/api/environment.ts';
import type { Clock } from '../../shared/clock.ts';
import { errorChainMessage, FencedError, InvalidRequestError, StaleEpochError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import { RpcUnavailableError, type CallOptions, type GatewayClient } from '../../shared/rpc/rpc.ts';
import type { AcknowledgeCheckpointRequest } from '../../shared/rpc/coordinator-gateway.ts';
import type { SubtaskRef } from '../../shared/rpc/subtask-ref.ts';
import { encodeProperties, encodeSplitStates, type DeployTasksRequest, type Placement, type SourceSplits, type SplitAssignmentMessage, type WorkerGatewayMethods } from '../../shared/rpc/worker-gateway.ts';
import { planJob, type JobPlan } from '../../shared/plan/job-plan.ts';
import { operatorInfoOf } from '../../shared/plan/operator-info.ts';
import { discoverAndDeal } from '../../shared/plan/split-assignment.ts';
import { CheckpointCoordinator, type CompletedCheckpointInfo } from '../../shared/checkpoint/checkpoint-coordinator.ts';
import type { SubtaskStateHandle } from '../../shared/checkpoint/checkpoint-metadata.ts';
import { childLocation, openCheckpointStorage, type ObjectStoreCheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import { defaultSnapshotName, type SnapshotCatalog, type SnapshotSummary } from '../../shared/checkpoint/snapshots.ts';
import { CheckpointFailureManager } from '../checkpoint/checkpoint-failure-manager.ts';
import { CheckpointIdCounter } from '../checkpoint/checkpoint-id-counter.ts';
import { CompletedCheckpointStore } from '../checkpoint/completed-checkpoint-store.ts';
import { PeriodicCheckpointScheduler } from '../checkpoint/periodic-checkpoint-scheduler.ts';
import type { RegisteredWorker, RunningAttemptReport, RunningSubtask, WorkerRegistry } from '../cluster/worker-registry.ts';
import { callReportingFencing } from '../ha/fenced-call.ts';
import type { HighAvailabilityServices, Leadership } from '../ha/high-availability-services.ts';
import type { RestartStrategy } from '../scheduler/restart-strategy.ts';
import { placeJob, slotsOf, slotsTakenOn, type PlacementEntry } from '../scheduler/slot-placement.ts';
import { JobRequests, type JobRequest, type RescaleResult, type StopResult } from './job-requests.ts';
import { checkpointCounterKey, checkpointPointerKey, jobKey, type JobRecord, type JobSubmission, type LiveRescaleProgress } from './job-record.ts';
import { checkTransition, isTerminal, TRANSITIONS_KEPT, type JobState, type JobTransition } from './job-states.ts';
import { STATE_MODULES, type TakeOverOutcome } from './states/index.ts';
import { LiveRescaleRefused, runLiveRescale } from './states/live-rescale.ts';
import { rescaleByRestart } from './states/rescaling.ts';
import { stopWithCheckpoint } from './states/stopping.ts';

export type { RescaleResult, StopResult } from './job-requests.ts';

/** How jobs checkpoint (from the coordinator's configuration). */
export interface CheckpointingSettings {
  /** Checkpoints of job j go to `<checkpointRoot>/<j>`. */
  readonly checkpointRoot: string;
  /** Snapshots go to `<snapshotRoot>/<name>`. */
  readonly snapshotRoot: string;
  readonly checkpointIntervalMs: number;
  readonly minPauseBetweenCheckpointsMs: number;
  readonly retainedCheckpoints: number;
  readonly checkpointTimeoutMs: number;
  readonly tolerableFailedCheckpoints: number;
}

/** What the job master calls on a worker (an RpcClient of its WorkerGateway, or a testing double). */
export type WorkerGatewayClient = GatewayClient<WorkerGatewayMethods>;

/** A worker of the attempt, by the address it had when the attempt was placed on it. */
interface AttemptWorker {
  readonly workerId: string;
  readonly rpcAddress: string;
}

export interface JobControllerServices {
  readonly ha: HighAvailabilityServices;
  readonly leadership: Leadership;
  readonly workers: WorkerRegistry;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A client of the worker at this RPC address (cached by the caller). */
  readonly workerClient: (rpcAddress: string) => WorkerGatewayClient;
  readonly checkpointing: CheckpointingSettings;
  /** Where snapshots go (under `checkpointing.snapshotRoot`). */
  readonly snapshots: SnapshotCatalog;
  readonly heartbeatIntervalMs: number;
  readonly restartStrategy: RestartStrategy;
  /** Slots of a worker that other jobs do not use. */
  readonly freeSlots: (workerId: string, exceptJobId: string) => number;
  /** A fenced write was refused: this coordinator is no longer the leader. */
  readonly onFenced: (error: Error) => void;
}

export interface JobStatusView {
  readonly jobId: string;
  readonly jobName: string;
  readonly state: JobState;
  readonly attempt: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly numRestarts: number;
  readonly failure: string | null;
  readonly submittedAtMs: number;
  readonly checkpoints: {
    readonly completed: number;
    readonly failed: number;
    /** Failed in a row since the last completed one. */
    readonly consecutiveFailed: number;
    readonly inProgress: number | null;
    readonly latest: CompletedCheckpointInfo | null;
    readonly pointer: number | null;
    /** The periodic checkpoints: whether they run, how often, and whose setting that is. */
    readonly periodic: { readonly enabled: boolean; readonly intervalMs: number; readonly minPauseMs: number; readonly source: 'submission' | 'application' | 'cluster' };
  };
  /** The tasks (chains of operators) of the current plan. */
  readonly tasks: ReadonlyArray<{ readonly id: number; readonly name: string; readonly parallelism: number; readonly isSource: boolean }>;
  /** Which task feeds which (from the plan's task inputs), and how records are partitioned: the job graph's edges. */
  readonly edges: ReadonlyArray<{ readonly fromTaskId: number; readonly toTaskId: number; readonly partitioning: string }>;
  readonly subtasks: ReadonlyArray<RunningSubtask & { readonly workerId: string }>;
  readonly lastRescale: RescaleResult | null;
  /** How the job got to its state: the latest transitions, oldest first. */
  readonly transitions: readonly JobTransition[];
}

export class JobController {
  private state: JobState = 'created';
  private attempt = 0;
  /** Where the attempt's subtasks run (a live rescale changes it step by step). */
  placement: PlacementEntry[] = [];
  private numRestarts = 0;
  private failure: string | undefined;
  /** The latest transitions, oldest first (kept in the job record). */
  private transitions: JobTransition[] = [];
  /** A transition's record write failed (not fenced): the next tick writes the record again. */
  private recordStale = false;
  /** The live rescale in flight, written with the record while the state is one of its steps. */
  liveRescale: LiveRescaleProgress | undefined;
  private lastRescale: RescaleResult | undefined;
  private parallelism: number | undefined;
  plan: JobPlan;

  private checkpoints: CheckpointCoordinator | undefined;
  private readonly checkpointFailures: CheckpointFailureManager;
  private readonly checkpointIds: CheckpointIdCounter;
  private readonly completed: CompletedCheckpointStore;
  private readonly periodic: PeriodicCheckpointScheduler;
  private latest: CompletedCheckpointInfo | undefined;
  /** The checkpoint storage is being cleaned for a new attempt: no checkpoint until it is done. */
  private preparing: Promise<void> | undefined;
  private checkpointStorage: ObjectStoreCheckpointStorage | undefined;
  /** Set while the barrier of a live rescale's checkpoint is being triggered. */
  private rescaleBarrier: { readonly checkpointId: number; readonly splitAssignment: SplitAssignmentMessage } | undefined;

  private restartAtMs: number | undefined;
  private deployedAtMs = 0;
  /** "taskId/subtask" of the attempt's subtasks that have finished. */
  private readonly finished = new Set<string>();
  /** When this leader first saw every subtask finished (undefined while some still run). */
  private allFinishedAtMs: number | undefined;
  /** The workers of the current attempt and the addresses it was placed at (a worker an RPC error dropped from the registry is still one). */
  private readonly attemptAddresses = new Map<string, string>();
  /** Workers a live rescale took every subtask of this attempt from. */
  private readonly workersRescaledAway = new Set<string>();
  private readonly requests = new JobRequests();
  private disposed = false;
  readonly log: Logger;
  /** This job's checkpoint settings: its submission's, else the application's own, else the cluster's. */
  readonly checkpointing: CheckpointingSettings & { readonly enabled: boolean; readonly source: 'submission' | 'application' | 'cluster' };

  constructor(
    readonly submission: JobSubmission,
    private readonly env: StreamExecutionEnvironment,
    readonly services: JobControllerServices,
    private readonly submittedAtMs: number,
  ) {
    this.parallelism = submission.parallelism;
    this.plan = this.planFor(submission.parallelism);
    this.log = services.logger.child({ application: submission.jobName, job: submission.jobId, epoch: services.leadership.epoch });
    this.checkpointFailures = new CheckpointFailureManager(services.checkpointing.tolerableFailedCheckpoints);
    this.checkpointIds = new CheckpointIdCounter(services.ha, services.leadership, checkpointCounterKey(submission.jobId));
    this.completed = new CompletedCheckpointStore(services.ha, services.leadership, checkpointPointerKey(submission.jobId), this.log, (write) => this.fenced(write));
    this.checkpointing = checkpointingOf(submission, env, services.checkpointing);
    this.periodic = new PeriodicCheckpointScheduler(services.clock, this.checkpointing.enabled ? this.checkpointing.checkpointIntervalMs : Number.POSITIVE_INFINITY);
    this.log.info('job checkpointing', { ...this.checkpointing });
  }

  /** The plan at a parallelism (the application's own when undefined). */
  planFor(parallelism: number | undefined): JobPlan {
    return planJob(this.env.graph, this.env.settings, {
      jobName: this.submission.jobName,
      ...(parallelism ? { parallelism } : {}),
      ...(this.submission.maxParallelism ? { maxParallelism: this.submission.maxParallelism } : {}),
    });
  }

  /** The job runs at `parallelism` from now on (its record says so at the next write). */
  setParallelism(parallelism: number): void {
    this.parallelism = parallelism;
    this.plan = this.planFor(parallelism);
  }

  /** The slots the current plan needs: its parallelism. */
  get slotsNeeded(): number {
    return slotsOf(this.plan);
  }

  get jobId(): string {
    return this.submission.jobId;
  }

  get currentState(): JobState {
    return this.state;
  }

  get currentAttempt(): number {
    return this.attempt;
  }

  get failureMessage(): string | undefined {
    return this.failure;
  }

  /** The latest completed checkpoint the pointer names, as this leader knows it. */
  get completedCheckpointId(): number | undefined {
    return this.completed.latestId;
  }

  /** The attempt's checkpoint coordinator (undefined while no attempt runs). */
  get checkpointCoordinator(): CheckpointCoordinator | undefined {
    return this.checkpoints;
  }

  /** Workers this job's current attempt runs on. */
  workerIds(): Set<string> {
    return new Set(this.placement.map((p) => p.workerId));
  }

  slotsUsedOn(workerId: string): number {
    return STATE_MODULES[this.state].attempt === 'none' ? 0 : slotsTakenOn(this.placement, workerId);
  }

  // ---- the lifecycle ------------------------------------------------------------------------

  /**
   * The one way the state changes: checked against the table, logged, and written to the job
   * record (fenced). Answers whether the record has it; a write that failed for another reason
   * than fencing is written again by the next tick. A deposed leader gets FencedError.
   */
  async transition(to: JobState, reason: string): Promise<boolean> {
    checkTransition(this.jobId, this.state, to);
    const change: JobTransition = { from: this.state, to, reason, atMs: this.services.clock.now() };
    this.log.info('job state changed', { from: change.from, to, reason, attempt: this.attempt });
    this.transitions = [...this.transitions, change].slice(-TRANSITIONS_KEPT);
    this.state = to;
    if (isTerminal(to)) this.requests.rejectWaiting(this.jobId, to);
    return this.persistOrMarkStale();
  }

  private async persistOrMarkStale(): Promise<boolean> {
    try {
      await this.persist();
      this.recordStale = false;
      return true;
    } catch (error) {
      if (error instanceof FencedError) throw error;
      this.recordStale = true;
      this.log.warn('writing the job record failed; the next tick writes it again', { state: this.state, error: errorChainMessage(error) });
      return false;
    }
  }

  private record(): JobRecord {
    return {
      ...this.submission,
      ...(this.parallelism ? { parallelism: this.parallelism } : {}),
      state: this.state,
      attempt: this.attempt,
      placement: this.placement,
      submittedAtMs: this.submittedAtMs,
      numRestarts: this.numRestarts,
      ...(this.failure ? { failure: this.failure } : {}),
      ...(this.liveRescale && this.state.startsWith('live-rescale-') ? { liveRescale: this.liveRescale } : {}),
      transitions: this.transitions,
    };
  }

  private async persist(): Promise<void> {
    await this.fenced(() => this.services.ha.putFenced(this.services.leadership, jobKey(this.jobId), JSON.stringify(this.record())));
  }

  /** Runs a fenced write; a refusal means this coordinator lost the leadership. */
  private fenced<T>(write: () => Promise<T>): Promise<T> {
    return callReportingFencing(write, (error) => {
      this.disposed = true;
      this.services.onFenced(error);
    });
  }

  /** A new submission: records it, then deploys the first attempt. */
  async start(): Promise<void> {
    await this.persist();
    await this.loadPointers();
    await this.deployAttempt();
  }

  /** Takes over a job from an earlier leader's record: the state it was left in decides (states/). */
  async takeOver(record: JobRecord): Promise<TakeOverOutcome> {
    this.attempt = record.attempt;
    this.placement = [...record.placement];
    this.numRestarts = record.numRestarts;
    this.failure = record.failure;
    // Resumed, not changed: the state the previous leader recorded, and how it got there.
    this.state = record.state;
    this.transitions = [...(record.transitions ?? [])];
    this.liveRescale = record.liveRescale;
    if (isTerminal(this.state)) return 'terminal';
    await this.loadPointers();
    for (const p of this.placement) {
      const address = this.services.workers.get(p.workerId)?.rpcAddress;
      if (address !== undefined) this.attemptAddresses.set(p.workerId, address);
    }
    return STATE_MODULES[this.state].resume(this, record);
  }

  /** Called often by the dispatcher: the current state's tick. */
  async tick(): Promise<void> {
    if (this.disposed || isTerminal(this.state)) return;
    if (this.recordStale && !(await this.persistOrMarkStale())) return;
    await STATE_MODULES[this.state].tick(this);
  }

  /**
   * A new leader adopts the recorded attempt as it runs when every subtask of it is reported
   * running by a registered worker (its state is consistent with the last checkpoint: nothing was
   * lost meanwhile, sinks commit only what a completed checkpoint covers); else it restarts.
   */
  async adoptOrRestart(): Promise<TakeOverOutcome> {
    const missing = this.subtasksNotReported();
    if (missing.length > 0) {
      this.log.info('restarting the job after the leader change', { attempt: this.attempt, state: this.state, missingSubtasks: missing.slice(0, 10) });
      return this.restartAfterLeaderChange(`leader change: ${missing.length} subtask(s) of attempt ${this.attempt} no longer reported by any worker`);
    }
    this.log.info('adopted the running attempt from the previous leader', { attempt: this.attempt, placement: this.placement.length });
    for (const w of this.services.workers.all()) this.observeHeartbeat(w);
    this.startCheckpointing();
    if (this.state !== 'running') await this.transition('running', `leader change while ${this.state}: the attempt is adopted, what was in flight is not resumed`);
    return 'adopted';
  }

  /** A new leader restarts the job from the pointer, at `parallelism` when given. */
  async restartAfterLeaderChange(reason: string, parallelism?: number): Promise<'restarted'> {
    if (parallelism !== undefined) this.setParallelism(parallelism);
    this.liveRescale = undefined;
    this.restartAtMs = this.services.clock.now();
    this.numRestarts++;
    // A job the old leader left restarting is restarted by this one, with no change of state.
    if (this.state === 'restarting') this.log.info('restarting the job after the leader change', { reason });
    else await this.transition('restarting', reason);
    return 'restarted';
  }

  isRestartDue(): boolean {
    if (this.restartAtMs === undefined || this.services.clock.now() < this.restartAtMs) return false;
    this.restartAtMs = undefined;
    return true;
  }

  private subtasksNotReported(): string[] {
    const missing: string[] = [];
    for (const p of this.placement) {
      const worker = this.services.workers.get(p.workerId);
      const report = worker?.running.find((r) => r.jobId === this.jobId && r.attempt === this.attempt);
      if (!report?.subtasks.some((s) => s.taskId === p.taskId && s.subtask === p.subtask)) missing.push(`${p.taskId}/${p.subtask}@${p.workerId}`);
    }
    return missing;
  }

  private async loadPointers(): Promise<void> {
    const pointer = await this.completed.load();
    await this.checkpointIds.load(Math.max(pointer ?? 0, this.submission.restoreFrom?.checkpointId ?? 0));
  }

  /** This job's checkpoints: `<checkpointRoot>/<jobId>`, on whatever store the root names. */
  private storage(): ObjectStoreCheckpointStorage {
    this.checkpointStorage ??= openCheckpointStorage(childLocation(this.services.checkpointing.checkpointRoot, this.jobId), 'checkpoints', 'checkpoint directory');
    return this.checkpointStorage;
  }

  /** What the next attempt restores: the job's latest checkpoint, else what it was submitted from, else nothing. */
  private restoreSource(): { path: string; allowNonRestoredState: boolean } | undefined {
    const pointer = this.completed.latestId;
    if (pointer !== undefined) return { path: childLocation(this.storage().location, `chk-${pointer}`), allowNonRestoredState: false };
    return this.submission.restoreFrom;
  }

  /** Free slots of every registered worker for this job, besides what `besides` takes. */
  freeSlots(besides: readonly PlacementEntry[] = []): Map<string, number> {
    return new Map(this.services.workers.all().map((w) => [w.workerId, this.services.freeSlots(w.workerId, this.jobId) - slotsTakenOn(besides, w.workerId)]));
  }

  // ---- attempts -----------------------------------------------------------------------------

  /** Places and deploys the next attempt, restoring the pointer's checkpoint; waits (restarting) while slots are short. */
  async deployAttempt(): Promise<void> {
    // What the attempt restores is the pointer as the store has it: a publish whose answer was lost left it unknown here.
    if (this.completed.isUncertain) {
      try {
        await this.completed.read();
      } catch (error) {
        if (this.disposed) return;
        this.restartAtMs = this.services.clock.now() + this.services.heartbeatIntervalMs;
        this.log.warn('reading the checkpoint pointer failed; deploying again later', { error: errorChainMessage(error) });
        return;
      }
    }
    const placement = placeJob(this.plan, this.freeSlots());
    if (!placement) {
      this.restartAtMs = this.services.clock.now() + this.services.heartbeatIntervalMs;
      const waiting = `not enough free slots (${this.slotsNeeded} needed, ${this.services.workers.totalSlots} in the cluster): waiting for workers`;
      this.log.warn('not enough free slots; waiting for workers', { slotsNeeded: this.slotsNeeded, slotsTotal: this.services.workers.totalSlots });
      if (this.state === 'created' || this.state === 'rescaling') await this.transition('restarting', waiting);
      return;
    }
    const attempt = this.attempt + 1;
    this.attempt = attempt;
    this.placement = placement;
    this.attemptAddresses.clear();
    for (const p of placement) this.attemptAddresses.set(p.workerId, this.services.workers.get(p.workerId)!.rpcAddress);
    // Read now: a worker an RPC error drops from the registry during the awaits below is still placed.
    const placements = placement.map((p) => ({ ...p, dataAddress: this.services.workers.get(p.workerId)!.dataAddress }));
    this.finished.clear();
    this.allFinishedAtMs = undefined;
    this.restartAtMs = undefined;
    // No worker gets an attempt the record does not name: a new leader would not know to cancel it.
    if (!(await this.transition('deploying', `deploying attempt ${attempt}`))) {
      await this.failover(new Error(`recording attempt ${attempt} failed`));
      return;
    }
    const restore = this.restoreSource();
    const splits = restore ? [] : await this.initialSplits();
    const byWorker = new Map<string, PlacementEntry[]>();
    for (const p of placement) {
      let list = byWorker.get(p.workerId);
      if (!list) byWorker.set(p.workerId, (list = []));
      list.push(p);
    }
    this.log.info('deploying attempt', { attempt, restoreFrom: restore?.path ?? null, parallelism: this.slotsNeeded, workers: [...byWorker.keys()] });
    try {
      await Promise.all(
        [...byWorker].map(([workerId, mine]) =>
          this.callWorker({ workerId, rpcAddress: this.attemptAddresses.get(workerId)! }, 'DeployTasks', {
            ...this.deploymentRequest(attempt, placements),
            restorePath: restore?.path ?? '',
            allowNonRestoredState: restore?.allowNonRestoredState ?? false,
            subtasks: mine.map((p) => ({ taskId: p.taskId, subtask: p.subtask })),
            splits: splits.filter((s) => mine.some((p) => p.taskId === s.taskId && p.subtask === s.subtask)),
          }, 60_000),
        ),
      );
    } catch (error) {
      if (this.attempt === attempt && this.state === 'deploying') await this.failover(new Error(`deploying attempt ${attempt} failed: ${errorChainMessage(error)}`));
      return;
    }
    if (this.attempt !== attempt || this.state !== 'deploying' || this.disposed) return;
    this.deployedAtMs = this.services.clock.now();
    await this.transition('running', `every worker deployed attempt ${attempt}`);
    // A leader deposed while the workers deployed goes no further: its checkpointing would clean
    // the storage with its stale view of the pointer.
    if (this.disposed) return;
    this.startCheckpointing();
  }

  /** What every DeployTasks request of an attempt carries (a live rescale sends it to a worker new to the job, with no subtasks). */
  deploymentRequest(attempt: number, placements: readonly Placement[]): DeployTasksRequest {
    return {
      jobId: this.jobId,
      attempt,
      jobName: this.submission.jobName,
      jobSubmittedAtMs: this.submittedAtMs,
      applicationPath: this.submission.applicationPath,
      properties: encodeProperties(this.submission.properties),
      parallelism: this.plan.defaultParallelism,
      maxParallelism: this.plan.maxParallelism,
      checkpointDirectory: this.storage().location,
      stateBackend: this.submission.stateBackend ?? '',
      placements,
      subtasks: [],
      splits: [],
      restorePath: '',
      allowNonRestoredState: false,
    };
  }

  private async initialSplits(): Promise<SourceSplits[]> {
    const out: SourceSplits[] = [];
    for (const task of this.plan.tasks) {
      if (!task.isSource) continue;
      const node = this.plan.graph.node(task.nodeIds[0]!);
      if (node.kind !== 'source') continue;
      const dealt = await discoverAndDeal(node.source, task.parallelism);
      for (let i = 0; i < task.parallelism; i++) out.push({ taskId: task.id, subtask: i, splits: encodeSplitStates(dealt[i]!) });
    }
    return out;
  }

  /** Calls a worker with this leader's epoch; a worker that refuses the epoch deposes this leader, an unreachable one leaves the registry. */
  callWorker<K extends keyof WorkerGatewayMethods>(worker: AttemptWorker, method: K, request: WorkerGatewayMethods[K]['request'], deadlineMs = 10_000): Promise<WorkerGatewayMethods[K]['response']> {
    const options: CallOptions = { epoch: this.services.leadership.epoch, deadlineMs };
    return this.services
      .workerClient(worker.rpcAddress)
      .call(method, request, options)
      .catch((error: unknown) => {
        if (error instanceof StaleEpochError) {
          this.log.warn('a worker rejected this coordinator\'s epoch: stepping down', { worker: worker.workerId, method, epoch: this.services.leadership.epoch });
          this.disposed = true;
          this.services.onFenced(error);
        }
        // Unreachable: forget it until it registers again, so the next placement avoids it.
        if (error instanceof RpcUnavailableError) this.services.workers.remove(worker.workerId);
        throw error;
      });
  }

  /** Workers a live rescale wired into the attempt: calls and cancellations reach them at these addresses. */
  addAttemptWorkers(workerIds: Iterable<string>): void {
    for (const workerId of workerIds) this.attemptAddresses.set(workerId, this.services.workers.get(workerId)!.rpcAddress);
  }

  /** Workers a live rescale took every subtask of the attempt from: their runner is cancelled with the attempt. */
  rescaledAway(workerIds: Iterable<string>): void {
    for (const workerId of workerIds) this.workersRescaledAway.add(workerId);
  }

  private attemptWorkers(): RegisteredWorker[] {
    return [...this.workerIds()].map((id) => this.services.workers.get(id)).filter((w): w is RegisteredWorker => w !== undefined);
  }

  /**
   * Every worker of the attempt, registered or not: one an RPC error dropped from the registry
   * still runs its subtasks, and a trigger or commit that skipped it would be lost.
   */
  private attemptGateways(): AttemptWorker[] {
    return this.gatewaysOf(this.workerIds());
  }

  /** Where each of these workers is reached: its registration, else where the attempt was placed on it. */
  private gatewaysOf(workerIds: Iterable<string>): AttemptWorker[] {
    return [...workerIds]
      .map((workerId) => ({ workerId, rpcAddress: this.services.workers.get(workerId)?.rpcAddress ?? this.attemptAddresses.get(workerId)! }))
      .filter((w) => w.rpcAddress !== undefined);
  }

  /** Cancels the attempt on every worker it ran on, also those a live rescale left without subtasks. */
  async cancelAttempt(reason: string): Promise<void> {
    const workers = this.gatewaysOf(new Set([...this.workerIds(), ...this.workersRescaledAway]));
    this.workersRescaledAway.clear();
    await this.cancelOn(workers, reason);
  }

  /** Cancels the job on every registered worker that reports running it, whatever the placement says. */
  async cancelOnEveryWorkerRunningIt(reason: string): Promise<void> {
    await this.cancelOn(this.services.workers.all().filter((w) => w.running.some((r) => r.jobId === this.jobId)), reason);
  }

  private async cancelOn(workers: readonly AttemptWorker[], reason: string): Promise<void> {
    await Promise.all(
      workers.map((worker) =>
        this.callWorker(worker, 'CancelJob', { jobId: this.jobId, attempt: this.attempt, reason }).catch((error: unknown) =>
          this.log.warn('cancelling on a worker failed', { worker: worker.workerId, error: errorChainMessage(error) }),
        ),
      ),
    );
  }

  /** A subtask failed, a worker was lost, a deployment or commit failed: restart or give up. */
  async failover(cause: Error): Promise<void> {
    if (this.disposed || isTerminal(this.state) || this.state === 'restarting') return;
    this.log.warn('job attempt failed', { attempt: this.attempt, error: errorChainMessage(cause) });
    this.failure = errorChainMessage(cause);
    this.liveRescale = undefined;
    const strategy = this.services.restartStrategy;
    strategy.notifyFailure(cause);
    const restarts = strategy.canRestart();
    if (restarts) this.numRestarts++;
    // No restart is due before the old attempt is cancelled everywhere.
    this.restartAtMs = undefined;
    await this.transition('restarting', `attempt ${this.attempt} failed: ${this.failure}`);
    await this.stopCheckpointing();
    await this.cancelAttempt(`attempt failed: ${this.failure}`);
    if (!restarts) {
      this.log.error('restart strategy exhausted: the job fails', { strategy: strategy.describe() });
      await this.transition('failed', `restart strategy exhausted (${strategy.describe()}): ${this.failure}`);
      return;
    }
    const backoffMs = strategy.backoffTimeMs();
    this.restartAtMs = this.services.clock.now() + backoffMs;
    this.log.info('restarting from the latest checkpoint', { backoffMs, checkpoint: this.completed.latestId ?? null, restarts: this.numRestarts });
  }

  // ---- checkpoints --------------------------------------------------------------------------

  private startCheckpointing(): void {
    const attempt = this.attempt;
    const storage = this.storage();
    this.checkpoints = new CheckpointCoordinator(
      {
        jobName: this.submission.jobName,
        maxParallelism: this.plan.maxParallelism,
        // The placement changes in a live rescale: its checkpoint waits for the old and the added subtasks.
        subtasks: () => this.placement.map((p) => ({ taskId: p.taskId, subtask: p.subtask })),
        allFinished: () => this.finished.size === this.placement.length,
        triggerCheckpoint: (checkpointId) => {
          const rescale = this.rescaleBarrier?.checkpointId === checkpointId ? { splitAssignment: this.rescaleBarrier.splitAssignment } : {};
          for (const worker of this.attemptGateways()) {
            // A trigger that may not have reached its sources fails the checkpoint at once (some
            // tasks would align it forever); the next one is triggered everywhere afresh.
            this.callWorker(worker, 'TriggerCheckpoint', { jobId: this.jobId, attempt, checkpointId, ...rescale }).catch((error: unknown) => {
              this.log.warn('triggering a checkpoint on a worker failed', { worker: worker.workerId, checkpointId, error: errorChainMessage(error) });
              this.checkpoints?.decline(checkpointId, `triggering it on worker ${worker.workerId} failed: ${errorChainMessage(error)}`);
            });
          }
        },
        notifyCheckpointComplete: (checkpointId) => this.notifyCommitted(attempt, checkpointId),
        abortCheckpoint: (checkpointId) => {
          for (const worker of this.attemptGateways()) {
            this.callWorker(worker, 'AbortCheckpoint', { jobId: this.jobId, attempt, checkpointId }).catch((error: unknown) =>
              this.log.warn('aborting a checkpoint on a worker failed', { worker: worker.workerId, checkpointId, error: errorChainMessage(error) }),
            );
          }
        },
        operatorInfo: (uid) => operatorInfoOf(this.plan).get(uid) ?? { name: uid, parallelism: 0, maxParallelism: this.plan.maxParallelism },
      },
      {
        storage,
        clock: this.services.clock,
        logger: this.log.child({ attempt }),
        retainedCheckpoints: this.services.checkpointing.retainedCheckpoints,
        minPauseBetweenCheckpointsMs: this.checkpointing.minPauseBetweenCheckpointsMs,
        lastCheckpointId: this.checkpointIds.current,
        publishCompleted: (metadata) => this.completed.publish(metadata.checkpointId),
        readPublished: () => this.completed.read(),
      },
    );
    this.periodic.start();
    const checkpoints = this.checkpoints;
    const preparing: Promise<void> = checkpoints
      .initialize()
      .catch((error: unknown) => this.log.warn('cleaning the checkpoint storage failed', { location: storage.location, error: errorChainMessage(error) }))
      .finally(() => {
        if (this.preparing === preparing) this.preparing = undefined;
      });
    this.preparing = preparing;
  }

  /** The attempt ends: its pending checkpoints are aborted and nothing more is triggered. */
  async stopCheckpointing(): Promise<void> {
    const checkpoints = this.checkpoints;
    this.checkpoints = undefined;
    this.periodic.stop();
    await checkpoints?.abort();
  }

  /**
   * Tells every worker of the attempt that a checkpoint is committed, retrying each that does
   * not answer (its sinks hold output only this call publishes). One that never answers fails
   * the commit: the job restarts from this checkpoint, and the restore finishes the commit.
   */
  private async notifyCommitted(attempt: number, checkpointId: number): Promise<void> {
    const retries = [200, 1_000, 5_000];
    await Promise.all(
      this.attemptGateways().map(async (worker) => {
        for (let i = 0; ; i++) {
          try {
            await this.callWorker(worker, 'NotifyCheckpointComplete', { jobId: this.jobId, attempt, checkpointId }, 30_000);
            return;
          } catch (error) {
            if (!(error instanceof RpcUnavailableError) || i >= retries.length || this.disposed || this.attempt !== attempt || STATE_MODULES[this.state].attempt !== 'running') throw error;
            this.log.warn('telling a worker of a committed checkpoint failed; retrying', { worker: worker.workerId, checkpointId, retryInMs: retries[i], error: errorChainMessage(error) });
            await new Promise<void>((resolve) => this.services.clock.schedule(retries[i]!, resolve));
          }
        }
      }),
    );
  }

  /**
   * Looks after the attempt's checkpoints on a tick: a fatal checkpoint failure fails over,
   * overdue checkpoints expire. False while checkpoints cannot be taken (none yet, an id being
   * reserved, the storage being cleaned) or after a failover.
   */
  async maintainCheckpoints(): Promise<boolean> {
    const checkpoints = this.checkpoints;
    if (!checkpoints || this.checkpointIds.isReserving || this.preparing) return false;
    if (checkpoints.fatalError) {
      await this.failover(checkpoints.fatalError);
      return false;
    }
    checkpoints.expirePending(this.services.checkpointing.checkpointTimeoutMs);
    return true;
  }

  /** Reserves the next checkpoint id in the HA store (fenced). */
  reserveCheckpointId(): Promise<number> {
    const atLeast = this.checkpoints!.nextId;
    return this.fenced(() => this.checkpointIds.reserve(atLeast));
  }

  /** Triggers a checkpoint: the next id, reserved now, or one reserved before (a live rescale's, with its split assignment). */
  async triggerCheckpoint(reservedId?: number, rescale?: { readonly splitAssignment: SplitAssignmentMessage }): Promise<CompletedCheckpointInfo> {
    const checkpoints = this.checkpoints;
    if (!checkpoints) throw new InvalidRequestError(`job ${this.jobId} is ${this.state}: no attempt takes checkpoints`);
    const id = reservedId ?? (await this.reserveCheckpointId());
    if (this.checkpoints !== checkpoints) throw new Error(`attempt changed before checkpoint ${id} was triggered`);
    if (rescale) this.rescaleBarrier = { checkpointId: id, splitAssignment: rescale.splitAssignment };
    const done = checkpoints.trigger(id);
    if (rescale) done.then(() => (this.rescaleBarrier = undefined), () => (this.rescaleBarrier = undefined));
    done.then(
      (info) => {
        this.checkpointFailures.onCompleted();
        this.latest = info;
      },
      (error: unknown) => {
        if (this.checkpoints !== checkpoints) {
          this.checkpointFailures.onAbortedWithAttempt();
          return;
        }
        const cause = this.checkpointFailures.onFailed(error);
        if (cause) this.failover(cause).catch((e: unknown) => this.log.error('failover after failed checkpoints failed', { error: errorChainMessage(e) }));
      },
    );
    return done;
  }

  /** The periodic checkpoint, when it is due and the checkpoint coordinator can take one. */
  triggerPeriodicCheckpointIfDue(): void {
    if (!this.periodic.isDue || !this.checkpoints?.canTrigger()) return;
    this.periodic.triggered();
    this.triggerCheckpoint().catch(() => {}); // counted and logged by the checkpoint coordinator
  }

  /** Whether every subtask of the attempt has finished (a bounded job read all its input). */
  allSubtasksFinished(): boolean {
    const all = this.finished.size === this.placement.length;
    if (!all) this.allFinishedAtMs = undefined;
    else this.allFinishedAtMs ??= this.services.clock.now();
    return all;
  }

  /** How long every subtask has been finished, as this leader saw it. */
  allFinishedForMs(): number {
    return this.allFinishedAtMs === undefined ? 0 : this.services.clock.now() - this.allFinishedAtMs;
  }

  /** "taskId/subtask" of the finished subtasks: a live rescale gives them no split. */
  get finishedSubtasks(): ReadonlySet<string> {
    return this.finished;
  }

  /** After a live rescale: subtasks that no longer exist are not counted as finished. */
  forgetFinishedOutside(placement: readonly PlacementEntry[]): void {
    for (const key of [...this.finished]) if (!placement.some((p) => `${p.taskId}/${p.subtask}` === key)) this.finished.delete(key);
  }

  /** A snapshot of the checkpoint the pointer names (the job need not run). */
  async snapshotOfLatestCheckpoint(name: string): Promise<SnapshotSummary> {
    return this.copyToSnapshot(await this.latestCheckpointId(`to keep as snapshot ${name}`), name);
  }

  /** Where the checkpoint the pointer names is: what a new job restores to go on from this one (the job need not run). */
  async latestCheckpointPath(): Promise<string> {
    return childLocation(this.storage().location, `chk-${await this.latestCheckpointId('to restore')}`);
  }

  private async latestCheckpointId(what: string): Promise<number> {
    // A job a new leader took over as terminal has not read its pointer.
    const checkpointId = this.completed.latestId === undefined ? await this.completed.load() : await this.completed.settled();
    if (checkpointId === undefined) throw new InvalidRequestError(`job ${this.jobId} has no completed checkpoint ${what}`);
    return checkpointId;
  }

  copyToSnapshot(checkpointId: number, name: string | undefined): Promise<SnapshotSummary> {
    const now = this.services.clock.now();
    const info = { name: name ?? defaultSnapshotName(this.submission.jobName, checkpointId, now), jobId: this.jobId, jobName: this.submission.jobName, checkpointId, createdAtMs: now };
    return this.services.snapshots.create(this.storage(), checkpointId, info);
  }

  // ---- requests -----------------------------------------------------------------------------

  /**
   * Starts the next queued request when none runs and no checkpoint is in flight. Answers whether
   * a request runs: periodic checkpoints wait for it.
   */
  runRequests(): boolean {
    if (this.requests.isRunning) return true;
    if (!this.requests.hasWaiting || this.checkpoints?.isBusy !== false) return false;
    this.requests.runNext((request) => this.runRequest(request));
    return true;
  }

  private async runRequest(request: JobRequest): Promise<void> {
    switch (request.kind) {
      case 'checkpoint': {
        const info = await this.triggerCheckpoint();
        this.requireRunning(info.checkpointId);
        request.done.resolve(info);
        return;
      }
      case 'snapshot': {
        const info = await this.triggerCheckpoint();
        this.requireRunning(info.checkpointId);
        request.done.resolve(await this.copyToSnapshot(info.checkpointId, request.name));
        return;
      }
      case 'stop':
        return stopWithCheckpoint(this, request);
      case 'rescale':
        try {
          request.done.resolve(await runLiveRescale(this, request));
        } catch (error) {
          if (!(error instanceof LiveRescaleRefused)) throw error;
          this.log.info('rescaling by restart: the job cannot be rescaled live', { reason: error.message });
          await rescaleByRestart(this, request, error.message);
        }
        return;
    }
  }

  private requireRunning(checkpointId: number): void {
    if (this.state !== 'running') throw new InvalidRequestError(`the job became ${this.state} while checkpoint ${checkpointId} was taken`);
  }

  recordRescale(result: RescaleResult): void {
    this.lastRescale = result;
    this.log.info(result.mode === 'live' ? 'rescaled live' : 'rescaled', { ...result });
  }

  // ---- what workers and users tell the job ----------------------------------------------------

  onAcknowledge(request: Omit<AcknowledgeCheckpointRequest, 'jobId'>): void {
    if (request.attempt !== this.attempt || !this.checkpoints) return;
    const handles = new Map<string, SubtaskStateHandle>();
    for (const s of request.states) {
      handles.set(s.uid, { subtask: s.subtask, file: s.file, bytes: s.bytes, sha256: s.sha256, ...(s.shared && s.shared.length > 0 ? { shared: [...s.shared] } : {}) });
    }
    this.checkpoints.acknowledge(request.checkpointId, { taskId: request.taskId, subtask: request.subtask, handles });
  }

  onSubtasksFinished(attempt: number, subtasks: readonly SubtaskRef[]): void {
    if (attempt !== this.attempt) return;
    for (const s of subtasks) this.finished.add(`${s.taskId}/${s.subtask}`);
  }

  async onTaskFailure(attempt: number, workerId: string, message: string): Promise<void> {
    if (attempt !== this.attempt) return;
    await this.failover(new Error(`a subtask on worker ${workerId} failed: ${message}`));
  }

  async onWorkerLost(workerId: string): Promise<void> {
    if (!this.workerIds().has(workerId) || this.state === 'restarting') return;
    await this.failover(new Error(`worker ${workerId} stopped sending heartbeats`));
  }

  /** Reads a heartbeat: finished subtasks, and whether the worker still runs what it should. */
  async onHeartbeat(worker: RegisteredWorker): Promise<void> {
    if (STATE_MODULES[this.state].attempt !== 'running' || !this.workerIds().has(worker.workerId)) return;
    this.observeHeartbeat(worker);
    const report = worker.running.find((r) => r.jobId === this.jobId && r.attempt === this.attempt);
    const settled = this.services.clock.now() - this.deployedAtMs > 2 * this.services.heartbeatIntervalMs;
    if (!report && settled) await this.failover(new Error(`worker ${worker.workerId} no longer runs attempt ${this.attempt}`));
  }

  private observeHeartbeat(worker: RegisteredWorker): void {
    const report = worker.running.find((r: RunningAttemptReport) => r.jobId === this.jobId && r.attempt === this.attempt);
    for (const s of report?.subtasks ?? []) if (s.state === 'finished') this.finished.add(`${s.taskId}/${s.subtask}`);
  }

  async cancel(): Promise<void> {
    if (isTerminal(this.state)) return;
    await this.stopCheckpointing();
    if (isTerminal(this.state)) return;
    this.liveRescale = undefined;
    await this.transition('cancelled', 'cancelled by the user');
    await this.cancelAttempt('cancelled by the user');
  }

  /**
   * Takes a last checkpoint (its sinks commit), then cancels; with `snapshot`, copies that
   * checkpoint into a snapshot a later submit restores from.
   */
  stop(options: { snapshot?: boolean; name?: string } = {}): Promise<StopResult> {
    if (!this.takesRequests) {
      if (options.snapshot) return Promise.reject(new InvalidRequestError(`job ${this.jobId} is ${this.state}; only a running job stops with a snapshot`));
      return this.cancel().then(() => ({ jobId: this.jobId, state: this.state, checkpointId: this.completed.latestId ?? 0, snapshot: null }));
    }
    return this.requests.enqueue((done) => ({ kind: 'stop', snapshot: options.snapshot === true, name: options.name, done }));
  }

  /** Requests queue while an attempt runs (also mid-rescale, -stop or -finish); they run when the job is running. */
  private get takesRequests(): boolean {
    return STATE_MODULES[this.state].attempt === 'running';
  }

  /** Takes a checkpoint now (besides the periodic ones); resolves once it is complete and committed. */
  checkpoint(): Promise<CompletedCheckpointInfo> {
    if (!this.takesRequests) return Promise.reject(new InvalidRequestError(`job ${this.jobId} is ${this.state}; only a running job takes a checkpoint`));
    return this.requests.enqueue((done) => ({ kind: 'checkpoint', done }));
  }

  /** Takes a checkpoint and copies it into a snapshot (Flink's savepoint) named `name`. */
  snapshot(name?: string): Promise<SnapshotSummary> {
    if (!this.takesRequests) return Promise.reject(new InvalidRequestError(`job ${this.jobId} is ${this.state}; only a running job takes a snapshot`));
    return this.requests.enqueue((done) => ({ kind: 'snapshot', name, done }));
  }

  /** Changes the parallelism of the running job: live when its shape allows (states/live-rescale.ts), else by restart (states/rescaling.ts). */
  rescale(parallelism: number): Promise<RescaleResult> {
    if (!this.takesRequests) return Promise.reject(new InvalidRequestError(`job ${this.jobId} is ${this.state}; only a running job is rescaled`));
    if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > this.plan.maxParallelism) {
      return Promise.reject(new InvalidRequestError(`parallelism: must be an integer in [1, ${this.plan.maxParallelism}] (the job's max parallelism), got ${JSON.stringify(parallelism)}`));
    }
    const needed = slotsOf(this.planFor(parallelism));
    const free = this.services.workers.all().reduce((sum, w) => sum + this.services.freeSlots(w.workerId, this.jobId), 0);
    if (needed > free) return Promise.reject(new InvalidRequestError(`parallelism: ${parallelism} needs ${needed} slots; the cluster has ${free} for this job`));
    return this.requests.enqueue((done) => ({ kind: 'rescale', parallelism, requestedAtMs: this.services.clock.now(), done }));
  }

  /** This coordinator lost the leadership: forget the job without touching any worker. */
  dispose(): void {
    this.disposed = true;
    this.checkpoints = undefined;
  }

  getStatus(): JobStatusView {
    const subtasks: Array<RunningSubtask & { workerId: string }> = [];
    for (const worker of this.attemptWorkers()) {
      const report = worker.running.find((r) => r.jobId === this.jobId && r.attempt === this.attempt);
      for (const s of report?.subtasks ?? []) subtasks.push({ ...s, workerId: worker.workerId });
    }
    subtasks.sort((a, b) => a.taskId - b.taskId || a.subtask - b.subtask);
    return {
      jobId: this.jobId,
      jobName: this.submission.jobName,
      state: this.state,
      attempt: this.attempt,
      parallelism: this.slotsNeeded,
      maxParallelism: this.plan.maxParallelism,
      numRestarts: this.numRestarts,
      failure: this.failure ?? null,
      submittedAtMs: this.submittedAtMs,
      checkpoints: {
        completed: this.checkpointFailures.counts.completed,
        failed: this.checkpointFailures.counts.failed,
        consecutiveFailed: this.checkpointFailures.counts.consecutiveFailed,
        inProgress: this.checkpoints?.pendingCheckpointId ?? null,
        latest: this.latest ?? null,
        pointer: this.completed.latestId ?? null,
        periodic: { enabled: this.checkpointing.enabled, intervalMs: this.checkpointing.checkpointIntervalMs, minPauseMs: this.checkpointing.minPauseBetweenCheckpointsMs, source: this.checkpointing.source },
      },
      tasks: this.plan.tasks.map((t) => ({ id: t.id, name: t.name, parallelism: t.parallelism, isSource: t.isSource })),
      edges: this.plan.tasks.flatMap((t) => t.inputs.map((e) => ({ fromTaskId: this.plan.taskOfNode.get(e.sourceId)!, toTaskId: t.id, partitioning: e.partitioning }))),
      subtasks,
      lastRescale: this.lastRescale ?? null,
      transitions: this.transitions,
    };
  }
}

/**
 * A job's checkpoint settings. Its submission's (an application's CheckpointConfiguration) win;
 * else the interval the application's code asked for with enableCheckpointing(); else the
 * cluster's. The storage, retention, timeout and tolerated failures are the cluster's.
 */
export function checkpointingOf(submission: JobSubmission, env: StreamExecutionEnvironment, cluster: CheckpointingSettings): JobController['checkpointing'] {
  if (submission.checkpointing) {
    const { enabled, intervalMs, minPauseMs } = submission.checkpointing;
    return { ...cluster, enabled, checkpointIntervalMs: intervalMs, minPauseBetweenCheckpointsMs: minPauseMs, source: 'submission' };
  }
  const asked = env.settings.checkpointIntervalMs;
  if (asked !== undefined) return { ...cluster, enabled: true, checkpointIntervalMs: asked, source: 'application' };
  return { ...cluster, enabled: true, source: 'cluster' };
}
