// Builds the subtasks of a job plan that run in this process: operator instances, chains,
// exchanges, state backends, restored state, source splits. The embedded executor builds every
// subtask with local channels only; a worker builds the subtasks the coordinator placed on it, and
// an edge whose other end lives on another worker gets a remote channel from the data plane.

import type { UserMetricRegistry } from '../../shared/metrics/user-metrics.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobIdentity, SplitState } from '../../shared/api/connectors.ts';
import type { ApplicationProperties } from '../../shared/api/environment.ts';
import type { Clock } from '../../shared/clock.ts';
import { keyGroupRangeForSubtask } from '../../shared/key-groups.ts';
import type { RestoredState } from '../../shared/checkpoint/restore-state.ts';
import type { SinkOperatorState } from '../operators/sink-operator.ts';
import { SinkOperator } from '../operators/sink-operator.ts';
import type { SourceOperatorState } from '../operators/source-operator.ts';
import { SourceOperator } from '../operators/source-operator.ts';
import { createKeyedStateBackend } from '../state/index.ts';
import type { KeyedStateBackend, StateBackendKind } from '../state/keyed-state-backend.ts';
import type { DeadLetterOutput } from './dead-letter.ts';
import { ExchangeOutput, InputChannel, type ChannelTarget } from './exchange.ts';
import type { JobPlan } from '../../shared/plan/job-plan.ts';
import { operatorInfoOf, type OperatorInfo } from '../../shared/plan/operator-info.ts';
import { discoverAndDeal, redistributeRestored } from '../../shared/plan/split-assignment.ts';
import { createOperator, isKeyedNode } from './operator-factory.ts';
import { BroadcastingOutput, ChainingOutput, DiscardingOutput, SideOutputAdapter, type Output } from './output.ts';
import type { AbstractStreamOperator } from './stream-operator.ts';
import { StreamTask, type TaskListener } from './stream-task.ts';

/** Links to subtasks in other processes, for edges that cross them. */
export interface RemoteChannels {
  /** A target on this side for records that local producer subtask `producer` sends to remote `consumer`. */
  output(edgeIndex: number, producer: number, consumer: number): ChannelTarget;
  /** Registers the channel where records from remote `producer` to local `consumer` arrive. */
  input(edgeIndex: number, producer: number, consumer: number, channel: InputChannel): void;
}

export interface SubtaskBuildOptions {
  readonly plan: JobPlan;
  /** The job the subtasks run in (its sinks claim their outputs for it). */
  readonly job: JobIdentity;
  readonly properties: ApplicationProperties;
  readonly clock: Clock;
  readonly stateBackend: StateBackendKind;
  /** Where the LevelDB backend keeps its working databases. */
  readonly stateDirectory?: string;
  /** LevelDB backend: cache entries per keyed subtask; it writes to LevelDB once half of them are dirty. */
  readonly stateCacheEntries?: number;
  readonly deadLetters: DeadLetterOutput;
  readonly watermarkIntervalMs: number;
  /** Records per exchange batch. */
  readonly exchangeBatchSize?: number;
  readonly listener: TaskListener;
  readonly restored?: RestoredState;
  /** Which subtasks run in this process; all when absent. */
  readonly isLocal?: (taskId: number, subtask: number) => boolean;
  /** Required when some subtasks are not local. */
  readonly remote?: RemoteChannels;
  /** A fresh start's splits of a source subtask, as the coordinator assigned them; discovered here when absent. */
  readonly initialSplits?: (nodeId: number, subtask: number) => readonly SplitState[] | undefined;
  /**
   * Where user functions' metrics go, and the labels of this attempt's task scope (job_id,
   * job_name, task_attempt_num, tm_id); each operator subtask adds task_name, subtask_index,
   * operator_id and operator_name.
   */
  readonly userMetrics?: { readonly registry: UserMetricRegistry; readonly scope: Readonly<Record<string, string>> };
  /** Wakes the scheduler when an operator has work off its turn (an async I/O answer). */
  readonly wakeUp?: () => void;
  /** Told when a channel of a local task received data (to wake a scheduler). */
  readonly onChannelData?: (task: StreamTask) => void;
  /**
   * Live rescale: `plan` is the job at its new parallelism and `existing` what runs here at the
   * old one. Only the subtasks that are new at `plan`'s parallelism are built; they are wired to
   * the running ones, whose exchanges switch to the new consumers at barrier `checkpointId`.
   */
  readonly rescaleOf?: { readonly previous: JobPlan; readonly existing: BuiltSubtasks; readonly checkpointId: number };
}

export interface BuiltSubtasks {
  readonly tasks: StreamTask[];
  readonly backends: KeyedStateBackend[];
  /** uid → what the checkpoint metadata records of the operator. */
  readonly operatorInfo: Map<string, OperatorInfo>;
  /** "edgeIndex/producer" → the exchange of a local producer subtask. */
  readonly exchanges: Map<string, ExchangeOutput>;
  /** The state backends of each keyed subtask. */
  readonly backendsOf: Map<StreamTask, KeyedStateBackend[]>;
}

export async function buildSubtasks(options: SubtaskBuildOptions): Promise<BuiltSubtasks> {
  const { plan } = options;
  const isLocal = options.isLocal ?? (() => true);
  const rescale = options.rescaleOf;
  /** How many subtasks of a task ran before the rescale (0: none, everything here is new). */
  const previousParallelism = (taskId: number) => (rescale ? rescale.previous.tasks.find((t) => t.id === taskId)!.parallelism : 0);
  const tasks: StreamTask[] = [];
  const backends: KeyedStateBackend[] = [];
  const exchanges = new Map<string, ExchangeOutput>();
  const backendsOf = new Map<StreamTask, KeyedStateBackend[]>();
  const operatorInfo = operatorInfoOf(plan);
  const operatorsOf = new Map<string, Array<{ uid: string; operator: AbstractStreamOperator }>>();
  const taskAt = new Map<string, StreamTask>();
  for (const task of rescale?.existing.tasks ?? []) taskAt.set(`${task.vertex.id}/${task.subtaskIndex}`, task);
  const operatorOf = (nodeId: number, subtask: number) =>
    operatorsOf.get(`${plan.taskOfNode.get(nodeId)!}/${subtask}`)!.find((o) => o.uid === plan.uidOf.get(nodeId))!.operator;

  // 1. operator instances and tasks
  for (const vertex of plan.tasks) {
    for (let i = previousParallelism(vertex.id); i < vertex.parallelism; i++) {
      if (!isLocal(vertex.id, i)) continue;
      const operators = vertex.nodeIds.map((id) => ({
        uid: plan.uidOf.get(id)!,
        operator: createOperator(plan.graph.node(id), { jobName: plan.jobName, job: options.job, watermarkIntervalMs: options.watermarkIntervalMs, deadLetters: options.deadLetters }),
      }));
      operatorsOf.set(`${vertex.id}/${i}`, operators);
      const task = new StreamTask(vertex, i, operators, options.listener);
      tasks.push(task);
      taskAt.set(`${vertex.id}/${i}`, task);
    }
  }

  // 2. channels: one per (producer subtask, consumer subtask) of every edge between tasks
  const exchangeBatchSize = options.exchangeBatchSize ?? 1024;
  const outputsOf = new Map<string, Output[]>();
  const addOutput = (nodeId: number, subtask: number, out: Output) => {
    const key = `${nodeId}/${subtask}`;
    let list = outputsOf.get(key);
    if (!list) outputsOf.set(key, (list = []));
    list.push(out);
  };
  plan.edges.forEach((edge, edgeIndex) => {
    const producerTask = plan.taskOfNode.get(edge.sourceId)!;
    const consumerTask = plan.taskOfNode.get(edge.targetId)!;
    const producerParallelism = plan.parallelismOf.get(edge.sourceId)!;
    const consumerParallelism = plan.parallelismOf.get(edge.targetId)!;
    const newChannel = (p: number, consumer: StreamTask) =>
      new InputChannel(edge.inputIndex, `${plan.graph.node(edge.sourceId).name}#${p}`, () => {
        consumer.hasInput = true;
        options.onChannelData?.(consumer);
      });
    const producersBefore = previousParallelism(producerTask);
    const consumersBefore = previousParallelism(consumerTask);
    for (let p = 0; p < producerParallelism; p++) {
      const producerLocal = isLocal(producerTask, p);
      const producerExisted = p < producersBefore;
      if (producerTask === consumerTask) {
        if (producerLocal && !producerExisted) addOutput(edge.sourceId, p, sideOutput(edge.sideOutputTag?.id, new ChainingOutput(operatorOf(edge.targetId, p))));
        continue;
      }
      const consumers = edge.partitioning === 'forward' ? [p] : [...Array(consumerParallelism).keys()];
      const existingExchange = producerExisted && producerLocal ? rescale!.existing.exchanges.get(`${edgeIndex}/${p}`) : undefined;
      if (producerExisted && producerLocal && !existingExchange) throw new Error(`no exchange of edge ${edgeIndex} for running subtask ${p}`);
      const targets: ChannelTarget[] = [];
      for (const c of consumers) {
        const consumer = taskAt.get(`${consumerTask}/${c}`);
        if (producerExisted && c < consumersBefore) {
          // The channel runs already.
          if (existingExchange) targets.push(existingExchange.targetOf(edge.partitioning === 'forward' ? 0 : c));
        } else if (producerLocal && consumer) {
          const channel = newChannel(p, consumer);
          consumer.addChannel(channel);
          targets.push(channel);
        } else if (producerLocal) {
          targets.push(remoteChannels(options).output(edgeIndex, p, c));
        } else if (consumer) {
          const channel = newChannel(p, consumer);
          consumer.addChannel(channel);
          remoteChannels(options).input(edgeIndex, p, c, channel);
        }
      }
      if (!producerLocal) continue;
      if (existingExchange) {
        exchanges.set(`${edgeIndex}/${p}`, existingExchange);
        if (edge.partitioning !== 'forward') existingExchange.prepareRescale(rescale!.checkpointId, targets);
        continue;
      }
      const exchange = new ExchangeOutput(targets, {
        partitioning: edge.partitioning,
        keySelector: edge.keySelector,
        maxParallelism: plan.maxParallelismOf.get(edge.targetId)!,
        producerIndex: p,
        batchSize: exchangeBatchSize,
      });
      taskAt.get(`${producerTask}/${p}`)!.exchangeOutputs.push(exchange);
      exchanges.set(`${edgeIndex}/${p}`, exchange);
      addOutput(edge.sourceId, p, sideOutput(edge.sideOutputTag?.id, exchange));
    }
  });

  // 3. setup, state backends, restore, open — task by task in plan order
  const restored = options.restored;
  const dealtSplits = new Map<number, SplitState[][]>();
  for (const vertex of plan.tasks) {
    const local = [...Array(vertex.parallelism).keys()].filter((i) => i >= previousParallelism(vertex.id) && isLocal(vertex.id, i));
    const build = async (i: number): Promise<void> => {
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
            ...(options.stateCacheEntries === undefined ? {} : { cacheCapacityEntries: options.stateCacheEntries }),
          });
          backends.push(backend);
          backendsOf.set(taskAt.get(`${vertex.id}/${i}`)!, [...(backendsOf.get(taskAt.get(`${vertex.id}/${i}`)!) ?? []), backend]);
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
          ...(options.wakeUp ? { wakeUp: options.wakeUp } : {}),
          ...(options.userMetrics
            ? {
                metricGroup: options.userMetrics.registry.operatorGroup({
                  ...options.userMetrics.scope,
                  task_name: vertex.name,
                  subtask_index: String(i),
                  operator_id: uid,
                  operator_name: node.name,
                }),
              }
            : {}),
          output,
          ...(keyed ? { keyed } : {}),
        });
        const snapshots = restored?.byUid.get(uid);
        if (operator instanceof SourceOperator && node.kind === 'source') {
          let splits: SplitState[];
          if (snapshots) {
            splits = redistributeRestored(snapshots.map((s) => (s.operatorState as SourceOperatorState).splits), vertex.parallelism, i);
          } else if (rescale) {
            splits = []; // a subtask added by a live rescale takes its splits over from the others
          } else {
            const assigned = options.initialSplits?.(nodeId, i);
            if (assigned) splits = [...assigned];
            else {
              let dealt = dealtSplits.get(nodeId);
              if (!dealt) dealtSplits.set(nodeId, (dealt = await discoverAndDeal(node.source, vertex.parallelism)));
              splits = dealt[i]!;
            }
          }
          await operator.initialize(splits);
        } else if (operator instanceof SinkOperator) {
          const mine = (snapshots ?? []).filter((_, old) => old % vertex.parallelism === i).map((s) => s.operatorState as SinkOperatorState);
          await operator.initialize(mine);
        } else if (snapshots) {
          await operator.restoreState(snapshots);
        }
        operator.initializeState();
        await operator.open();
      }
    };
    // A source node discovers its splits once, so its subtasks are built one after another; the
    // others restore their state side by side (a rescaled worker restores several at once).
    if (vertex.isSource) for (const i of local) await build(i);
    else await Promise.all(local.map(build));
  }
  // 4. before any subtask reads: source subtasks without a split are idle, so no watermark waits for them
  for (const task of tasks) task.source?.idleIfWithoutSplits();
  return { tasks, backends, backendsOf, operatorInfo, exchanges };
}

function remoteChannels(options: SubtaskBuildOptions): RemoteChannels {
  if (!options.remote) throw new Error('an edge crosses processes but no remote channels were given');
  return options.remote;
}

function sideOutput(tagId: string | undefined, out: Output): Output {
  return tagId === undefined ? out : new SideOutputAdapter(tagId, out);
}

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_');
}
