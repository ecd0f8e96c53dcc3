// The logical job graph the DataStream API builds: nodes (sources, operators, sinks) and the
// edges between them with how records are partitioned. The runtime plans subtasks from it.
// Operators are described as data (OperatorSpec) so this module stays free of runtime code.

import type { AsyncOperatorSpec } from './async-io.ts';
import type { BroadcastProcessFunction, KeyedBroadcastProcessFunction } from './broadcast.ts';
import type { Source, Sink } from './connectors.ts';
import type {
  CoProcessFunction,
  FilterFunction,
  FlatMapFunction,
  FunctionOrFactory,
  KeyedCoProcessFunction,
  KeyedProcessFunction,
  KeySelector,
  MapFunction,
  ProcessFunction,
  ProcessJoinFunction,
  ProcessWindowFunction,
} from './functions.ts';
import type { OutputTag } from './output-tag.ts';
import type { AggregateFunction, MapStateDescriptor, ReduceFunction } from './state.ts';
import type { WatermarkStrategy } from './watermark-strategy.ts';
import type { Evictor } from './window-evictors.ts';
import type { Trigger, Window, WindowAssigner } from './windows.ts';

export type WindowFunctionSpec =
  | { kind: 'reduce'; reduce: ReduceFunction<any>; process?: ProcessWindowFunction<any, any, any, any> }
  | { kind: 'aggregate'; aggregate: AggregateFunction<any, any, any>; process?: ProcessWindowFunction<any, any, any, any> }
  | { kind: 'process'; process: ProcessWindowFunction<any, any, any, any> };

export type OperatorSpec =
  | { kind: 'map'; fn: MapFunction<any, any> }
  | { kind: 'filter'; fn: FilterFunction<any> }
  | { kind: 'flatMap'; fn: FlatMapFunction<any, any> }
  | { kind: 'process'; fn: FunctionOrFactory<ProcessFunction<any, any>> }
  | { kind: 'keyed-process'; fn: FunctionOrFactory<KeyedProcessFunction<any, any, any>> }
  | { kind: 'co-process'; fn: FunctionOrFactory<CoProcessFunction<any, any, any>> }
  | { kind: 'keyed-co-process'; fn: FunctionOrFactory<KeyedCoProcessFunction<any, any, any, any>> }
  | { kind: 'timestamps'; strategy: WatermarkStrategy<any> }
  | {
      kind: 'window';
      assigner: WindowAssigner;
      trigger?: Trigger<any, Window>;
      evictor?: Evictor<any, Window>;
      allowedLatenessMs: number;
      lateDataTag?: OutputTag<any>;
      function: WindowFunctionSpec;
    }
  | {
      kind: 'interval-join';
      lowerBoundMs: number;
      upperBoundMs: number;
      lowerBoundInclusive: boolean;
      upperBoundInclusive: boolean;
      fn: FunctionOrFactory<ProcessJoinFunction<any, any, any>>;
    }
  | AsyncOperatorSpec
  | { kind: 'broadcast-process'; fn: FunctionOrFactory<BroadcastProcessFunction<any, any, any>>; descriptors: readonly MapStateDescriptor<any, any>[] }
  | { kind: 'keyed-broadcast-process'; fn: FunctionOrFactory<KeyedBroadcastProcessFunction<any, any, any, any>>; descriptors: readonly MapStateDescriptor<any, any>[] };

export type Partitioning = 'forward' | 'rebalance' | 'hash' | 'broadcast';

export interface StreamEdge {
  readonly sourceId: number;
  readonly targetId: number;
  /** 0 for one-input operators; 0 or 1 for two-input operators. */
  readonly inputIndex: 0 | 1;
  readonly partitioning: Partitioning;
  /** Present when partitioning is 'hash' (a keyed stream). */
  readonly keySelector?: KeySelector<any, any>;
  /** Present when the edge reads a side output of the source node. */
  readonly sideOutputTag?: OutputTag<any>;
}

interface NodeBase {
  readonly id: number;
  name: string;
  uid: string | undefined;
  /** Undefined: the job's default parallelism. */
  parallelism: number | undefined;
  maxParallelism: number | undefined;
}

export interface SourceNode extends NodeBase {
  readonly kind: 'source';
  readonly source: Source<any>;
  readonly watermarkStrategy: WatermarkStrategy<any>;
}

export interface OperatorNode extends NodeBase {
  readonly kind: 'operator';
  readonly operator: OperatorSpec;
  readonly inputCount: 1 | 2;
  /** Keyed operators read their key with these selectors, one per input. */
  readonly keySelectors: ReadonlyArray<KeySelector<any, any> | undefined>;
}

export interface SinkNode extends NodeBase {
  readonly kind: 'sink';
  readonly sink: Sink<any>;
}

export type StreamNode = SourceNode | OperatorNode | SinkNode;

export class StreamGraph {
  readonly nodes: StreamNode[] = [];
  readonly edges: StreamEdge[] = [];

  node(id: number): StreamNode {
    const node = this.nodes[id];
    if (!node) throw new Error(`no stream node ${id}`);
    return node;
  }

  inputsOf(id: number): StreamEdge[] {
    return this.edges.filter((e) => e.targetId === id);
  }

  outputsOf(id: number): StreamEdge[] {
    return this.edges.filter((e) => e.sourceId === id);
  }
}
