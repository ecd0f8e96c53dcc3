// Turns the StreamGraph an application built into an execution plan: validates it (every
// problem named), resolves parallelism, max parallelism and uids, and chains operators into
// tasks. An operator joins its upstream's task when the edge is forward at equal parallelism and
// it has no other input — records then pass by a direct call, with no exchange.

import { isCheckpointedFunction } from '../api/operator-state.ts';
import type { JobSettings } from '../api/environment.ts';
import type { OperatorSpec, StreamEdge, StreamGraph, StreamNode } from '../api/graph.ts';
import { InvalidPipelineError } from '../errors.ts';
import { defaultMaxParallelism } from '../key-groups.ts';

export interface PlannedEdge extends StreamEdge {
  readonly partitioning: StreamEdge['partitioning'];
}

export interface TaskVertex {
  readonly id: number;
  readonly name: string;
  /** Node ids in this task, head first, each after its upstream. */
  readonly nodeIds: readonly number[];
  readonly parallelism: number;
  /** Edges from other tasks into this task's head. */
  readonly inputs: readonly PlannedEdge[];
  readonly isSource: boolean;
}

export interface JobPlan {
  readonly jobName: string;
  readonly graph: StreamGraph;
  /** The job's max parallelism: the default of every operator's. */
  readonly maxParallelism: number;
  /** Each operator's number of key groups (its own setMaxParallelism, else the job's). */
  readonly maxParallelismOf: ReadonlyMap<number, number>;
  readonly defaultParallelism: number;
  readonly parallelismOf: ReadonlyMap<number, number>;
  readonly uidOf: ReadonlyMap<number, string>;
  /** Every edge, with forward edges between different parallelisms turned into rebalance. */
  readonly edges: readonly PlannedEdge[];
  readonly taskOfNode: ReadonlyMap<number, number>;
  /** Tasks in topological order: a task comes after every task that feeds it. */
  readonly tasks: readonly TaskVertex[];
}

export interface PlanOptions {
  readonly jobName: string;
  /** From `--parallelism`; the application's setParallelism wins. */
  readonly parallelism?: number;
  readonly maxParallelism?: number;
}

export function planJob(graph: StreamGraph, settings: JobSettings, options: PlanOptions): JobPlan {
  if (graph.nodes.length === 0) throw new InvalidPipelineError('the application built no pipeline: add a source and a sink to the environment');
  if (!graph.nodes.some((n) => n.kind === 'sink')) {
    throw new InvalidPipelineError('the pipeline has no sink: its results would go nowhere (add sinkTo(...) or print())');
  }

  const defaultParallelism = settings.parallelism ?? options.parallelism ?? 1;
  const parallelismOf = new Map<number, number>();
  for (const node of graph.nodes) parallelismOf.set(node.id, node.parallelism ?? defaultParallelism);
  const maxParallelism = settings.maxParallelism ?? options.maxParallelism ?? defaultMaxParallelism(Math.max(...parallelismOf.values()));
  const maxParallelismOf = new Map<number, number>();
  for (const node of graph.nodes) {
    const p = parallelismOf.get(node.id)!;
    const maxP = node.maxParallelism ?? maxParallelism;
    if (!Number.isInteger(maxP) || maxP < 1 || maxP > 32768) {
      throw new InvalidPipelineError(`operator "${node.name}": max parallelism must be an integer in [1, 32768], got ${maxP}`);
    }
    if (p > maxP) throw new InvalidPipelineError(`operator "${node.name}": parallelism ${p} is greater than its max parallelism ${maxP}`);
    maxParallelismOf.set(node.id, maxP);
  }

  const uidOf = new Map<number, string>();
  const nodeOfUid = new Map<string, StreamNode>();
  for (const node of graph.nodes) {
    const uid = node.uid ?? `auto-${node.id}-${node.kind}`;
    const clash = nodeOfUid.get(uid);
    if (clash) throw new InvalidPipelineError(`duplicate uid "${uid}": used by "${clash.name}" and "${node.name}"; uids must be unique`);
    nodeOfUid.set(uid, node);
    uidOf.set(node.id, uid);
  }

  const edges: PlannedEdge[] = graph.edges.map((edge) => {
    const source = graph.node(edge.sourceId);
    if (source.kind === 'sink') throw new InvalidPipelineError(`"${source.name}" is a sink and has no output`);
    const target = graph.node(edge.targetId);
    if (target.kind === 'operator' && target.keySelectors[edge.inputIndex] !== undefined && edge.partitioning !== 'hash') {
      throw new InvalidPipelineError(`"${target.name}" is keyed but its input is not: call keyBy(...) before it`);
    }
    const sameParallelism = parallelismOf.get(edge.sourceId) === parallelismOf.get(edge.targetId);
    return edge.partitioning === 'forward' && !sameParallelism ? { ...edge, partitioning: 'rebalance' } : edge;
  });

  const order = topologicalOrder(graph, edges);
  const taskOfNode = new Map<number, number>();
  const tasks: Array<{ id: number; name: string; nodeIds: number[]; parallelism: number; inputs: PlannedEdge[]; isSource: boolean }> = [];
  for (const id of order) {
    const node = graph.node(id);
    const inputs = edges.filter((e) => e.targetId === id);
    const chainable =
      node.kind !== 'source' &&
      inputs.length === 1 &&
      inputs[0]!.partitioning === 'forward' &&
      parallelismOf.get(inputs[0]!.sourceId) === parallelismOf.get(id);
    if (chainable) {
      const taskId = taskOfNode.get(inputs[0]!.sourceId)!;
      tasks[taskId]!.nodeIds.push(id);
      tasks[taskId]!.name += ` -> ${node.name}`;
      taskOfNode.set(id, taskId);
    } else {
      const taskId = tasks.length;
      tasks.push({ id: taskId, name: node.name, nodeIds: [id], parallelism: parallelismOf.get(id)!, inputs, isSource: node.kind === 'source' });
      taskOfNode.set(id, taskId);
    }
  }
  return { jobName: options.jobName, graph, maxParallelism, maxParallelismOf, defaultParallelism, parallelismOf, uidOf, edges, taskOfNode, tasks };
}

function topologicalOrder(graph: StreamGraph, edges: readonly PlannedEdge[]): number[] {
  const indegree = new Map<number, number>(graph.nodes.map((n) => [n.id, 0]));
  for (const e of edges) indegree.set(e.targetId, indegree.get(e.targetId)! + 1);
  const ready = graph.nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id);
  const order: number[] = [];
  while (ready.length > 0) {
    const id = ready.shift()!;
    order.push(id);
    for (const e of edges) {
      if (e.sourceId !== id) continue;
      const left = indegree.get(e.targetId)! - 1;
      indegree.set(e.targetId, left);
      if (left === 0) ready.push(e.targetId);
    }
  }
  if (order.length !== graph.nodes.length) throw new InvalidPipelineError('the pipeline has a cycle');
  return order;
}

/**
 * Why a job cannot move from one plan to the other by a live rescale, or undefined when it can. A
 * live rescale changes subtask counts, not the job's shape: the tasks, their chains and their edges
 * must be the same at both parallelisms, and keyed state must sit at the head of its task (where
 * the key group of each arriving record is known).
 */
/** Whether the operator's user function is a CheckpointedFunction (a factory is asked for one instance). */
function keepsOperatorState(spec: OperatorSpec): boolean {
  if (spec.kind !== 'process' && spec.kind !== 'keyed-process' && spec.kind !== 'co-process' && spec.kind !== 'keyed-co-process') return false;
  const fn: unknown = spec.fn;
  return isCheckpointedFunction(typeof fn === 'function' ? (fn as () => unknown)() : fn);
}

export function liveRescaleRefusal(previous: JobPlan, next: JobPlan): string | undefined {
  for (const node of next.graph.nodes) {
    // Its records in flight are operator state that only a restore hands over (Flink restarts too).
    if (node.kind === 'operator' && node.operator.kind === 'async') return `operator "${node.name}" is async I/O: its records in flight move by a restart`;
    if (node.kind === 'operator' && (node.operator.kind === 'broadcast-process' || node.operator.kind === 'keyed-broadcast-process')) {
      return `operator "${node.name}" keeps broadcast state: every new subtask gets a copy by a restart`;
    }
    if (node.kind === 'operator' && keepsOperatorState(node.operator)) return `operator "${node.name}" keeps operator state (a CheckpointedFunction): its lists are redistributed by a restart`;
  }
  const shape = (plan: JobPlan) => JSON.stringify([plan.tasks.map((t) => [t.id, t.nodeIds]), plan.edges.map((e) => [e.sourceId, e.targetId, e.partitioning])]);
  if (shape(previous) !== shape(next)) return 'the job chains its operators differently at the new parallelism';
  for (const task of next.tasks) {
    for (const nodeId of task.nodeIds.slice(1)) {
      const node = next.graph.node(nodeId);
      if (node.kind === 'operator' && node.keySelectors.some((k) => k !== undefined)) return `operator "${node.name}" keeps keyed state but is not the head of its task`;
    }
  }
  return undefined;
}