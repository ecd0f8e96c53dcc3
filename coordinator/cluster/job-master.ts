// One job on the leader coordinator (Flink's JobMaster): places its subtasks on worker slots,
// deploys attempts, drives checkpoints across the workers and commits them in the fixed order
// (state files → `_metadata` → fenced pointer in the HA store → sinks commit), and handles
// failures with the restart strategy: cancel the attempt everywhere, wait the backoff, deploy the
// next attempt restoring the latest completed checkpoint. Every call to a worker carries the
// leader epoch; every write to the HA store is fenced by it.

import type { StreamExecutionEnvironment } from '../../shared/api/environment.ts';
import type { Clock } from '../../shared/clock.ts';
import { errorChainMessage, FencedError, InvalidRequestError, StaleEpochError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import { RpcUnavailableError } from '../../shared/rpc/rpc.ts';
import { liveRescaleRefusal, planJob, type JobPlan } from '../../shared/plan/job-plan.ts';
import type { RescaleCompletion } from '../../shared/rpc/worker-reports.ts';
import { operatorInfoOf } from '../../shared/plan/operator-info.ts';
import { assignSplits, discoverAndDeal } from '../../shared/plan/split-assignment.ts';
import { CheckpointCoordinator, type CompletedCheckpointInfo } from '../../shared/checkpoint/checkpoint-coordinator.ts';
import { CheckpointFailureManager } from '../checkpoint/checkpoint-failure-manager.ts';
import { CheckpointIdCounter } from '../checkpoint/checkpoint-id-counter.ts';
import { CompletedCheckpointStore } from '../checkpoint/completed-checkpoint-store.ts';
import type { SubtaskStateHandle } from '../../shared/checkpoint/checkpoint-metadata.ts';
import { childLocation, openCheckpointStorage, type ObjectStoreCheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import { defaultSnapshotName, type SnapshotCatalog, type SnapshotSummary } from '../../shared/checkpoint/snapshots.ts';
import type { HighAvailabilityServices, Leadership } from '../ha/high-availability-services.ts';
import type { RestartStrategy } from '../scheduler/restart-strategy.ts';
import { placeBesides, placeJob, slotsOf, slotsTakenOn, type PlacementEntry } from '../scheduler/slot-placement.ts';
import { checkpointCounterKey, checkpointPointerKey, jobKey, type JobRecord, type JobSubmission } from './job-record.ts';
import { checkTransition, isTerminal, TRANSITIONS_KEPT, type JobState, type JobTransition } from '../job/job-states.ts';
import type { RegisteredWorker, RunningAttemptReport, RunningSubtask } from './worker-registry.ts';
import type { WorkerRegistry } from './worker-registry.ts';

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
export interface WorkerGatewayClient {
  call(method: string, request: object, options: { epoch?: number; deadlineMs?: number }): Promise<unknown>;
}

/** A worker of the attempt, by the address it had when the attempt was placed on it. */
interface AttemptWorker {
  readonly workerId: string;
  readonly rpcAddress: string;
}

/** A live rescale in flight, persisted in the job record at each step so a new leader can tell it from a running job. */
export interface LiveRescaleProgress {
  readonly phase: 'preparing' | 'switching' | 'completing';
  readonly from: number;
  readonly to: number;
  /** The checkpoint whose barrier switches the job: once the pointer reaches it, the job is at `to`. */
  readonly checkpointId: number;
}

export interface JobMasterServices {
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
    readonly inProgress: number | null;
    readonly latest: CompletedCheckpointInfo | null;
    readonly pointer: number | null;
  };
  readonly subtasks: ReadonlyArray<RunningSubtask & { readonly workerId: string }>;
  readonly lastRescale: RescaleResult | null;
  /** How the job got to its state: the latest transitions, oldest first. */
  readonly transitions: readonly JobTransition[];
}

export interface RescaleResult {
  readonly from: number;
  readonly to: number;
  /**
   * 'live': the attempt went on running; only key groups and splits that changed owner paused.
   * 'restart': the attempt was replaced by one at the new parallelism (the job's shape did not allow live).
   */
  readonly mode: 'live' | 'restart';
  /** Live: the checkpoint whose barrier switched the job. Restart: the checkpoint the new attempt restored from. */
  readonly checkpointId: number;
  /**
   * Live: the longest any key group that changed owner waited for its state, from its worker's
   * rescale barrier. Restart: from the checkpoint's completion to the new attempt running, when
   * every key group paused.
   */
  readonly pauseMs: number;
  /** From the request to the rescale being done. */
  readonly totalMs: number;
  /** Live only: key groups and splits that changed owner, records held back meanwhile. */
  readonly keyGroupsMoved?: number;
  /** Of the key groups moved, those staged by their new owner ahead of the switch and unchanged since: read before the pause, not in it. */
  readonly keyGroupsStaged?: number;
  readonly splitsMoved?: number;
  readonly stashedRecords?: number;
  /** Why a live rescale was not possible, when mode is 'restart'. */
  readonly reason?: string;
}

export interface StopResult {
  readonly jobId: string;
  readonly state: JobState;
  /** The checkpoint taken on the way out. */
  readonly checkpointId: number;
  readonly snapshot: SnapshotSummary | null;
}

/** Work that takes a checkpoint first; run one at a time, between periodic checkpoints. */
type JobAction =
  | { readonly kind: 'checkpoint'; readonly done: Settle<CompletedCheckpointInfo> }
  | { readonly kind: 'snapshot'; readonly name: string | undefined; readonly done: Settle<SnapshotSummary> }
  | { readonly kind: 'stop'; readonly snapshot: boolean; readonly name: string | undefined; readonly done: Settle<StopResult> }
  | { readonly kind: 'rescale'; readonly parallelism: number; readonly requestedAtMs: number; readonly done: Settle<RescaleResult> };

interface Settle<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

export class JobMaster {
  private state: JobState = 'created';
  private attempt = 0;
  private placement: PlacementEntry[] = [];
  private numRestarts = 0;
  private failure: string | undefined;
  private checkpoints: CheckpointCoordinator | undefined;
  private readonly checkpointFailures: CheckpointFailureManager;
  private readonly checkpointIds: CheckpointIdCounter;
  private latest: CompletedCheckpointInfo | undefined;
  private readonly completed: CompletedCheckpointStore;
  private nextCheckpointAtMs = Number.POSITIVE_INFINITY;
  private restartAtMs: number | undefined;
  private deployedAtMs = 0;
  private readonly finished = new Set<string>();
  private finalCheckpointTriggered = false;
  private readonly actions: JobAction[] = [];
  private actionRunning = false;
  private lastRescale: RescaleResult | undefined;
  /** Set from the first step of a live rescale to its last, and persisted with each step. */
  private liveRescale: LiveRescaleProgress | undefined;
  /** The workers of the current attempt and the addresses it was placed at (a worker an RPC error dropped from the registry is still one). */
  private readonly attemptAddresses = new Map<string, string>();
  private disposed = false;
  private readonly log: Logger;
  private parallelism: number | undefined;
  plan: JobPlan;
  slotsNeeded: number;

  constructor(
    readonly submission: JobSubmission,
    private readonly env: StreamExecutionEnvironment,
    private readonly services: JobMasterServices,
    private readonly submittedAtMs: number,
  ) {
    this.parallelism = submission.parallelism;
    this.plan = this.planFor(submission.parallelism);
    this.slotsNeeded = slotsOf(this.plan);
    this.log = services.logger.child({ application: submission.jobName, job: submission.jobId, epoch: services.leadership.epoch });
    this.checkpointFailures = new CheckpointFailureManager(services.checkpointing.tolerableFailedCheckpoints);
    this.checkpointIds = new CheckpointIdCounter(services.ha, services.leadership, checkpointCounterKey(submission.jobId));
    this.completed = new CompletedCheckpointStore(services.ha, services.leadership, checkpointPointerKey(submission.jobId), this.log, (write) => this.fenced(write));
  }

  /** The plan at a parallelism (the application's own when undefined). */
  planFor(parallelism: number | undefined): JobPlan {
    return planJob(this.env.graph, this.env.settings, {
      jobName: this.submission.jobName,
      ...(parallelism ? { parallelism } : {}),
      ...(this.submission.maxParallelism ? { maxParallelism: this.submission.maxParallelism } : {}),
    });
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

  /** Workers this job's current attempt runs on. */
  workerIds(): Set<string> {
    return new Set(this.placement.map((p) => p.workerId));
  }

  slotsUsedOn(workerId: string): number {
    if (isTerminal(this.state) || this.state === 'restarting' || this.state === 'rescaling') return 0;
    return slotsTakenOn(this.placement, workerId);
  }

  /** The latest transitions, oldest first (kept in the job record). */
  private transitions: JobTransition[] = [];

  /** The one way the state changes: checked against the table, logged, and kept for the job record. */
  private transition(to: JobState, reason: string): void {
    checkTransition(this.jobId, this.state, to);
    const change: JobTransition = { from: this.state, to, reason, atMs: this.services.clock.now() };
    this.log.info('job state changed', { from: change.from, to, reason, attempt: this.attempt });
    this.transitions = [...this.transitions, change].slice(-TRANSITIONS_KEPT);
    this.state = to;
    if (isTerminal(to)) {
      for (const action of this.actions.splice(0)) action.done.reject(new InvalidRequestError(`job ${this.jobId} became ${to} before the ${action.kind} ran`));
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
      ...(this.liveRescale ? { liveRescale: this.liveRescale } : {}),
      transitions: this.transitions,
    };
  }

  private async persist(): Promise<void> {
    await this.fenced(() => this.services.ha.putFenced(this.services.leadership, jobKey(this.jobId), JSON.stringify(this.record())));
  }

  /** Runs a fenced write; a refusal means this coordinator lost the leadership. */
  private async fenced<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (error instanceof FencedError) {
        this.disposed = true;
        this.services.onFenced(error);
      }
      throw error;
    }
  }

  /** A new submission: records it, then deploys the first attempt. */
  async start(): Promise<void> {
    await this.persist();
    await this.loadPointers();
    await this.deploy();
  }

  /**
   * Takes over a job from an earlier leader's record. If every subtask of the recorded attempt is
   * reported running by a registered worker, the attempt is adopted as it runs (its state is
   * consistent with the last checkpoint: nothing was lost in the meantime, since sinks commit only
   * what a completed checkpoint covers); otherwise the job restarts from the latest checkpoint.
   */
  async takeOver(record: JobRecord): Promise<'adopted' | 'restarted' | 'terminal'> {
    this.attempt = record.attempt;
    this.placement = [...record.placement];
    this.numRestarts = record.numRestarts;
    this.failure = record.failure;
    // Resumed, not changed: the state the previous leader recorded, and how it got there.
    this.state = record.state;
    this.transitions = [...(record.transitions ?? [])];
    if (isTerminal(this.state)) return 'terminal';
    await this.loadPointers();
    for (const p of this.placement) {
      const address = this.services.workers.get(p.workerId)?.rpcAddress;
      if (address !== undefined) this.attemptAddresses.set(p.workerId, address);
    }
    if (record.liveRescale) return this.completeInterruptedRescale(record.liveRescale);
    const missing = this.subtasksNotReported();
    if (this.state === 'running' && missing.length === 0) {
      this.log.info('adopted the running attempt from the previous leader', { attempt: this.attempt, placement: this.placement.length });
      for (const w of this.services.workers.all()) this.observeHeartbeat(w);
      this.startCheckpointing();
      return 'adopted';
    }
    this.log.info('restarting the job after the leader change', { attempt: this.attempt, state: this.state, missingSubtasks: missing.slice(0, 10) });
    this.transition(
      'restarting',
      this.state === 'running' ? `leader change: ${missing.length} subtask(s) of attempt ${this.attempt} no longer reported by any worker` : `leader change while the job was ${this.state}`,
    );
    this.restartAtMs = this.services.clock.now();
    this.numRestarts++;
    return 'restarted';
  }

  /**
   * The previous leader was in the middle of a live rescale: its workers are wired for a switch
   * this leader knows too little of to finish, so the job restarts from the pointer, at the new
   * parallelism once the rescale's checkpoint is the pointer's (the switch happened) and at the
   * old one before. Adopting instead would run subtasks this leader's checkpoints do not count.
   */
  private async completeInterruptedRescale(rescale: LiveRescaleProgress): Promise<'restarted'> {
    const pointer = this.completed.latestId;
    const switched = pointer !== undefined && pointer >= rescale.checkpointId;
    const parallelism = switched ? rescale.to : rescale.from;
    this.log.info('a live rescale was in flight at the leader change: restarting from the latest checkpoint', { ...rescale, pointer: pointer ?? null, parallelism });
    this.parallelism = parallelism;
    this.plan = this.planFor(parallelism);
    this.slotsNeeded = slotsOf(this.plan);
    this.transition(
      'restarting',
      `leader change during a live rescale ${rescale.from} → ${rescale.to} (${rescale.phase}): ${switched ? `its checkpoint ${rescale.checkpointId} is the pointer's, so at ${rescale.to}` : `its checkpoint ${rescale.checkpointId} never became the pointer's, so back at ${rescale.from}`}`,
    );
    this.restartAtMs = this.services.clock.now();
    this.numRestarts++;
    // The added subtasks may run on workers the recorded placement does not name.
    const running = this.services.workers.all().filter((w) => w.running.some((r) => r.jobId === this.jobId));
    await Promise.all(
      running.map((worker) =>
        this.callWorker(worker, 'CancelJob', { jobId: this.jobId, attempt: this.attempt, reason: 'a live rescale was interrupted by a leader change' }).catch((error: unknown) =>
          this.log.warn('cancelling on a worker failed', { worker: worker.workerId, error: errorChainMessage(error) }),
        ),
      ),
    );
    return 'restarted';
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

  private checkpointStorage: ObjectStoreCheckpointStorage | undefined;

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
  private freeSlots(besides: readonly PlacementEntry[] = []): Map<string, number> {
    return new Map(this.services.workers.all().map((w) => [w.workerId, this.services.freeSlots(w.workerId, this.jobId) - slotsTakenOn(besides, w.workerId)]));
  }

  private async deploy(): Promise<void> {
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
      const waiting = `not enough free slots (${this.slotsNeeded} needed, ${this.services.workers.totalSlots} in the cluster): waiting for workers`;
      if (this.state === 'created' || this.state === 'rescaling') this.transition('restarting', waiting);
      this.restartAtMs = this.services.clock.now() + this.services.heartbeatIntervalMs;
      this.log.warn('not enough free slots; waiting for workers', { slotsNeeded: this.slotsNeeded, slotsTotal: this.services.workers.totalSlots });
      return;
    }
    this.transition('deploying', `deploying attempt ${this.attempt + 1}`);
    this.attempt++;
    this.placement = placement;
    this.attemptAddresses.clear();
    for (const p of placement) this.attemptAddresses.set(p.workerId, this.services.workers.get(p.workerId)!.rpcAddress);
    // Read now: a worker an RPC error drops from the registry during the awaits below is still placed.
    const placements = placement.map((p) => ({ ...p, dataAddress: this.services.workers.get(p.workerId)!.dataAddress }));
    this.finished.clear();
    this.finalCheckpointTriggered = false;
    this.restartAtMs = undefined;
    await this.persist();
    const attempt = this.attempt;
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
    this.transition('running', `every worker deployed attempt ${attempt}`);
    this.deployedAtMs = this.services.clock.now();
    // A leader deposed while the workers deployed goes no further: its checkpointing would clean
    // the storage with its stale view of the pointer.
    await this.persist().catch((error: unknown) => this.log.warn('recording the running attempt failed', { attempt, error: errorChainMessage(error) }));
    if (this.disposed) return;
    this.startCheckpointing();
  }

  /** What every DeployTasks request of an attempt carries (a live rescale sends it to a worker new to the job, with no subtasks). */
  private deploymentRequest(attempt: number, placements: ReadonlyArray<PlacementEntry & { dataAddress: string }>) {
    return {
      jobId: this.jobId,
      attempt,
      jobName: this.submission.jobName,
      jobSubmittedAtMs: this.submittedAtMs,
      applicationPath: this.submission.applicationPath,
      propertiesJson: JSON.stringify(this.submission.properties),
      parallelism: this.plan.defaultParallelism,
      maxParallelism: this.plan.maxParallelism,
      checkpointDirectory: this.storage().location,
      stateBackend: this.submission.stateBackend ?? '',
      placements,
      subtasks: [] as Array<{ taskId: number; subtask: number }>,
    };
  }

  private async initialSplits(): Promise<Array<{ taskId: number; subtask: number; splitsJson: string }>> {
    const out: Array<{ taskId: number; subtask: number; splitsJson: string }> = [];
    for (const task of this.plan.tasks) {
      if (!task.isSource) continue;
      const node = this.plan.graph.node(task.nodeIds[0]!);
      if (node.kind !== 'source') continue;
      const dealt = await discoverAndDeal(node.source, task.parallelism);
      for (let i = 0; i < task.parallelism; i++) out.push({ taskId: task.id, subtask: i, splitsJson: JSON.stringify(dealt[i]) });
    }
    return out;
  }

  private callWorker(worker: AttemptWorker, method: string, request: object, deadlineMs = 10_000): Promise<unknown> {
    return this.services
      .workerClient(worker.rpcAddress)
      .call(method, request, { epoch: this.services.leadership.epoch, deadlineMs })
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
            if (!(error instanceof RpcUnavailableError) || i >= retries.length || this.disposed || this.attempt !== attempt || this.state !== 'running') throw error;
            this.log.warn('telling a worker of a committed checkpoint failed; retrying', { worker: worker.workerId, checkpointId, retryInMs: retries[i], error: errorChainMessage(error) });
            await new Promise<void>((resolve) => this.services.clock.schedule(retries[i]!, resolve));
          }
        }
      }),
    );
  }

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
          const rescale = this.rescaleBarrier?.checkpointId === checkpointId ? { splitAssignmentJson: this.rescaleBarrier.splitAssignmentJson } : {};
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
        minPauseBetweenCheckpointsMs: this.services.checkpointing.minPauseBetweenCheckpointsMs,
        lastCheckpointId: this.checkpointIds.current,
        publishCompleted: (metadata) => this.completed.publish(metadata.checkpointId),
        readPublished: () => this.completed.read(),
      },
    );
    this.nextCheckpointAtMs = this.services.clock.now() + this.services.checkpointing.checkpointIntervalMs;
    const checkpoints = this.checkpoints;
    const preparing: Promise<void> = checkpoints
      .initialize()
      .catch((error: unknown) => this.log.warn('cleaning the checkpoint storage failed', { location: storage.location, error: errorChainMessage(error) }))
      .finally(() => {
        if (this.preparing === preparing) this.preparing = undefined;
      });
    this.preparing = preparing;
  }

  /** The checkpoint storage is being cleaned for a new attempt: no checkpoint until it is done. */
  private preparing: Promise<void> | undefined;

  /** Reserves the next checkpoint id in the HA store (fenced). */
  private async reserveCheckpointId(): Promise<number> {
    const atLeast = this.checkpoints!.nextId;
    return this.fenced(() => this.checkpointIds.reserve(atLeast));
  }

  /** Triggers a checkpoint: the next id, reserved now, or one reserved before. */
  private async triggerCheckpoint(reservedId?: number): Promise<CompletedCheckpointInfo> {
    const checkpoints = this.checkpoints!;
    const id = reservedId ?? (await this.reserveCheckpointId());
    if (this.checkpoints !== checkpoints) throw new Error(`attempt changed before checkpoint ${id} was triggered`);
    const done = checkpoints.trigger(id);
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

  /** When this leader first saw every subtask finished (undefined while some still run). */
  private allFinishedAtMs: number | undefined;

  /** Called often by the dispatcher: checkpoints, expiry, restarts, the end of a bounded job. */
  async tick(): Promise<void> {
    if (this.disposed || isTerminal(this.state)) return;
    const now = this.services.clock.now();
    if (this.state === 'restarting' && this.restartAtMs !== undefined && now >= this.restartAtMs) {
      this.restartAtMs = undefined;
      await this.deploy();
      return;
    }
    if (this.state !== 'running' || !this.checkpoints || this.checkpointIds.isReserving || this.preparing) return;
    const checkpoints = this.checkpoints;
    if (checkpoints.fatalError) {
      await this.failover(checkpoints.fatalError);
      return;
    }
    checkpoints.expirePending(this.services.checkpointing.checkpointTimeoutMs);
    const allFinished = this.finished.size === this.placement.length;
    // Every subtask finished while a checkpoint waited for acknowledgements that may never come
    // (a lost report): it would hold the final checkpoint, and the end of the job, until it expired.
    const waiting = checkpoints.pendingCheckpointId;
    if (allFinished && waiting !== undefined && !this.finalCheckpointTriggered && now - (this.allFinishedAtMs ??= now) >= this.services.checkpointing.checkpointIntervalMs) {
      checkpoints.decline(waiting, 'every subtask finished while it waited for acknowledgements; the final checkpoint replaces it');
    }
    if (!allFinished) this.allFinishedAtMs = undefined;
    if (allFinished && !this.finalCheckpointTriggered && !checkpoints.isBusy) {
      this.finalCheckpointTriggered = true;
      this.triggerCheckpoint()
        .then(
          () => this.finish(),
          (error: unknown) => {
            this.finalCheckpointTriggered = false;
            this.log.warn('the final checkpoint failed; retrying', { error: errorChainMessage(error) });
          },
        )
        .catch((error: unknown) => this.log.error('finishing the job failed', { error: errorChainMessage(error) }));
      return;
    }
    if (this.actionRunning) return;
    if (this.actions.length > 0 && !checkpoints.isBusy) {
      const action = this.actions.shift()!;
      this.actionRunning = true;
      this.runAction(action)
        .catch((error: unknown) => action.done.reject(error instanceof Error ? error : new Error(String(error))))
        .finally(() => (this.actionRunning = false));
      return;
    }
    if (!allFinished && now >= this.nextCheckpointAtMs && checkpoints.canTrigger()) {
      this.nextCheckpointAtMs = now + this.services.checkpointing.checkpointIntervalMs;
      this.triggerCheckpoint().catch(() => {}); // counted and logged by the checkpoint coordinator
    }
  }

  /**
   * The final checkpoint is complete and committed: the job is finished. The state changes
   * before the attempt is cancelled, so the heartbeats that no longer list it fail nothing.
   */
  private async finish(): Promise<void> {
    if (this.state !== 'running') return;
    this.transition('finished', 'every subtask finished and the final checkpoint committed');
    await this.persist().catch(() => {});
    await this.cancelAttempt('finished');
  }

  /** A subtask failed, a worker was lost, a deployment or commit failed: restart or give up. */
  async failover(cause: Error): Promise<void> {
    if (this.disposed || isTerminal(this.state) || this.state === 'restarting') return;
    this.log.warn('job attempt failed', { attempt: this.attempt, error: errorChainMessage(cause) });
    this.transition('restarting', `attempt ${this.attempt} failed: ${errorChainMessage(cause)}`);
    this.failure = errorChainMessage(cause);
    await this.checkpoints?.abort();
    this.checkpoints = undefined;
    await this.cancelAttempt(`attempt failed: ${this.failure}`);
    const strategy = this.services.restartStrategy;
    strategy.notifyFailure(cause);
    if (!strategy.canRestart()) {
      this.log.error('restart strategy exhausted: the job fails', { strategy: strategy.describe() });
      this.transition('failed', `restart strategy exhausted (${strategy.describe()}): ${errorChainMessage(cause)}`);
      await this.persist().catch(() => {});
      return;
    }
    this.numRestarts++;
    const backoffMs = strategy.backoffTimeMs();
    this.restartAtMs = this.services.clock.now() + backoffMs;
    this.log.info('restarting from the latest checkpoint', { backoffMs, checkpoint: this.completed.latestId ?? null, restarts: this.numRestarts });
    await this.persist().catch(() => {});
  }

  private async cancelAttempt(reason: string): Promise<void> {
    // Every worker the attempt ran on, also those a live rescale left without subtasks.
    const workers = this.gatewaysOf(new Set([...this.workerIds(), ...this.rescaledAway]));
    this.rescaledAway.clear();
    await Promise.all(
      workers.map((worker) =>
        this.callWorker(worker, 'CancelJob', { jobId: this.jobId, attempt: this.attempt, reason }).catch((error: unknown) =>
          this.log.warn('cancelling on a worker failed', { worker: worker.workerId, error: errorChainMessage(error) }),
        ),
      ),
    );
  }

  onAcknowledge(request: { attempt: number; checkpointId: number; taskId: number; subtask: number; states: Array<SubtaskStateHandle & { uid: string }> }): void {
    if (request.attempt !== this.attempt || !this.checkpoints) return;
    const handles = new Map<string, SubtaskStateHandle>();
    for (const s of request.states) {
      handles.set(s.uid, { subtask: s.subtask, file: s.file, bytes: s.bytes, sha256: s.sha256, ...(s.shared && s.shared.length > 0 ? { shared: [...s.shared] } : {}) });
    }
    this.checkpoints.acknowledge(Number(request.checkpointId), { taskId: request.taskId, subtask: request.subtask, handles });
  }

  onSubtasksFinished(attempt: number, subtasks: ReadonlyArray<{ taskId: number; subtask: number }>): void {
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
    if (this.state !== 'running' || !this.workerIds().has(worker.workerId)) return;
    this.observeHeartbeat(worker);
    const report = worker.running.find((r) => r.jobId === this.jobId && r.attempt === this.attempt);
    const settled = this.services.clock.now() - this.deployedAtMs > 2 * this.services.heartbeatIntervalMs;
    if (!report && settled) await this.failover(new Error(`worker ${worker.workerId} no longer runs attempt ${this.attempt}`));
  }

  private observeHeartbeat(worker: RegisteredWorker): void {
    const report = worker.running.find((r: RunningAttemptReport) => r.jobId === this.jobId && r.attempt === this.attempt);
    for (const s of report?.subtasks ?? []) if (s.state === 'finished') this.finished.add(`${s.taskId}/${s.subtask}`);
  }

  cancel(): Promise<void> {
    return this.terminate('cancelled');
  }

  private async terminate(to: 'cancelled'): Promise<void> {
    if (isTerminal(this.state)) return;
    await this.checkpoints?.abort();
    this.checkpoints = undefined;
    if (isTerminal(this.state)) return;
    this.transition(to, 'cancelled by the user');
    await this.cancelAttempt('cancelled by the user');
    await this.persist();
  }

  /**
   * Takes a last checkpoint (its sinks commit), then cancels; with `snapshot`, copies that
   * checkpoint into a snapshot a later submit restores from.
   */
  stop(options: { snapshot?: boolean; name?: string } = {}): Promise<StopResult> {
    if (this.state !== 'running') {
      if (options.snapshot) return Promise.reject(new InvalidRequestError(`job ${this.jobId} is ${this.state}; only a running job stops with a snapshot`));
      return this.cancel().then(() => ({ jobId: this.jobId, state: this.state, checkpointId: this.completed.latestId ?? 0, snapshot: null }));
    }
    return this.enqueue((done) => ({ kind: 'stop', snapshot: options.snapshot === true, name: options.name, done }));
  }

  /** Takes a checkpoint now (besides the periodic ones); resolves once it is complete and committed. */
  checkpoint(): Promise<CompletedCheckpointInfo> {
    if (this.state !== 'running') return Promise.reject(new InvalidRequestError(`job ${this.jobId} is ${this.state}; only a running job takes a checkpoint`));
    return this.enqueue((done) => ({ kind: 'checkpoint', done }));
  }

  /** Takes a checkpoint and copies it into a snapshot (Flink's savepoint) named `name`. */
  snapshot(name?: string): Promise<SnapshotSummary> {
    if (this.state !== 'running') return Promise.reject(new InvalidRequestError(`job ${this.jobId} is ${this.state}; only a running job takes a snapshot`));
    return this.enqueue((done) => ({ kind: 'snapshot', name, done }));
  }

  /**
   * Changes the parallelism of the running job: a checkpoint, then the attempt is replaced by one
   * at the new parallelism that restores it (each subtask takes the key groups it now owns, the
   * sources' splits are dealt out again). Output stays exactly-once: what the old attempt did
   * after the checkpoint was never committed, and the new one does it again.
   */
  rescale(parallelism: number): Promise<RescaleResult> {
    if (this.state !== 'running') return Promise.reject(new InvalidRequestError(`job ${this.jobId} is ${this.state}; only a running job is rescaled`));
    if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > this.plan.maxParallelism) {
      return Promise.reject(new InvalidRequestError(`parallelism: must be an integer in [1, ${this.plan.maxParallelism}] (the job's max parallelism), got ${JSON.stringify(parallelism)}`));
    }
    const needed = slotsOf(this.planFor(parallelism));
    const free = this.services.workers.all().reduce((sum, w) => sum + this.services.freeSlots(w.workerId, this.jobId), 0);
    if (needed > free) return Promise.reject(new InvalidRequestError(`parallelism: ${parallelism} needs ${needed} slots; the cluster has ${free} for this job`));
    return this.enqueue((done) => ({ kind: 'rescale', parallelism, requestedAtMs: this.services.clock.now(), done }));
  }

  private enqueue<T>(make: (done: Settle<T>) => JobAction): Promise<T> {
    return new Promise<T>((resolve, reject) => this.actions.push(make({ resolve, reject } as Settle<T>)));
  }

  private async runAction(action: JobAction): Promise<void> {
    let liveRefused: string | undefined;
    if (action.kind === 'rescale') {
      try {
        action.done.resolve(await this.rescaleLive(action.parallelism, action.requestedAtMs));
        return;
      } catch (error) {
        if (!(error instanceof LiveRescaleRefused)) throw error;
        liveRefused = error.message;
        this.log.info('rescaling by restart: the job cannot be rescaled live', { reason: liveRefused });
      }
    }
    const info = await this.triggerCheckpoint();
    if (this.state !== 'running') throw new InvalidRequestError(`the job became ${this.state} while checkpoint ${info.checkpointId} was taken`);
    switch (action.kind) {
      case 'checkpoint':
        action.done.resolve(info);
        return;
      case 'snapshot':
        action.done.resolve(await this.copyToSnapshot(info.checkpointId, action.name));
        return;
      case 'stop': {
        this.transition('stopped', `stopped with checkpoint ${info.checkpointId}${action.snapshot ? ' (kept as a snapshot)' : ''}`);
        await this.persist();
        await this.cancelAttempt('stopped with a checkpoint');
        const snapshot = action.snapshot ? await this.copyToSnapshot(info.checkpointId, action.name) : null;
        action.done.resolve({ jobId: this.jobId, state: this.state, checkpointId: info.checkpointId, snapshot });
        return;
      }
      case 'rescale': {
        const from = this.slotsNeeded;
        const checkpointedAtMs = this.services.clock.now();
        this.log.info('rescaling', { from, to: action.parallelism, checkpointId: info.checkpointId });
        this.transition('rescaling', `rescaling by restart ${from} → ${action.parallelism} from checkpoint ${info.checkpointId}${liveRefused === undefined ? '' : ` (not live: ${liveRefused})`}`);
        await this.checkpoints?.abort();
        this.checkpoints = undefined;
        await this.cancelAttempt(`rescaling from ${from} to ${action.parallelism}`);
        this.parallelism = action.parallelism;
        this.plan = this.planFor(action.parallelism);
        this.slotsNeeded = slotsOf(this.plan);
        await this.deploy();
        if (this.state !== 'running') throw new Error(`rescaling to ${action.parallelism}: the new attempt is ${this.state}${this.failure ? `: ${this.failure}` : ''}`);
        const runningAtMs = this.services.clock.now();
        this.lastRescale = {
          from,
          to: action.parallelism,
          mode: 'restart',
          checkpointId: info.checkpointId,
          pauseMs: runningAtMs - checkpointedAtMs,
          totalMs: runningAtMs - action.requestedAtMs,
          ...(liveRefused === undefined ? {} : { reason: liveRefused }),
        };
        this.log.info('rescaled', { ...this.lastRescale });
        action.done.resolve(this.lastRescale);
        return;
      }
    }
  }

  /**
   * Rescales the running attempt in place (see ClusterJobRunner, "live rescale"): the subtasks the
   * new parallelism adds are deployed and wired to the running ones; a checkpoint's barrier then
   * switches every exchange to the new partitioning, and the key groups and source splits that
   * change owner are taken over from that checkpoint while everything else keeps processing.
   * Throws LiveRescaleRefused, before changing anything, when the job cannot be rescaled live.
   */
  private async rescaleLive(parallelism: number, requestedAtMs: number): Promise<RescaleResult> {
    const from = this.slotsNeeded;
    const previous = this.plan;
    const plan = this.planFor(parallelism);
    const refusal = liveRescaleRefusal(previous, plan);
    if (refusal !== undefined) throw new LiveRescaleRefused(refusal);
    const slots = slotsOf(plan);
    const placement = placeBesides(this.placement, plan, this.freeSlots(this.placement));
    if (!placement) throw new LiveRescaleRefused(`no free slots for parallelism ${parallelism} next to the running attempt`);
    const before = this.placement;
    const isOld = new Set(before.map((p) => `${p.taskId}/${p.subtask}`));
    const added = placement.filter((p) => !isOld.has(`${p.taskId}/${p.subtask}`));
    const workersBefore = new Set(before.map((p) => p.workerId));
    const attempt = this.attempt;

    // 1. reserve the rescale checkpoint's id, deploy and wire the added subtasks, arm everything for its barrier
    const checkpointId = await this.reserveCheckpointId();
    this.log.info('rescaling live', { from, to: parallelism, checkpointId, added: added.length });
    await this.rescaleStep('recording the live rescale', () => this.persistRescale({ phase: 'preparing', from, to: parallelism, checkpointId }));
    const placements = placement.map((p) => ({ ...p, dataAddress: this.services.workers.get(p.workerId)!.dataAddress }));
    const involved = [...new Set([...workersBefore, ...placement.map((p) => p.workerId)])];
    const splitsBySubtask = new Map<string, string[]>();
    const responses = await this.rescaleStep(`preparing the live rescale to ${parallelism}`, () =>
      Promise.all(
        involved.map((workerId) => {
          const mine = added.filter((p) => p.workerId === workerId).map((p) => ({ taskId: p.taskId, subtask: p.subtask }));
          return this.callWorker(this.services.workers.get(workerId)!, 'PrepareRescale', {
            jobId: this.jobId,
            attempt,
            parallelism,
            checkpointId,
            stagingCheckpointId: this.completed.latestId ?? 0,
            subtasks: mine,
            placements,
            ...(workersBefore.has(workerId) ? {} : { deployment: this.deploymentRequest(attempt, []) }),
          }, 60_000) as Promise<{ splitsJson?: string }>;
        }),
      ),
    );
    for (const response of responses) for (const [key, ids] of Object.entries(JSON.parse(response.splitsJson || '{}') as Record<string, string[]>)) splitsBySubtask.set(key, ids);
    const assignmentJson = JSON.stringify(Object.fromEntries(assignSplits(previous, plan, splitsBySubtask, this.finished)));

    // 2. the rescale checkpoint: its barrier switches the job
    this.placement = [...before, ...added];
    for (const workerId of involved) this.attemptAddresses.set(workerId, this.services.workers.get(workerId)!.rpcAddress);
    await this.rescaleStep('recording the live rescale', () => this.persistRescale({ phase: 'switching', from, to: parallelism, checkpointId }));
    this.rescaleBarrier = { checkpointId, splitAssignmentJson: assignmentJson };
    const info = await this.rescaleStep(`the live rescale's checkpoint ${checkpointId}`, () =>
      this.triggerCheckpoint(checkpointId).finally(() => (this.rescaleBarrier = undefined)),
    );

    // 3. the checkpoint is complete: the job is at the new parallelism; subtasks take over what they gained
    this.parallelism = parallelism;
    this.plan = plan;
    this.slotsNeeded = slots;
    await this.rescaleStep('recording the live rescale', () => this.persistRescale({ phase: 'completing', from, to: parallelism, checkpointId }));
    const completions = await this.rescaleStep(`completing the live rescale to ${parallelism}`, () =>
      Promise.all(
        involved.map(async (workerId): Promise<Partial<RescaleCompletion>> => {
          const response = (await this.callWorker(this.services.workers.get(workerId)!, 'CompleteRescale', {
            jobId: this.jobId,
            attempt,
            checkpointId,
            splitAssignmentJson: assignmentJson,
          }, 120_000)) as { completionJson?: string };
          return JSON.parse(response.completionJson || '{}');
        }),
      ),
    );
    this.placement = placement;
    // Their runner of this attempt has no subtasks left; it is cancelled with the attempt (a later rescale may use it again).
    for (const workerId of involved) if (!placement.some((p) => p.workerId === workerId)) this.rescaledAway.add(workerId);
    for (const key of [...this.finished]) if (!placement.some((p) => `${p.taskId}/${p.subtask}` === key)) this.finished.delete(key);
    this.liveRescale = undefined;
    await this.persist();
    const doneAtMs = this.services.clock.now();
    this.lastRescale = {
      from,
      to: parallelism,
      mode: 'live',
      checkpointId: info.checkpointId,
      pauseMs: Math.max(0, ...completions.map((c) => c.keyGroupPauseMs ?? 0)),
      totalMs: doneAtMs - requestedAtMs,
      keyGroupsMoved: completions.reduce((sum, c) => sum + (c.keyGroupsTakenOver ?? 0), 0),
      keyGroupsStaged: completions.reduce((sum, c) => sum + (c.keyGroupsStaged ?? 0), 0),
      splitsMoved: completions.reduce((sum, c) => sum + (c.splitsTakenOver ?? 0), 0),
      stashedRecords: completions.reduce((sum, c) => sum + (c.stashedRecords ?? 0), 0),
    };
    this.log.info('rescaled live', { ...this.lastRescale });
    return this.lastRescale;
  }

  /**
   * One step of a live rescale. A failure restarts the job from its latest checkpoint (some
   * workers may be wired or armed for a barrier that now never comes) and is rethrown.
   */
  private async rescaleStep<T>(what: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      this.liveRescale = undefined;
      await this.failover(new Error(`${what} failed: ${errorChainMessage(error)}`));
      throw error;
    }
  }

  /** Persists the step a live rescale has reached (fenced: a deposed leader goes no further). */
  private async persistRescale(progress: LiveRescaleProgress): Promise<void> {
    this.liveRescale = progress;
    await this.persist();
    this.log.info('live rescale step recorded', { ...progress });
  }

  /** Workers a live rescale took every subtask of this attempt from. */
  private readonly rescaledAway = new Set<string>();

  /** Set while the barrier of a live rescale's checkpoint is being triggered. */
  private rescaleBarrier: { readonly checkpointId: number; readonly splitAssignmentJson: string } | undefined;

  private copyToSnapshot(checkpointId: number, name: string | undefined): Promise<SnapshotSummary> {
    const now = this.services.clock.now();
    const info = { name: name ?? defaultSnapshotName(this.submission.jobName, checkpointId, now), jobId: this.jobId, jobName: this.submission.jobName, checkpointId, createdAtMs: now };
    return this.services.snapshots.create(this.storage(), checkpointId, info);
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
        inProgress: this.checkpoints?.pendingCheckpointId ?? null,
        latest: this.latest ?? null,
        pointer: this.completed.latestId ?? null,
      },
      subtasks,
      lastRescale: this.lastRescale ?? null,
      transitions: this.transitions,
    };
  }
}

/** The job cannot be rescaled live (nothing was changed): it is rescaled by restart instead. */
class LiveRescaleRefused extends Error {}
