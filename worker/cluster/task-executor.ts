// The worker's side of the control plane (Flink's TaskExecutor): registers with the leader
// coordinator and heartbeats, deploys job attempts, passes checkpoint triggers and commit
// notifications to them, cancels them. Every call from a coordinator carries its leader epoch;
// the highest epoch seen wins and a lower one is rejected, so an old leader that wakes up after
// a pause cannot deploy, cancel, trigger or commit anything.

import type { UserMetricRegistry } from '../../shared/metrics/user-metrics.ts';
import type { SplitState } from '../../shared/api/connectors.ts';
import type { Clock } from '../../shared/clock.ts';
import { AuthenticationError, InvalidRequestError, NotFoundError, SluiceError, StaleEpochError, errorChainMessage } from '../../shared/errors.ts';
import { buildApplication } from '../../shared/load-application.ts';
import type { Logger } from '../../shared/logging.ts';
import { RpcClient, RpcUnavailableError, type CallContext, type ServiceHandlers } from '../../shared/rpc/rpc.ts';
import { COORDINATOR_GATEWAY, type CoordinatorGatewayMethods, type RunningAttempt } from '../../shared/rpc/coordinator-gateway.ts';
import {
  decodeProperties,
  decodeSplitIds,
  decodeSplitStates,
  encodeSplitIds,
  type DeployTasksRequest,
  type SplitAssignmentMessage,
  type WorkerGatewayMethods,
} from '../../shared/rpc/worker-gateway.ts';
import { openCheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import type { CheckpointWriteLimiter } from '../../shared/checkpoint/operator-state-files.ts';
import type { SubtaskStateHandle } from '../../shared/checkpoint/checkpoint-metadata.ts';
import type { StateBackendKind } from '../state/keyed-state-backend.ts';
import type { DeadLetterOutput } from '../runtime/dead-letter.ts';
import { ClusterJobRunner, type AttemptDeployment, type DataPlaneChannels, type SubtaskRef } from './cluster-job-runner.ts';
import { join } from 'node:path';

/** Reports kept while no leader is known; beyond this the oldest go (a leader that stays away fails the job anyway). */
const MAX_UNSENT_REPORTS = 10_000;
/** Waits before sending a report again whose call failed as unavailable. */
const REPORT_RETRY_DELAYS_MS = [200, 1_000, 3_000];

type CoordinatorClient = RpcClient<CoordinatorGatewayMethods>;
/** The calls a worker makes to report on its attempts. */
type ReportMethod = 'AcknowledgeCheckpoint' | 'ReportSubtasksFinished' | 'ReportTaskFailure';
interface PendingReport {
  readonly method: ReportMethod;
  readonly send: (client: CoordinatorClient) => Promise<unknown>;
}

export interface TaskExecutorOptions {
  readonly workerId: string;
  readonly rpcAddress: string;
  readonly dataAddress: string;
  readonly metricsAddress: string;
  readonly slots: number;
  readonly coordinators: readonly string[];
  readonly token: string | undefined;
  readonly heartbeatIntervalMs: number;
  readonly stateBackend: StateBackendKind;
  readonly stateDirectory: string;
  /** LevelDB backend: cache entries per keyed subtask (--state-cache-entries). */
  readonly stateCacheEntries?: number;
  /** Shared by every attempt on this worker; none: checkpoints are written as fast as they go. */
  readonly checkpointLimiter?: CheckpointWriteLimiter;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly dataPlane: DataPlaneChannels;
  readonly deadLetters: DeadLetterOutput;
  /** Where user functions' metrics go: the worker's /metrics. */
  readonly userMetrics?: UserMetricRegistry;
}

export class TaskExecutor {
  private maxEpoch = 0;
  private readonly runners = new Map<string, ClusterJobRunner>();
  /** The highest cancelled attempt of each job. */
  private readonly cancelledUpTo = new Map<string, number>();
  private coordinatorIndex = 0;
  private client: CoordinatorClient | undefined;
  private registered = false;
  private stopped = false;
  private heartbeatTimer: { cancel(): void } | undefined;
  private readonly log: Logger;

  constructor(private readonly options: TaskExecutorOptions) {
    this.log = options.logger;
  }

  get epoch(): number {
    return this.maxEpoch;
  }

  /** The WorkerGateway handlers the RPC server serves. */
  readonly handlers: ServiceHandlers<WorkerGatewayMethods> = {
    DeployTasks: async (request, context) => {
      this.checkEpoch(context, 'DeployTasks');
      await this.startAttempt(request, context);
      return {};
    },
    TriggerCheckpoint: async (request, context) => {
      this.checkEpoch(context, 'TriggerCheckpoint');
      const assignment = request.splitAssignment ? decodeSplitIds(request.splitAssignment.subtasks) : undefined;
      this.runnerOf(request.jobId, request.attempt).triggerCheckpoint(request.checkpointId, assignment);
      return {};
    },
    AbortCheckpoint: async (request, context) => {
      this.checkEpoch(context, 'AbortCheckpoint');
      // An attempt that is gone has nothing to abort.
      const runner = this.runners.get(request.jobId);
      if (runner !== undefined && runner.attempt === request.attempt) {
        this.log.info('checkpoint aborted by the coordinator', { job: request.jobId, attempt: request.attempt, checkpointId: request.checkpointId, epoch: context.epoch });
        runner.abortCheckpoint(request.checkpointId);
      }
      return {};
    },
    PrepareRescale: async (request, context) => {
      this.checkEpoch(context, 'PrepareRescale');
      const placement = new Map<string, string>();
      for (const p of request.placements) placement.set(`${p.taskId}/${p.subtask}`, p.dataAddress);
      // A worker new to the job runs the attempt first, with no subtasks of its own yet.
      if (request.deployment && !this.runners.has(request.jobId)) await this.startAttempt(request.deployment, context, { allowNoSubtasks: true });
      const splits = await this.runnerOf(request.jobId, request.attempt).prepareRescale({
        parallelism: request.parallelism,
        checkpointId: request.checkpointId,
        ...(request.stagingCheckpointId > 0 ? { stagingCheckpointId: request.stagingCheckpointId } : {}),
        localSubtasks: request.subtasks.map((s) => ({ taskId: s.taskId, subtask: s.subtask })),
        placement,
      });
      return { splits: encodeSplitIds(splits) };
    },
    CompleteRescale: async (request, context) => {
      this.checkEpoch(context, 'CompleteRescale');
      const assignment = requiredSplitAssignment(request.splitAssignment, 'CompleteRescale.splitAssignment');
      return this.runnerOf(request.jobId, request.attempt).completeRescale(request.checkpointId, assignment);
    },
    NotifyCheckpointComplete: async (request, context) => {
      this.checkEpoch(context, 'NotifyCheckpointComplete');
      const runner = this.runnerOf(request.jobId, request.attempt);
      this.log.info('committing checkpoint', { job: request.jobId, attempt: request.attempt, checkpointId: request.checkpointId, epoch: context.epoch });
      await runner.notifyCheckpointComplete(request.checkpointId);
      return {};
    },
    CancelJob: async (request, context) => {
      this.checkEpoch(context, 'CancelJob');
      // Remembered, so an attempt of the job still being deployed is cancelled when it is built.
      this.cancelledUpTo.set(request.jobId, request.attempt === 0 ? Number.POSITIVE_INFINITY : Math.max(request.attempt, this.cancelledUpTo.get(request.jobId) ?? 0));
      const runner = this.runners.get(request.jobId);
      if (runner && (request.attempt === 0 || runner.attempt <= request.attempt)) {
        this.runners.delete(request.jobId);
        await runner.cancel(request.reason || 'cancelled by the coordinator');
      }
      return {};
    },
  };

  private checkEpoch(context: CallContext, method: string): void {
    if (context.epoch === undefined) throw new InvalidRequestError(`${method}: the call carries no leader epoch (metadata sluice-epoch)`);
    // A (re)started worker knows no epoch until a leader registers it: an old leader that woke up
    // would otherwise find its epoch accepted. Refused as unavailable, so a caller does not step down.
    if (this.maxEpoch === 0) {
      this.log.warn('refused a call before registering with a leader', { method, epoch: context.epoch, peer: context.peer });
      throw new SluiceError(`${method}: worker ${this.options.workerId} has not registered with a leader yet; it accepts calls once it has`, { retriable: true });
    }
    if (context.epoch < this.maxEpoch) {
      this.log.warn('rejected a call from an old leader', { method, epoch: context.epoch, currentEpoch: this.maxEpoch, peer: context.peer });
      throw new StaleEpochError(`${method}: leader epoch ${context.epoch} is older than ${this.maxEpoch}; this coordinator is no longer the leader`);
    }
    if (context.epoch > this.maxEpoch) {
      this.log.info('new leader epoch', { epoch: context.epoch, previousEpoch: this.maxEpoch });
      this.maxEpoch = context.epoch;
    }
  }

  private runnerOf(jobId: string, attempt: number): ClusterJobRunner {
    const runner = this.runners.get(jobId);
    if (!runner || runner.attempt !== attempt) throw new NotFoundError(`job ${jobId} attempt ${attempt} does not run on worker ${this.options.workerId}`);
    return runner;
  }

  private async startAttempt(request: DeployTasksRequest, context: CallContext, options: { allowNoSubtasks?: boolean } = {}): Promise<void> {
    const deployment = decodeDeployment(request, options);
    const previous = this.runners.get(deployment.jobId);
    if (previous) {
      this.runners.delete(deployment.jobId);
      await previous.cancel(`replaced by attempt ${deployment.attempt}`);
    }
    const log = this.log.child({ application: deployment.jobName, job: deployment.jobId, attempt: deployment.attempt, epoch: context.epoch });
    const env = await buildApplication(request.applicationPath, deployment.jobName, deployment.properties);
    const runner = await ClusterJobRunner.create(env, deployment, {
      clock: this.options.clock,
      logger: log,
      stateBackend: this.options.stateBackend,
      stateDirectory: join(this.options.stateDirectory, deployment.jobId, String(deployment.attempt)),
      ...(this.options.stateCacheEntries === undefined ? {} : { stateCacheEntries: this.options.stateCacheEntries }),
      checkpointStorage: openCheckpointStorage(request.checkpointDirectory, 'checkpoints', 'DeployTasks.checkpointDirectory'),
      ...(this.options.checkpointLimiter ? { checkpointLimiter: this.options.checkpointLimiter } : {}),
      deadLetters: this.options.deadLetters,
      dataPlane: this.options.dataPlane,
      ...(this.options.userMetrics ? { userMetrics: { registry: this.options.userMetrics, tmId: this.options.workerId } } : {}),
      listener: {
        acknowledgeCheckpoint: (checkpointId, subtask, states) => this.report('AcknowledgeCheckpoint', ackRequest(deployment, checkpointId, subtask, states)),
        subtasksFinished: (subtasks) => this.report('ReportSubtasksFinished', { jobId: deployment.jobId, attempt: deployment.attempt, subtasks }),
        failed: (error) => this.failAttempt(deployment.jobId, deployment.attempt, error),
      },
    });
    // A cancel for this attempt may have arrived while it was being built.
    if (this.stopped || deployment.attempt <= (this.cancelledUpTo.get(deployment.jobId) ?? 0)) {
      await runner.cancel(this.stopped ? 'worker stopping' : 'cancelled while it was deployed');
      return;
    }
    // Builds of two attempts can overlap (a slow one, then its replacement): the newest runs.
    const current = this.runners.get(deployment.jobId);
    if (current !== undefined && current.attempt > deployment.attempt) {
      await runner.cancel(`attempt ${current.attempt} replaced it while it was deployed`);
      return;
    }
    if (current !== undefined) {
      this.runners.delete(deployment.jobId);
      await current.cancel(`replaced by attempt ${deployment.attempt}`);
    }
    this.runners.set(deployment.jobId, runner);
    runner.start();
  }

  /** An attempt failed (in its loop, or its data-plane connection died): cancel it here and report it. */
  failAttempt(jobId: string, attempt: number, error: Error): void {
    const runner = this.runners.get(jobId);
    if (!runner || runner.attempt !== attempt) return;
    this.runners.delete(jobId);
    this.log.error('attempt failed', { job: jobId, attempt, error: errorChainMessage(error) });
    void runner.cancel('failed');
    this.report('ReportTaskFailure', { jobId, attempt, workerId: this.options.workerId, message: errorChainMessage(error) });
  }

  /**
   * Sends a report (a checkpoint's acknowledgement, finished subtasks, a failure) to the leader.
   * Between losing the leader and registering with one again, reports wait and go out in order
   * once registered: an acknowledgement dropped there left its checkpoint waiting for its timeout.
   */
  private report<K extends ReportMethod>(method: K, request: CoordinatorGatewayMethods[K]['request']): void {
    this.sendOrKeep({ method, send: (client) => client.call(method, request, { deadlineMs: 10_000 }) });
  }

  private sendOrKeep(report: PendingReport): void {
    const client = this.client;
    if (!client || !this.registered) {
      if (this.unsentReports.length >= MAX_UNSENT_REPORTS) {
        const dropped = this.unsentReports.shift()!;
        this.log.warn('too many reports waiting for a leader; dropped the oldest', { method: dropped.method });
      }
      this.unsentReports.push(report);
      return;
    }
    this.send(client, report, 0);
  }

  /**
   * A report whose call fails as unavailable is sent again (a lost acknowledgement would hold its
   * checkpoint, and the end of a bounded job, until the checkpoint timeout); the coordinator
   * ignores one it has already counted.
   */
  private send(client: CoordinatorClient, report: PendingReport, retry: number): void {
    report.send(client).catch((error: unknown) => {
      const again = error instanceof RpcUnavailableError && retry < REPORT_RETRY_DELAYS_MS.length && !this.stopped && this.client === client;
      this.log.warn('report to the coordinator failed', { method: report.method, error: errorChainMessage(error), ...(again ? { retryInMs: REPORT_RETRY_DELAYS_MS[retry] } : {}) });
      if (again) this.options.clock.schedule(REPORT_RETRY_DELAYS_MS[retry]!, () => this.send(client, report, retry + 1));
    });
  }

  private readonly unsentReports: PendingReport[] = [];

  /** Starts registering and heartbeating. */
  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.heartbeat().finally(() => {
        if (!this.stopped) this.heartbeatTimer = this.options.clock.schedule(this.options.heartbeatIntervalMs, tick);
      });
    };
    tick();
  }

  private running() {
    return [...this.runners.values()].map((r) => ({ jobId: r.jobId, jobName: r.deployment.jobName, attempt: r.attempt, subtasks: r.getStatus() }));
  }

  /** What registrations and heartbeats report running. */
  private runningAttempts(): RunningAttempt[] {
    return this.running().map((r) => ({ jobId: r.jobId, attempt: r.attempt, subtasks: r.subtasks.map((s) => ({ ...s, unfinishedSplits: s.unfinishedSplits ?? [], pendingRecords: s.pendingRecords ?? -1 })) }));
  }

  private async heartbeat(): Promise<void> {
    const deadlineMs = Math.max(1000, this.options.heartbeatIntervalMs * 2);
    try {
      if (!this.client) this.client = new RpcClient(COORDINATOR_GATEWAY, this.options.coordinators[this.coordinatorIndex]!, { token: this.options.token });
      if (!this.registered) {
        const response = await this.client.call(
          'RegisterWorker',
          {
            workerId: this.options.workerId,
            rpcAddress: this.options.rpcAddress,
            dataAddress: this.options.dataAddress,
            slots: this.options.slots,
            metricsAddress: this.options.metricsAddress,
            running: this.runningAttempts(),
          },
          { deadlineMs },
        );
        this.registered = true;
        if (response.epoch > this.maxEpoch) this.maxEpoch = response.epoch;
        this.log.info('registered with the leader', { coordinator: response.coordinatorId, address: this.client.address, epoch: response.epoch, unsentReports: this.unsentReports.length });
        for (const report of this.unsentReports.splice(0)) this.sendOrKeep(report);
        return;
      }
      const response = await this.client.call('Heartbeat', { workerId: this.options.workerId, running: this.runningAttempts() }, { deadlineMs });
      if (response.epoch > this.maxEpoch) this.maxEpoch = response.epoch;
      if (!response.registered) this.registered = false;
    } catch (error) {
      // Not the leader, gone or paused: try the next coordinator.
      if (error instanceof AuthenticationError) this.log.error('the coordinator refused this worker', { address: this.client?.address, error: errorChainMessage(error) });
      else if (this.registered) this.log.warn('lost the leader coordinator', { address: this.client?.address, error: errorChainMessage(error) });
      this.registered = false;
      this.client?.close();
      this.client = undefined;
      this.coordinatorIndex = (this.coordinatorIndex + 1) % this.options.coordinators.length;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.heartbeatTimer?.cancel();
    for (const runner of this.runners.values()) {
      await runner.cancel('worker stopping');
      await runner.disposed;
    }
    this.runners.clear();
    this.client?.close();
  }

  getStatus() {
    return { workerId: this.options.workerId, epoch: this.maxEpoch, registered: this.registered, coordinator: this.client?.address ?? null, running: this.running() };
  }
}

function ackRequest(deployment: AttemptDeployment, checkpointId: number, subtask: SubtaskRef, states: ReadonlyArray<{ uid: string; handle: SubtaskStateHandle }>) {
  return {
    jobId: deployment.jobId,
    attempt: deployment.attempt,
    checkpointId,
    taskId: subtask.taskId,
    subtask: subtask.subtask,
    states: states.map(({ uid, handle }) => ({ uid, subtask: handle.subtask, file: handle.file, bytes: handle.bytes, sha256: handle.sha256, shared: handle.shared ?? [] })),
  };
}

/** Checks a DeployTasks request field by field; a malformed one names the field. */
export function decodeDeployment(request: DeployTasksRequest, options: { allowNoSubtasks?: boolean } = {}): AttemptDeployment {
  const need = (field: string, ok: boolean) => {
    if (!ok) throw new InvalidRequestError(`DeployTasks.${field} is missing or invalid`);
  };
  need('jobId', request.jobId.length > 0);
  need('attempt', request.attempt > 0);
  need('applicationPath', request.applicationPath.length > 0);
  need('checkpointDirectory', request.checkpointDirectory.length > 0);
  need('parallelism', request.parallelism > 0);
  need('subtasks', request.subtasks.length > 0 || options.allowNoSubtasks === true);
  need('stateBackend', request.stateBackend === '' || request.stateBackend === 'memory' || request.stateBackend === 'leveldb');
  const placement = new Map<string, string>();
  for (const p of request.placements) placement.set(`${p.taskId}/${p.subtask}`, p.dataAddress);
  const splits = new Map<string, readonly SplitState[]>();
  for (const s of request.splits) splits.set(`${s.taskId}/${s.subtask}`, decodeSplitStates(s.splits, 'DeployTasks.splits'));
  return {
    jobId: request.jobId,
    attempt: request.attempt,
    jobName: request.jobName || request.jobId,
    submittedAtMs: request.jobSubmittedAtMs,
    properties: decodeProperties(request.properties),
    parallelism: request.parallelism,
    maxParallelism: request.maxParallelism,
    restorePath: request.restorePath || undefined,
    allowNonRestoredState: request.allowNonRestoredState,
    stateBackend: request.stateBackend ? (request.stateBackend as StateBackendKind) : undefined,
    localSubtasks: request.subtasks.map((s) => ({ taskId: s.taskId, subtask: s.subtask })),
    placement,
    splits,
  };
}

/** CompleteRescale's split assignment, which it must carry. */
function requiredSplitAssignment(assignment: SplitAssignmentMessage | null | undefined, field: string): Map<string, readonly string[]> {
  if (!assignment) throw new InvalidRequestError(`${field} is missing`);
  return decodeSplitIds(assignment.subtasks);
}
