// Runs a job in one process: the embedded mode behind `sluice run`. It builds every subtask of
// the plan, wires chains and exchanges, restores from a checkpoint if asked, and schedules the
// subtasks cooperatively on the event loop: a batch from each source, then every downstream
// subtask in topological order until all is processed. A slow consumer therefore slows its
// sources (nothing queues without bound), and all of it is deterministic for a given input.
// Checkpoints inject barriers at all sources between two batches; a bounded job ends with a
// final checkpoint whose completion commits the sinks' last output.

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize } from 'node:v8';
import type { SplitState } from '../../shared/api/connectors.ts';
import type { ApplicationProperties, StreamExecutionEnvironment } from '../../shared/api/environment.ts';
import type { Clock } from '../../shared/clock.ts';
import { sleep } from '../../shared/clock.ts';
import { RestoreError } from '../../shared/errors.ts';
import { keyGroupRangeForSubtask } from '../../shared/key-groups.ts';
import type { Logger } from '../../shared/logging.ts';
import { CheckpointCoordinator, type CheckpointParticipants, type CompletedCheckpointInfo } from '../../coordinator/checkpoint/checkpoint-coordinator.ts';
import type { CheckpointMetadata } from '../../coordinator/checkpoint/checkpoint-metadata.ts';
import type { CheckpointStorage } from '../../coordinator/checkpoint/checkpoint-storage.ts';
import type { SinkOperatorState } from '../operators/sink-operator.ts';
import { SinkOperator } from '../operators/sink-operator.ts';
import type { SourceOperatorState } from '../operators/source-operator.ts';
import { SourceOperator } from '../operators/source-operator.ts';
import { createKeyedStateBackend } from '../state/index.ts';
import type { KeyedStateBackend, StateBackendKind } from '../state/keyed-state-backend.ts';
import type { DeadLetterOutput } from './dead-letter.ts';
import { ExchangeOutput, InputChannel } from './exchange.ts';
import { planJob, type JobPlan } from './job-plan.ts';
import { createOperator, isKeyedNode } from './operator-factory.ts';
import { BroadcastingOutput, ChainingOutput, DiscardingOutput, SideOutputAdapter, type Output } from './output.ts';
import type { AbstractStreamOperator, OperatorSnapshot } from './stream-operator.ts';
import { StreamTask } from './stream-task.ts';

export interface RestoreSource {
  readonly storage: CheckpointStorage;
  readonly checkpointId: number;
  /** Skip state of operators (uids) the job no longer has, instead of failing. */
  readonly allowNonRestoredState?: boolean;
}

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
  readonly checkpoints: { completed: number; failed: number; last: CompletedCheckpointInfo | undefined };
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
  private wakeUp: (() => void) | undefined;
  private readonly watermarkIntervalMs: number;

  private constructor(
    readonly plan: JobPlan,
    private readonly options: EmbeddedExecutorOptions,
    watermarkIntervalMs: number,
  ) {
    this.watermarkIntervalMs = watermarkIntervalMs;
  }

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
    const restored = options.restore ? await this.loadRestoreState(options.restore) : undefined;
    // New checkpoints continue after every id the directory holds, so none is ever overwritten.
    const completed = await options.checkpointStorage.listCompleted();
    const lastCheckpointId = Math.max(restored?.metadata.checkpointId ?? 0, completed.length > 0 ? completed[completed.length - 1]! : 0);

    const operatorsOfTask: Array<Array<Array<{ uid: string; operator: AbstractStreamOperator }>>> = [];
    const operatorOf = (nodeId: number, subtask: number) =>
      operatorsOfTask[plan.taskOfNode.get(nodeId)!]![subtask]!.find((o) => o.uid === plan.uidOf.get(nodeId))!.operator;

    // 1. operator instances and tasks
    for (const vertex of plan.tasks) {
      const perSubtask: Array<Array<{ uid: string; operator: AbstractStreamOperator }>> = [];
      for (let i = 0; i < vertex.parallelism; i++) {
        perSubtask.push(
          vertex.nodeIds.map((id) => ({
            uid: plan.uidOf.get(id)!,
            operator: createOperator(plan.graph.node(id), { jobName: plan.jobName, watermarkIntervalMs: this.watermarkIntervalMs, deadLetters: options.deadLetters }),
          })),
        );
      }
      operatorsOfTask.push(perSubtask);
      for (let i = 0; i < vertex.parallelism; i++) this.tasks.push(new StreamTask(vertex, i, perSubtask[i]!, this.listener));
      for (const id of vertex.nodeIds) {
        this.operatorNames.set(plan.uidOf.get(id)!, { name: plan.graph.node(id).name, parallelism: vertex.parallelism, maxParallelism: plan.maxParallelismOf.get(id)! });
      }
    }
    const taskOf = (taskId: number, subtask: number) => this.tasks.find((t) => t.vertex.id === taskId && t.subtaskIndex === subtask)!;

    // 2. channels: one per (producer subtask, consumer subtask) of every edge between tasks
    const exchangeBatchSize = options.exchangeBatchSize ?? 1024;
    const outputsOf = new Map<string, Output[]>();
    const addOutput = (nodeId: number, subtask: number, out: Output) => {
      const key = `${nodeId}/${subtask}`;
      let list = outputsOf.get(key);
      if (!list) outputsOf.set(key, (list = []));
      list.push(out);
    };
    for (const edge of plan.edges) {
      const producerTask = plan.taskOfNode.get(edge.sourceId)!;
      const consumerTask = plan.taskOfNode.get(edge.targetId)!;
      const producerParallelism = plan.parallelismOf.get(edge.sourceId)!;
      const consumerParallelism = plan.parallelismOf.get(edge.targetId)!;
      for (let p = 0; p < producerParallelism; p++) {
        let out: Output;
        if (producerTask === consumerTask) {
          out = new ChainingOutput(operatorOf(edge.targetId, p));
        } else {
          const consumers = edge.partitioning === 'forward' ? [p] : [...Array(consumerParallelism).keys()];
          const channels = consumers.map((c) => {
            const consumer = taskOf(consumerTask, c);
            const channel = new InputChannel(edge.inputIndex, `${plan.graph.node(edge.sourceId).name}#${p}`, () => {
              consumer.hasInput = true;
            });
            consumer.addChannel(channel);
            return channel;
          });
          const exchange = new ExchangeOutput(channels, {
            partitioning: edge.partitioning,
            keySelector: edge.keySelector,
            maxParallelism: plan.maxParallelismOf.get(edge.targetId)!,
            producerIndex: p,
            batchSize: exchangeBatchSize,
          });
          taskOf(producerTask, p).exchangeOutputs.push(exchange);
          out = exchange;
        }
        addOutput(edge.sourceId, p, edge.sideOutputTag ? new SideOutputAdapter(edge.sideOutputTag.id, out) : out);
      }
    }

    // 3. setup, state backends, restore, open — in plan order
    const discoveredSplits = new Map<number, readonly SplitState[]>();
    for (const vertex of plan.tasks) {
      for (let i = 0; i < vertex.parallelism; i++) {
        for (const nodeId of vertex.nodeIds) {
          const node = plan.graph.node(nodeId);
          const uid = plan.uidOf.get(nodeId)!;
          const operator = operatorOf(nodeId, i);
          const outputs = outputsOf.get(`${nodeId}/${i}`) ?? [];
          const output = outputs.length === 0 ? new DiscardingOutput() : outputs.length === 1 ? outputs[0]! : new BroadcastingOutput(outputs);
          let keyed;
          if (isKeyedNode(node) && node.kind === 'operator') {
            const backend = await createKeyedStateBackend(options.stateBackend, {
              keyGroupRange: keyGroupRangeForSubtask(plan.maxParallelismOf.get(nodeId)!, vertex.parallelism, i),
              maxParallelism: plan.maxParallelismOf.get(nodeId)!,
              workingDirectory: join(options.stateDirectory ?? join(tmpdir(), `sluice-state-${process.pid}`), safeName(plan.jobName), safeName(uid), String(i)),
            });
            this.backends.push(backend);
            keyed = { backend, keySelectors: node.keySelectors };
          }
          operator.setup({
            uid,
            name: node.name,
            subtaskIndex: i,
            parallelism: vertex.parallelism,
            maxParallelism: plan.maxParallelismOf.get(nodeId)!,
            properties: options.properties,
            clock: options.clock,
            output,
            ...(keyed ? { keyed } : {}),
          });
          const snapshots = restored?.byUid.get(uid);
          if (operator instanceof SourceOperator && node.kind === 'source') {
            let splits: SplitState[];
            if (snapshots) {
              splits = redistribute(snapshots.map((s) => (s.operatorState as SourceOperatorState).splits), vertex.parallelism, i);
            } else {
              let discovered = discoveredSplits.get(nodeId);
              if (!discovered) discoveredSplits.set(nodeId, (discovered = await node.source.discoverSplits({ parallelism: vertex.parallelism })));
              splits = roundRobin(discovered, vertex.parallelism, i);
            }
            await operator.initialize(splits);
          } else if (operator instanceof SinkOperator) {
            const mine = (snapshots ?? []).filter((_, old) => old % vertex.parallelism === i).map((s) => s.operatorState as SinkOperatorState);
            await operator.initialize(mine);
          } else if (snapshots) {
            await operator.restoreState(snapshots);
          }
          await operator.open();
        }
      }
    }

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

  private async loadRestoreState(restore: RestoreSource): Promise<{ metadata: CheckpointMetadata; byUid: Map<string, OperatorSnapshot[]> }> {
    const metadata = await restore.storage.readMetadata(restore.checkpointId);
    const where = `${restore.storage.location} checkpoint ${restore.checkpointId}`;
    if (metadata.maxParallelism !== this.plan.maxParallelism) {
      throw new RestoreError(
        `${where} was taken with max parallelism ${metadata.maxParallelism}, but this job has ${this.plan.maxParallelism}; ` +
          `key groups cannot be remapped — run with --max-parallelism ${metadata.maxParallelism}`,
      );
    }
    const nodeOfUid = new Map([...this.plan.uidOf.entries()].map(([node, uid]) => [uid, node]));
    const byUid = new Map<string, OperatorSnapshot[]>();
    for (const op of metadata.operators) {
      const node = nodeOfUid.get(op.uid);
      const maxParallelism = node === undefined ? undefined : this.plan.maxParallelismOf.get(node);
      if (maxParallelism !== undefined && op.maxParallelism !== undefined && op.maxParallelism !== maxParallelism) {
        throw new RestoreError(
          `${where}: operator uid "${op.uid}" was checkpointed with max parallelism ${op.maxParallelism}, but it now has ${maxParallelism}; ` +
            'key groups cannot be remapped — keep its max parallelism',
        );
      }
      if (node === undefined) {
        if (restore.allowNonRestoredState) continue;
        throw new RestoreError(
          `${where} has state for operator uid "${op.uid}" (${op.name}), which this job does not have; ` +
            'give the operator the same uid, or allow non-restored state to drop it',
        );
      }
      const snapshots: OperatorSnapshot[] = [];
      for (const handle of [...op.subtasks].sort((a, b) => a.subtask - b.subtask)) {
        const bytes = await restore.storage.readState(restore.checkpointId, handle);
        try {
          snapshots.push(deserialize(bytes) as OperatorSnapshot);
        } catch (error) {
          throw new RestoreError(`${where}: state file ${handle.file} cannot be decoded: ${(error as Error).message}`, { cause: error });
        }
      }
      byUid.set(op.uid, snapshots);
    }
    return { metadata, byUid };
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
        for (const task of this.tasks) if (task.status === 'finished' || task.source) task.triggerCheckpoint(checkpointId);
        this.drain();
      },
      notifyCheckpointComplete: async (checkpointId: number) => {
        for (const task of this.tasks) await task.notifyCheckpointComplete(checkpointId);
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
          if (task.status !== 'running') continue;
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
          await this.idle(Math.max(0, Math.min(waitMs, nextTimer - clock.now())));
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

  private idle(ms: number): Promise<void> {
    if (ms <= 0) return new Promise((resolve) => setImmediate(resolve));
    return new Promise<void>((resolve) => {
      const timer = this.options.clock.schedule(ms, () => {
        this.wakeUp = undefined;
        resolve();
      });
      this.wakeUp = () => {
        timer.cancel();
        this.wakeUp = undefined;
        resolve();
      };
    });
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
    this.wakeUp?.();
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
      checkpoints: { completed: this.coordinator?.numberOfCompleted ?? 0, failed: this.coordinator?.numberOfFailed ?? 0, last: this.coordinator?.lastCompleted },
      subtasks: this.tasks.map((t) => ({ task: t.name, status: t.status, recordsIn: t.recordsIn, watermark: t.combinedWatermark })),
    };
  }
}

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_');
}

function roundRobin(splits: readonly SplitState[], parallelism: number, subtask: number): SplitState[] {
  return splits.filter((_, i) => i % parallelism === subtask);
}

/** Restored splits: each old subtask's to the same new subtask when parallelism is unchanged, else round-robin. */
function redistribute(old: ReadonlyArray<readonly SplitState[]>, parallelism: number, subtask: number): SplitState[] {
  if (old.length === parallelism) return [...old[subtask]!];
  return roundRobin(old.flat(), parallelism, subtask);
}
