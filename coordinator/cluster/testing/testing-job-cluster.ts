// A job master among scripted workers, for tests that drive one interleaving of the control plane
// exactly: a call that fails, an answer that is lost, a call held while a new leader takes over.
// The workers answer the WorkerGateway calls a job master makes (they run nothing: checkpoints
// carry no state) and acknowledge each checkpoint for the subtasks they run; the HA store is the
// embedded one, checkpoints go to a memory:// store, and time is a manual clock.

import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../../../shared/clock.ts';
import { buildApplication } from '../../../shared/load-application.ts';
import { InMemoryLogger } from '../../../shared/logging.ts';
import { RpcUnavailableError, type CallOptions, type ServiceHandlers } from '../../../shared/rpc/rpc.ts';
import type { SubtaskRef } from '../../../shared/rpc/subtask-ref.ts';
import type { WorkerGatewayMethods } from '../../../shared/rpc/worker-gateway.ts';
import { openCheckpointStorage, childLocation, type ObjectStoreCheckpointStorage } from '../../../shared/checkpoint/checkpoint-storage.ts';
import { SnapshotCatalog } from '../../../shared/checkpoint/snapshots.ts';
import { EmbeddedHighAvailabilityServices } from '../../ha/embedded-high-availability-services.ts';
import type { HighAvailabilityServices, Leadership } from '../../ha/high-availability-services.ts';
import { createRestartStrategy } from '../../scheduler/restart-strategy.ts';
import { JobController, type CheckpointingSettings, type WorkerGatewayClient } from '../../job/job-controller.ts';
import { jobKey, type JobRecord, type JobSubmission } from '../../job/job-record.ts';
import { WorkerRegistry, type RunningSubtask } from '../worker-registry.ts';

type Method = keyof WorkerGatewayMethods;

/** A call a testing worker received; `callsOf(method)` gives the calls of one method with their request's type. */
export interface RecordedCall<K extends Method = Method> {
  readonly method: K;
  readonly request: WorkerGatewayMethods[K]['request'];
  readonly epoch: number | undefined;
}

type Fault = { readonly method: Method; readonly mode: 'unreachable' | 'answer-lost' };

/** One scripted worker: answers calls, records them, acknowledges checkpoints; fails or holds calls when told. */
export class TestingWorker implements WorkerGatewayClient {
  readonly calls: RecordedCall[] = [];
  attempt = 0;
  subtasks: SubtaskRef[] = [];
  /** Subtasks a live rescale adds here: they acknowledge from the rescale's barrier on. */
  private adding: SubtaskRef[] = [];
  private nextPlacement: SubtaskRef[] | undefined;
  private readonly faults: Fault[] = [];
  private readonly holds = new Map<Method, { arrived: () => void; released: Promise<void> }>();

  constructor(
    readonly workerId: string,
    private readonly cluster: TestingJobCluster,
  ) {}

  get rpcAddress(): string {
    return `testing://${this.workerId}`;
  }

  /** The next call of `method` fails: 'unreachable' before it takes effect, 'answer-lost' after. */
  failNext(method: Method, mode: Fault['mode'] = 'unreachable'): void {
    this.faults.push({ method, mode });
  }

  /** Holds the next call of `method` until released; `arrived` resolves once it came. */
  hold(method: Method): { arrived: Promise<void>; release: () => void } {
    let arrived!: () => void;
    let release!: () => void;
    const arrivedPromise = new Promise<void>((resolve) => (arrived = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.holds.set(method, { arrived, released });
    return { arrived: arrivedPromise, release };
  }

  callsOf<K extends Method>(method: K): Array<RecordedCall<K>> {
    return this.calls.filter((c): c is RecordedCall<K> => c.method === method);
  }

  async call<K extends Method>(method: K, request: WorkerGatewayMethods[K]['request'], options: CallOptions = {}): Promise<WorkerGatewayMethods[K]['response']> {
    const recorded: RecordedCall<K> = { method, request, epoch: options.epoch };
    this.calls.push(recorded);
    const hold = this.holds.get(method);
    if (hold) {
      this.holds.delete(method);
      hold.arrived();
      await hold.released;
    }
    const faultAt = this.faults.findIndex((f) => f.method === method);
    const fault = faultAt < 0 ? undefined : this.faults.splice(faultAt, 1)[0];
    if (fault?.mode === 'unreachable') throw new RpcUnavailableError(`${method}: testing worker ${this.workerId} is unreachable`);
    const answer = await this.handlers[method](request, { epoch: options.epoch, peer: this.rpcAddress });
    if (fault?.mode === 'answer-lost') throw new RpcUnavailableError(`${method}: deadline exceeded (the testing worker ${this.workerId} did it)`);
    return answer;
  }

  /** What the worker does with each call: it runs nothing, but keeps track of the subtasks it would run. */
  private readonly handlers: ServiceHandlers<WorkerGatewayMethods> = {
    DeployTasks: async (r) => {
      if (r.attempt > this.attempt) {
        this.attempt = r.attempt;
        this.subtasks = r.subtasks.map((s) => ({ taskId: s.taskId, subtask: s.subtask }));
      }
      return {};
    },
    TriggerCheckpoint: async (r) => {
      if (r.attempt !== this.attempt) return {};
      const acknowledging = r.splitAssignment ? [...this.subtasks, ...this.adding] : this.subtasks;
      const checkpointId = r.checkpointId;
      setImmediate(() => {
        for (const s of acknowledging) this.cluster.acknowledge({ attempt: this.attempt, checkpointId, taskId: s.taskId, subtask: s.subtask, states: [] });
      });
      return {};
    },
    NotifyCheckpointComplete: async () => ({}),
    AbortCheckpoint: async () => ({}),
    PrepareRescale: async (r) => {
      if (r.deployment) this.attempt = r.attempt;
      this.adding = r.subtasks.map((s) => ({ taskId: s.taskId, subtask: s.subtask }));
      this.nextPlacement = r.placements.filter((p) => p.workerId === this.workerId).map((p) => ({ taskId: p.taskId, subtask: p.subtask }));
      return { splits: [] };
    },
    CompleteRescale: async () => {
      this.subtasks = this.nextPlacement ?? this.subtasks;
      this.adding = [];
      this.nextPlacement = undefined;
      return { stashedRecords: 0, keyGroupsTakenOver: 0, keyGroupsStaged: 0, splitsTakenOver: 0, retiredSubtasks: 0, keyGroupPauseMs: 0 };
    },
    CancelJob: async (r) => {
      if (r.attempt === 0 || r.attempt >= this.attempt) this.subtasks = [];
      return {};
    },
  };

  /** What this worker's heartbeat reports: its subtasks of the current attempt, running or finished. */
  report(jobId: string, state: RunningSubtask['state'] = 'running'): Array<{ jobId: string; attempt: number; subtasks: RunningSubtask[] }> {
    if (this.subtasks.length === 0) return [];
    const subtasks = this.subtasks.map((s) => ({ ...s, taskName: `task ${s.taskId}`, state, recordsIn: 0, recordsOut: 0, watermark: 0, busyTimeMs: 0, backPressuredTimeMs: 0, backPressured: false, lateRecordsDropped: 0 }));
    return [{ jobId, attempt: this.attempt, subtasks }];
  }
}

export interface TestingJobClusterOptions {
  readonly workers?: number;
  readonly slotsPerWorker?: number;
  readonly parallelism?: number;
  readonly checkpointing?: Partial<CheckpointingSettings>;
  /** Wraps the HA store the leaders use (to lose an answer, for one). */
  readonly wrapStore?: (store: HighAvailabilityServices) => HighAvailabilityServices;
}

const KEYED_COUNT_APP = fileURLToPath(new URL('./keyed-count-app.ts', import.meta.url));

export class TestingJobCluster {
  readonly clock = new ManualClock(1_000_000);
  readonly logger = new InMemoryLogger();
  readonly embeddedStore = new EmbeddedHighAvailabilityServices();
  readonly store: HighAvailabilityServices;
  readonly workers: TestingWorker[];
  readonly checkpointing: CheckpointingSettings;
  /** The leader job master that acknowledgements go to. */
  master: JobController | undefined;
  readonly fenced: Error[] = [];
  private readonly submission: JobSubmission;

  constructor(private readonly options: TestingJobClusterOptions = {}) {
    this.store = options.wrapStore ? options.wrapStore(this.embeddedStore) : this.embeddedStore;
    const root = `memory://testing-job-cluster-${randomUUID()}`;
    this.checkpointing = {
      checkpointRoot: `${root}/checkpoints`,
      snapshotRoot: `${root}/snapshots`,
      checkpointIntervalMs: 1_000,
      minPauseBetweenCheckpointsMs: 0,
      retainedCheckpoints: 2,
      checkpointTimeoutMs: 60_000,
      tolerableFailedCheckpoints: 0,
      ...options.checkpointing,
    };
    this.workers = Array.from({ length: options.workers ?? 2 }, (_, i) => new TestingWorker(`worker-${i + 1}`, this));
    this.submission = { jobId: 'job-1', jobName: 'keyed-count', applicationPath: KEYED_COUNT_APP, properties: { test: { output: '/nonexistent', events: '100' } }, parallelism: options.parallelism ?? 2 };
  }

  get jobId(): string {
    return this.submission.jobId;
  }

  /** This job's checkpoint storage, as the job master opens it. */
  storage(): ObjectStoreCheckpointStorage {
    return openCheckpointStorage(childLocation(this.checkpointing.checkpointRoot, this.jobId), 'checkpoints', 'checkpoint directory');
  }

  async campaign(id: string): Promise<Leadership> {
    return this.embeddedStore.campaign({ id, address: `testing://${id}` });
  }

  /** A leader's job master (of the recorded job, if there is one) over a fresh registry where every worker is registered. */
  async controller(leadership: Leadership): Promise<JobController> {
    const registry = new WorkerRegistry(this.clock, 1_000_000);
    for (const w of this.workers) registry.register({ workerId: w.workerId, rpcAddress: w.rpcAddress, dataAddress: `data://${w.workerId}`, metricsAddress: '', slots: this.options.slotsPerWorker ?? 4, running: w.report(this.jobId) });
    const byAddress = new Map(this.workers.map((w) => [w.rpcAddress, w]));
    // As the dispatcher does: a job recorded by an earlier leader is built from its record.
    const recorded = await this.embeddedStore.get(jobKey(this.jobId));
    const submission: JobSubmission = recorded === undefined ? this.submission : (JSON.parse(recorded) as JobRecord);
    const env = await buildApplication(submission.applicationPath, submission.jobName, submission.properties);
    const master = new JobController(submission, env, {
      ha: this.store,
      leadership,
      workers: registry,
      clock: this.clock,
      logger: this.logger.child({ epoch: leadership.epoch }),
      workerClient: (address) => byAddress.get(address)!,
      checkpointing: this.checkpointing,
      snapshots: new SnapshotCatalog(this.checkpointing.snapshotRoot),
      heartbeatIntervalMs: 100,
      restartStrategy: createRestartStrategy({ kind: 'fixed-delay', attempts: 100, delayMs: 100 }, this.clock),
      freeSlots: (workerId) => registry.get(workerId)?.slots ?? 0,
      onFenced: (error) => this.fenced.push(error),
    }, this.clock.now());
    this.master = master;
    return master;
  }

  async record(): Promise<JobRecord> {
    return JSON.parse((await this.embeddedStore.get(jobKey(this.jobId)))!) as JobRecord;
  }

  acknowledge(request: Parameters<JobController['onAcknowledge']>[0]): void {
    this.master?.onAcknowledge(request);
  }

  /** Ticks `master` and moves the clock until `until` holds; fails naming `what` after `maxSteps` ticks. */
  async drive(master: JobController, what: string, until: () => boolean, maxSteps = 2_000): Promise<void> {
    for (let step = 0; step < maxSteps; step++) {
      if (until()) return;
      await master.tick();
      this.clock.advance(50);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (!until()) throw new Error(`gave up waiting for ${what} after ${maxSteps} ticks; job is ${master.currentState}, status ${JSON.stringify(master.getStatus().checkpoints)}`);
  }

  /** Settles `promise` while ticking `master`. */
  async settle<T>(master: JobController, what: string, promise: Promise<T>): Promise<T> {
    let outcome: { value: T } | { error: unknown } | undefined;
    promise.then((value) => (outcome = { value }), (error: unknown) => (outcome = { error }));
    await this.drive(master, what, () => outcome !== undefined);
    if ('error' in outcome!) throw outcome.error;
    return outcome!.value;
  }
}
