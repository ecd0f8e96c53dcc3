// What the leader coordinator does while it leads (Flink's Dispatcher + ResourceManager): accepts
// submissions, keeps one JobController per job, keeps the worker registry from registrations and
// heartbeats, notices lost workers, and routes the workers' reports to the jobs. A new leader
// starts by waiting for the workers to re-register, then takes over every job the previous
// leader recorded in the HA store.

import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { ApplicationProperties } from '../../shared/api/environment.ts';
import type { Clock } from '../../shared/clock.ts';
import { errorChainMessage, InvalidRequestError, NotFoundError, RestoreError } from '../../shared/errors.ts';
import type { StateBackendKind } from '../../shared/config/state-backend.ts';
import { loadRestoreState } from '../../shared/checkpoint/restore-state.ts';
import { childLocation, type ObjectStoreCheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import { normalizeLocation, openRestorePath, type RestoreSource } from '../../shared/checkpoint/restore-path.ts';
import { checkSnapshotName, SnapshotCatalog, type SnapshotSummary } from '../../shared/checkpoint/snapshots.ts';
import { buildApplication } from '../../shared/load-application.ts';
import type { Logger } from '../../shared/logging.ts';
import { RpcClient, type ServiceHandlers } from '../../shared/rpc/rpc.ts';
import type { CoordinatorGatewayMethods, RunningAttempt } from '../../shared/rpc/coordinator-gateway.ts';
import type { SubtaskStatus } from '../../shared/rpc/worker-reports.ts';
import { WORKER_GATEWAY, type WorkerGatewayMethods } from '../../shared/rpc/worker-gateway.ts';
import type { HighAvailabilityServices, Leadership } from '../ha/high-availability-services.ts';
import { createRestartStrategy } from '../scheduler/restart-strategy.ts';
import type { RestartStrategyConfig } from '../../shared/config/restart-strategy-config.ts';
import { checkpointPointerKey, JOB_KEY_PREFIX, type JobRecord, type JobSubmission } from '../job/job-record.ts';
import type { CompletedCheckpointInfo } from '../../shared/checkpoint/checkpoint-coordinator.ts';
import { isTerminal } from '../job/job-states.ts';
import { JobController, type CheckpointingSettings, type JobStatusView, type RescaleResult, type StopResult, type WorkerGatewayClient } from '../job/job-controller.ts';
import { WorkerRegistry, type RunningAttemptReport } from './worker-registry.ts';

export interface DispatcherOptions {
  readonly coordinatorId: string;
  readonly ha: HighAvailabilityServices;
  readonly leadership: Leadership;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly token: string | undefined;
  readonly checkpointing: CheckpointingSettings;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly workerRegistrationGraceMs: number;
  readonly restartStrategy: RestartStrategyConfig;
  /** A fenced write or a worker refused this leader's epoch: step down. */
  readonly onFenced: (error: Error) => void;
  /** How workers are called: gRPC clients by default; a testing gateway in unit tests. */
  readonly workerClient?: (rpcAddress: string) => WorkerGatewayClient;
}

export interface SubmitRequest {
  readonly application: string;
  readonly jobName?: string;
  readonly parallelism?: number;
  readonly maxParallelism?: number;
  readonly properties?: ApplicationProperties;
  /** A snapshot's name, or the path of a snapshot, a checkpoint (`…/chk-N`) or a job's checkpoint folder. */
  readonly restoreFrom?: string;
  /** Drop state of operators (uids) the application no longer has instead of refusing the restore. */
  readonly allowNonRestoredState?: boolean;
  readonly stateBackend?: StateBackendKind;
  /** Sending the same submission again (after a lost answer or a leadership change) returns the job the first one made. */
  readonly idempotencyKey?: string;
  /** Periodic checkpoints (an application's CheckpointConfiguration); they win over the application's own and the cluster's. */
  readonly checkpointing?: { readonly enabled: boolean; readonly intervalMs: number; readonly minPauseMs: number };
}

const TICK_MS = 100;

export class Dispatcher {
  readonly workers: WorkerRegistry;
  private readonly jobs = new Map<string, JobController>();
  private readonly clients = new Map<string, RpcClient<WorkerGatewayMethods>>();
  private disposed = false;
  private tickTimer: { cancel(): void } | undefined;
  private ready = false;
  private readonly log: Logger;

  constructor(private readonly options: DispatcherOptions) {
    this.workers = new WorkerRegistry(options.clock, options.heartbeatTimeoutMs);
    this.snapshots = new SnapshotCatalog(options.checkpointing.snapshotRoot);
    this.log = options.logger.child({ epoch: options.leadership.epoch });
  }

  /** Starts leading: waits for workers to re-register, takes over recorded jobs, then ticks. */
  async start(): Promise<void> {
    const records = [...(await this.options.ha.getPrefix(JOB_KEY_PREFIX)).values()].map((v) => JSON.parse(v) as JobRecord);
    const live = records.filter((r) => !isTerminal(r.state));
    this.scheduleTick();
    if (live.length > 0) {
      this.log.info('waiting for workers to re-register before taking over jobs', { jobs: live.map((r) => r.jobId), graceMs: this.options.workerRegistrationGraceMs });
      await new Promise<void>((resolve) => this.options.clock.schedule(this.options.workerRegistrationGraceMs, resolve));
    }
    for (const record of records) {
      if (this.disposed) return;
      try {
        const env = await buildApplication(record.applicationPath, record.jobName, record.properties);
        const master = this.newJobController(record, env, record.submittedAtMs);
        this.jobs.set(record.jobId, master);
        const outcome = await master.takeOver(record);
        if (outcome !== 'terminal') this.log.info('took over job', { job: record.jobId, outcome, attempt: record.attempt });
      } catch (error) {
        this.log.error('could not take over job', { job: record.jobId, error: errorChainMessage(error) });
      }
    }
    this.ready = true;
  }

  private newJobController(submission: JobSubmission, env: Awaited<ReturnType<typeof buildApplication>>, submittedAtMs: number): JobController {
    const o = this.options;
    return new JobController(submission, env, {
      ha: o.ha,
      leadership: o.leadership,
      workers: this.workers,
      clock: o.clock,
      logger: o.logger,
      workerClient: (address) => this.options.workerClient?.(address) ?? this.client(address),
      checkpointing: o.checkpointing,
      snapshots: this.snapshots,
      heartbeatIntervalMs: o.heartbeatIntervalMs,
      restartStrategy: createRestartStrategy(o.restartStrategy, o.clock),
      freeSlots: (workerId, exceptJobId) => this.freeSlots(workerId, exceptJobId),
      onFenced: o.onFenced,
    }, submittedAtMs);
  }

  private client(address: string): RpcClient<WorkerGatewayMethods> {
    let client = this.clients.get(address);
    if (!client) this.clients.set(address, (client = new RpcClient(WORKER_GATEWAY, address, { token: this.options.token })));
    return client;
  }

  private freeSlots(workerId: string, exceptJobId: string): number {
    const worker = this.workers.get(workerId);
    if (!worker) return 0;
    let used = 0;
    for (const job of this.jobs.values()) if (job.jobId !== exceptJobId) used += job.slotsUsedOn(workerId);
    return worker.slots - used;
  }

  private scheduleTick(): void {
    if (this.disposed) return;
    this.tickTimer = this.options.clock.schedule(TICK_MS, () => {
      this.tick()
        .catch((error: unknown) => this.log.error('coordinator tick failed', { error: errorChainMessage(error) }))
        .finally(() => this.scheduleTick());
    });
  }

  private async tick(): Promise<void> {
    for (const lost of this.workers.expire()) {
      this.log.warn('worker lost: no heartbeat within the timeout', { worker: lost.workerId, timeoutMs: this.options.heartbeatTimeoutMs });
      for (const job of this.jobs.values()) await job.onWorkerLost(lost.workerId);
    }
    if (!this.ready) return;
    for (const job of this.jobs.values()) {
      if (this.disposed) return;
      await job.tick();
    }
  }

  /** The CoordinatorGateway handlers (the RPC server routes to the current leader's dispatcher). */
  readonly gatewayHandlers: ServiceHandlers<CoordinatorGatewayMethods> = {
    RegisterWorker: async (request) => {
      if (!request.workerId || !request.rpcAddress || !request.dataAddress || !(request.slots > 0)) {
        throw new InvalidRequestError('RegisterWorker needs workerId, rpcAddress, dataAddress and slots > 0');
      }
      const worker = this.workers.register({
        workerId: request.workerId,
        rpcAddress: request.rpcAddress,
        dataAddress: request.dataAddress,
        metricsAddress: request.metricsAddress,
        slots: request.slots,
        running: decodeRunning(request.running),
      });
      this.log.info('worker registered', { worker: worker.workerId, slots: worker.slots, running: worker.running.map((r) => `${r.jobId}#${r.attempt}`) });
      return { epoch: this.options.leadership.epoch, coordinatorId: this.options.coordinatorId, heartbeatIntervalMs: this.options.heartbeatIntervalMs };
    },
    Heartbeat: async (request) => {
      const registered = this.workers.heartbeat(request.workerId, decodeRunning(request.running));
      if (registered && this.ready) {
        const worker = this.workers.get(request.workerId)!;
        for (const job of this.jobs.values()) await job.onHeartbeat(worker);
      }
      return { registered, epoch: this.options.leadership.epoch };
    },
    AcknowledgeCheckpoint: async (request) => {
      this.job(request.jobId).onAcknowledge(request);
      return {};
    },
    ReportTaskFailure: async (request) => {
      await this.job(request.jobId).onTaskFailure(request.attempt, request.workerId, request.message);
      return {};
    },
    ReportSubtasksFinished: async (request) => {
      this.job(request.jobId).onSubtasksFinished(request.attempt, request.subtasks);
      return {};
    },
  };

  private job(jobId: string): JobController {
    const job = this.jobs.get(jobId);
    if (!job) throw new NotFoundError(`no job with id "${jobId}"`);
    return job;
  }

  /** Submissions in progress, by idempotency key: a second one waits for the first's job. */
  private readonly submitting = new Map<string, Promise<JobStatusView>>();

  async submit(request: SubmitRequest): Promise<JobStatusView> {
    const key = request.idempotencyKey;
    if (key === undefined) return this.submitNew(request);
    if (typeof key !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(key)) {
      throw new InvalidRequestError(`idempotencyKey: 1 to 200 printable ASCII characters without spaces, got ${JSON.stringify(key)}`);
    }
    const inFlight = this.submitting.get(key);
    if (inFlight) return inFlight;
    const existing = [...this.jobs.values()].find((job) => job.submission.idempotencyKey === key);
    if (existing) {
      this.log.info('submission repeated: answering with its job', { job: existing.jobId, idempotencyKey: key });
      return existing.getStatus();
    }
    const submitted = this.submitNew(request).finally(() => this.submitting.delete(key));
    this.submitting.set(key, submitted);
    return submitted;
  }

  private async submitNew(request: SubmitRequest): Promise<JobStatusView> {
    const { submission, env, restore } = await this.prepare(request);
    const master = this.newJobController(submission, env, this.options.clock.now());
    if (restore) await this.checkRestore(master, restore.source);
    this.jobs.set(submission.jobId, master);
    this.log.info('job submitted', { job: submission.jobId, application: submission.applicationPath, jobName: submission.jobName, parallelism: master.slotsNeeded });
    await master.start();
    return master.getStatus();
  }

  /**
   * Checks a submission as submit would (its fields, its code loads and its pipeline builds, what
   * it restores fits the plan) without running anything: an application's new version is checked
   * this way while its old one runs.
   */
  async validate(request: SubmitRequest): Promise<void> {
    const { submission, env, restore } = await this.prepare(request);
    const master = this.newJobController(submission, env, this.options.clock.now());
    try {
      if (restore) await this.checkRestore(master, restore.source);
    } finally {
      master.dispose();
    }
  }

  /** A submission's fields checked, its code loaded and its pipeline built, what it restores found. */
  private async prepare(request: SubmitRequest) {
    const inS3 = typeof request.application === 'string' && request.application.startsWith('s3://');
    if (typeof request.application !== 'string' || !(inS3 || isAbsolute(request.application))) {
      throw new InvalidRequestError('application: give s3://bucket/key[?versionId=v] of a `sluice package` archive, or the absolute path of the module or archive (readable by every worker)');
    }
    if (!inS3 && !existsSync(request.application)) throw new InvalidRequestError(`application: ${request.application}: no such file on the coordinator`);
    for (const field of ['parallelism', 'maxParallelism'] as const) {
      const value = request[field];
      if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > 32768)) {
        throw new InvalidRequestError(`${field}: must be an integer in [1, 32768], got ${JSON.stringify(value)}`);
      }
    }
    if (request.properties !== undefined && (typeof request.properties !== 'object' || request.properties === null || Array.isArray(request.properties))) {
      throw new InvalidRequestError('properties: must be an object of property groups');
    }
    if (request.stateBackend !== undefined && request.stateBackend !== 'memory' && request.stateBackend !== 'leveldb') {
      throw new InvalidRequestError(`stateBackend: must be "memory" or "leveldb", got ${JSON.stringify(request.stateBackend)}`);
    }
    if (request.restoreFrom !== undefined && (typeof request.restoreFrom !== 'string' || request.restoreFrom === '')) {
      throw new InvalidRequestError('restoreFrom: give a snapshot name or the path of a snapshot or checkpoint');
    }
    const restore = request.restoreFrom ? await this.resolveRestore(request.restoreFrom, request.allowNonRestoredState === true) : undefined;
    const jobId = randomUUID().replace(/-/g, '');
    const jobName = request.jobName ?? request.application.replace(/\?.*$/, '').replace(/^.*\//, '').replace(/\.([cm]?[jt]s|zip)$/, '');
    const properties = request.properties ?? {};
    // Loading and planning here reports a broken bundle or pipeline to the caller.
    const env = await buildApplication(request.application, jobName, properties);
    const submission: JobSubmission = {
      jobId,
      jobName: env.settings.jobName ?? jobName,
      applicationPath: request.application,
      properties,
      ...(request.parallelism ? { parallelism: request.parallelism } : {}),
      ...(request.maxParallelism ? { maxParallelism: request.maxParallelism } : {}),
      ...(request.stateBackend ? { stateBackend: request.stateBackend } : {}),
      ...(restore ? { restoreFrom: restore.pinned } : {}),
      ...(request.idempotencyKey !== undefined ? { idempotencyKey: request.idempotencyKey } : {}),
      ...(request.checkpointing ? { checkpointing: checkedCheckpointing(request.checkpointing) } : {}),
    };
    return { submission, env, restore };
  }

  /** A snapshot name resolves in the catalog; anything with a `/` is a path. */
  private restorePathOf(restoreFrom: string): string {
    if (!restoreFrom.includes('/')) return this.snapshots.pathOf(checkSnapshotName(restoreFrom, 'restoreFrom'));
    if (!isAbsolute(restoreFrom) && !/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(restoreFrom)) {
      throw new InvalidRequestError(`restoreFrom: ${restoreFrom}: give an absolute path or URL (readable by every worker), or a snapshot name`);
    }
    return restoreFrom;
  }

  /**
   * Finds the checkpoint a submission restores and pins it: a job's checkpoint folder becomes the
   * `chk-<id>` its pointer names (every worker then restores that one, not whatever is newest when
   * it looks), and the id lets the new job's checkpoint ids continue after it.
   */
  private async resolveRestore(restoreFrom: string, allowNonRestoredState: boolean): Promise<{ pinned: NonNullable<JobSubmission['restoreFrom']>; source: RestoreSource }> {
    const path = this.restorePathOf(restoreFrom);
    let source: RestoreSource;
    try {
      source = await openRestorePath(path, allowNonRestoredState, (folder) => this.publishedCheckpointOf(folder));
    } catch (error) {
      if (error instanceof RestoreError) throw new InvalidRequestError(`restoreFrom: ${error.message}`, { cause: error });
      throw error;
    }
    const storage = source.storage as ObjectStoreCheckpointStorage;
    const pinnedPath = storage.layout === 'checkpoints' ? childLocation(storage.location, `chk-${source.checkpointId}`) : path;
    return { pinned: { path: pinnedPath, allowNonRestoredState, checkpointId: source.checkpointId }, source };
  }

  /** The checkpoint the HA pointer names for a folder `<checkpointRoot>/<jobId>` of this cluster. */
  private async publishedCheckpointOf(folder: string): Promise<number | undefined> {
    const root = normalizeLocation(this.options.checkpointing.checkpointRoot).replace(/\/+$/, '');
    const normalized = normalizeLocation(folder).replace(/\/+$/, '');
    if (!normalized.startsWith(`${root}/`)) return undefined;
    const jobId = normalized.slice(root.length + 1);
    if (jobId.includes('/')) return undefined;
    const pointer = await this.options.ha.get(checkpointPointerKey(jobId));
    return pointer === undefined ? undefined : Number(pointer);
  }

  /**
   * Reads what the job would restore (metadata and every subtask's state file, checksums
   * included) and checks it fits the plan (uids, max parallelism), so a bad snapshot is refused
   * before anything runs, naming the path and the problem. Shared key-group chunks are not read
   * here (they can be most of a large state); the workers check them as they restore.
   */
  private async checkRestore(master: JobController, source: RestoreSource): Promise<void> {
    try {
      await loadRestoreState(master.plan, source, () => false);
    } catch (error) {
      if (error instanceof RestoreError) throw new InvalidRequestError(`restoreFrom: ${error.message}`, { cause: error });
      throw error;
    }
  }

  readonly snapshots: SnapshotCatalog;

  async snapshot(jobId: string, name?: string): Promise<SnapshotSummary> {
    if (name !== undefined) checkSnapshotName(name);
    // Refused before the checkpoint is taken, not only when the copy would begin.
    if (name !== undefined && (await this.snapshots.has(name))) throw new InvalidRequestError(`name: a snapshot named "${name}" exists already`);
    return this.job(jobId).snapshot(name);
  }

  /** Where a job's latest completed checkpoint is (a stopped job's too): a new job restores it to go on from there. */
  latestCheckpointPath(jobId: string): Promise<string> {
    return this.job(jobId).latestCheckpointPath();
  }

  /** Copies a job's latest completed checkpoint into a snapshot (a stop whose snapshot copy a leader change cut short). */
  async snapshotLatestCheckpoint(jobId: string, name: string): Promise<SnapshotSummary> {
    checkSnapshotName(name);
    return this.job(jobId).snapshotOfLatestCheckpoint(name);
  }

  checkpoint(jobId: string): Promise<CompletedCheckpointInfo> {
    return this.job(jobId).checkpoint();
  }

  async rescale(jobId: string, parallelism: unknown): Promise<RescaleResult> {
    if (typeof parallelism !== 'number') throw new InvalidRequestError(`parallelism: must be an integer, got ${JSON.stringify(parallelism)}`);
    return this.job(jobId).rescale(parallelism);
  }

  listJobs(): JobStatusView[] {
    return [...this.jobs.values()].map((j) => j.getStatus());
  }

  jobStatus(jobId: string): JobStatusView {
    return this.job(jobId).getStatus();
  }

  /** A job's status, undefined when this leader knows no such job. */
  findJobStatus(jobId: string): JobStatusView | undefined {
    return this.jobs.get(jobId)?.getStatus();
  }

  async cancel(jobId: string): Promise<JobStatusView> {
    const job = this.job(jobId);
    await job.cancel();
    return job.getStatus();
  }

  async stop(jobId: string, options: { snapshot?: boolean; name?: string } = {}): Promise<StopResult> {
    if (options.name !== undefined) checkSnapshotName(options.name);
    return this.job(jobId).stop(options);
  }

  overview() {
    const workers = this.workers.all().map((w) => ({
      workerId: w.workerId,
      rpcAddress: w.rpcAddress,
      dataAddress: w.dataAddress,
      metricsAddress: w.metricsAddress,
      slots: w.slots,
      freeSlots: this.freeSlots(w.workerId, ''),
      lastHeartbeatMs: w.lastHeartbeatMs,
      running: w.running.map((r) => ({ jobId: r.jobId, attempt: r.attempt, subtasks: r.subtasks.length })),
    }));
    return {
      coordinatorId: this.options.coordinatorId,
      epoch: this.options.leadership.epoch,
      ready: this.ready,
      slotsTotal: this.workers.totalSlots,
      slotsFree: workers.reduce((sum, w) => sum + w.freeSlots, 0),
      workers,
      jobs: this.listJobs().map((j) => ({ jobId: j.jobId, jobName: j.jobName, state: j.state, attempt: j.attempt })),
    };
  }

  /** Leadership lost: stop ticking and forget everything, without a call to any worker. */
  dispose(): void {
    this.disposed = true;
    this.tickTimer?.cancel();
    for (const job of this.jobs.values()) job.dispose();
    for (const client of this.clients.values()) client.close();
  }
}

/** What a worker reports running, its subtasks' states checked. */
function decodeRunning(running: readonly RunningAttempt[]): RunningAttemptReport[] {
  return running.map((r) => ({
    jobId: r.jobId,
    attempt: r.attempt,
    subtasks: r.subtasks.map((s): SubtaskStatus => {
      if (s.state !== 'running' && s.state !== 'finished') throw new InvalidRequestError(`subtask ${s.taskId}/${s.subtask} of job ${r.jobId}: state must be "running" or "finished", got "${s.state}"`);
      const { pendingRecords, ...status } = s;
      return { ...status, state: s.state, pendingRecords: pendingRecords >= 0 ? pendingRecords : undefined };
    }),
  }));
}

function checkedCheckpointing(value: unknown): NonNullable<JobSubmission['checkpointing']> {
  const c = value as Record<string, unknown>;
  if (typeof c !== 'object' || c === null || typeof c.enabled !== 'boolean') throw new InvalidRequestError('checkpointing.enabled: true or false');
  if (typeof c.intervalMs !== 'number' || !Number.isInteger(c.intervalMs) || c.intervalMs < 1) throw new InvalidRequestError(`checkpointing.intervalMs: milliseconds, at least 1; got ${JSON.stringify(c.intervalMs)}`);
  if (typeof c.minPauseMs !== 'number' || !Number.isInteger(c.minPauseMs) || c.minPauseMs < 0) throw new InvalidRequestError(`checkpointing.minPauseMs: milliseconds, at least 0; got ${JSON.stringify(c.minPauseMs)}`);
  return { enabled: c.enabled, intervalMs: c.intervalMs, minPauseMs: c.minPauseMs };
}
