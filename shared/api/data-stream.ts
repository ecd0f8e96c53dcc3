// The DataStream API: DataStream, KeyedStream, WindowedStream, ConnectedStreams and joins, with
// Flink's names. Each call adds a node and edges to the environment's StreamGraph; nothing runs
// until the runtime executes the graph.

import type { Sink } from './connectors.ts';
import type {
  CoProcessFunction,
  Collector,
  FunctionOrFactory,
  FilterFunction,
  FlatMapFunction,
  JoinFunction,
  KeyedCoProcessFunction,
  KeyedProcessFunction,
  KeySelector,
  MapFunction,
  ProcessFunction,
  ProcessJoinFunction,
  ProcessWindowFunction,
} from './functions.ts';
import type { OperatorNode, OperatorSpec, Partitioning, StreamNode, WindowFunctionSpec } from './graph.ts';
import { OutputTag } from './output-tag.ts';
import { ValueStateDescriptor, type AggregateFunction, type MapStateDescriptor, type ReduceFunction, type ValueState } from './state.ts';
import type { WatermarkStrategy } from './watermark-strategy.ts';
import {
  CountTrigger,
  GlobalWindows,
  PurgingTrigger,
  SlidingEventTimeWindows,
  TumblingEventTimeWindows,
  isMergingAssigner,
  triggerCanMerge,
  type GlobalWindow,
  type TimeWindow,
  type Trigger,
  type Window,
  type WindowAssigner,
} from './windows.ts';
import { CountEvictor, type Evictor } from './window-evictors.ts';
import type { StreamExecutionEnvironment } from './environment.ts';
import { InvalidPipelineError } from '../errors.ts';
import { BroadcastConnectedStream, BroadcastStream } from './broadcast.ts';

/** One upstream of a stream: a node's main output or one of its side outputs. */
interface StreamRef {
  readonly node: StreamNode;
  readonly sideOutputTag?: OutputTag<any>;
}

export class DataStream<T> {
  declare readonly elementType?: T;

  constructor(
    readonly environment: StreamExecutionEnvironment,
    /** More than one ref after `union`. */
    protected readonly refs: readonly StreamRef[],
  ) {}

  map<R>(fn: MapFunction<T, R>): SingleOutputStreamOperator<R> {
    return this.transform<R>('Map', { kind: 'map', fn });
  }

  filter(fn: FilterFunction<T>): SingleOutputStreamOperator<T> {
    return this.transform<T>('Filter', { kind: 'filter', fn });
  }

  flatMap<R>(fn: FlatMapFunction<T, R>): SingleOutputStreamOperator<R> {
    return this.transform<R>('FlatMap', { kind: 'flatMap', fn });
  }

  process<R>(fn: FunctionOrFactory<ProcessFunction<T, R>>): SingleOutputStreamOperator<R> {
    return this.transform<R>('Process', { kind: 'process', fn });
  }

  /** Assigns timestamps and watermarks downstream of a source (prefer doing it at the source). */
  assignTimestampsAndWatermarks(strategy: WatermarkStrategy<T>): SingleOutputStreamOperator<T> {
    return this.transform<T>('Timestamps/Watermarks', { kind: 'timestamps', strategy });
  }

  union(...others: DataStream<T>[]): DataStream<T> {
    for (const other of others) {
      if (other.environment !== this.environment) throw new InvalidPipelineError('union: streams come from different environments');
    }
    return new DataStream<T>(this.environment, [...this.refs, ...others.flatMap((o) => o.refs)]);
  }

  keyBy<K>(keySelector: KeySelector<T, K>): KeyedStream<T, K> {
    if (typeof keySelector !== 'function') throw new InvalidPipelineError('keyBy needs a key selector function');
    return new KeyedStream<T, K>(this.environment, this.refs, keySelector);
  }

  /** Sends records round-robin to the next operator's subtasks. */
  rebalance(): DataStream<T> {
    return new PartitionedStream<T>(this.environment, this.refs, 'rebalance');
  }

  /**
   * Sends every record to every subtask of the next operator. With MapStateDescriptors, a
   * BroadcastStream for the broadcast state pattern: `keyed.connect(rules.broadcast(d)).process(fn)`.
   */
  broadcast(): DataStream<T>;
  broadcast(...descriptors: MapStateDescriptor<any, any>[]): BroadcastStream<T>;
  broadcast(...descriptors: MapStateDescriptor<any, any>[]): DataStream<T> | BroadcastStream<T> {
    const everywhere = new PartitionedStream<T>(this.environment, this.refs, 'broadcast');
    return descriptors.length === 0 ? everywhere : new BroadcastStream<T>(everywhere, descriptors);
  }

  connect<R>(other: DataStream<R>): ConnectedStreams<T, R>;
  connect<R>(other: BroadcastStream<R>): BroadcastConnectedStream<T, R>;
  connect<R>(other: DataStream<R> | BroadcastStream<R>): ConnectedStreams<T, R> | BroadcastConnectedStream<T, R> {
    if (other instanceof BroadcastStream) return new BroadcastConnectedStream<T, R>(this, other);
    return new ConnectedStreams<T, R>(this.environment, this, other);
  }

  /** @internal a two-input operator fed by this stream (input 0) and `second` (input 1). */
  addTwoInputOperator<R>(spec: Omit<OperatorNode, 'id'>, second: DataStream<any>): SingleOutputStreamOperator<R> {
    const graph = this.environment.graph;
    const node: OperatorNode = { ...spec, id: graph.nodes.length };
    graph.nodes.push(node);
    this.connectInputs(node, 0, undefined);
    second.connectInputs(node, 1, undefined);
    return new SingleOutputStreamOperator<R>(this.environment, node);
  }

  join<R>(other: DataStream<R>): JoinedStreams<T, R> {
    return new JoinedStreams<T, R>(this, other);
  }

  /** A window over the whole stream, at parallelism 1 (Flink's windowAll). */
  windowAll<W extends Window = TimeWindow>(assigner: WindowAssigner): WindowedStream<T, number, W> {
    const keyed = this.keyBy<number>(() => 0);
    return new WindowedStream<T, number, W>(keyed, assigner, 1);
  }

  sinkTo(sink: Sink<T>): DataStreamSink<T> {
    const node = this.environment.graph.nodes.length;
    const sinkNode: StreamNode = { kind: 'sink', id: node, name: `Sink: ${sink.name}`, uid: undefined, parallelism: undefined, maxParallelism: undefined, sink };
    this.environment.graph.nodes.push(sinkNode);
    this.connectInputs(sinkNode, 0, undefined);
    return new DataStreamSink<T>(sinkNode);
  }

  /** Prints each record to stdout, as Flink's print(). */
  print(prefix?: string): DataStreamSink<T> {
    return this.sinkTo(this.environment.consoleSink<T>(prefix));
  }

  protected partitioning(): Partitioning {
    return 'forward';
  }

  protected keySelector(): KeySelector<any, any> | undefined {
    return undefined;
  }

  /** @internal an operator node fed by this stream, for the API's helpers (AsyncDataStream). */
  addOperator<R>(name: string, operator: OperatorSpec): SingleOutputStreamOperator<R> {
    return this.transform<R>(name, operator);
  }

  /** Adds an operator node fed by this stream. */
  protected transform<R>(name: string, operator: OperatorSpec, keyed = false, parallelism?: number): SingleOutputStreamOperator<R> {
    const graph = this.environment.graph;
    const node: OperatorNode = {
      kind: 'operator',
      id: graph.nodes.length,
      name,
      uid: undefined,
      parallelism,
      maxParallelism: undefined,
      operator,
      inputCount: 1,
      keySelectors: [keyed ? this.keySelector() : undefined],
    };
    graph.nodes.push(node);
    this.connectInputs(node, 0, undefined);
    return new SingleOutputStreamOperator<R>(this.environment, node);
  }

  /** Adds the edges from this stream's refs into `target`. */
  connectInputs(target: StreamNode, inputIndex: 0 | 1, override: Partitioning | undefined): void {
    const partitioning = override ?? this.partitioning();
    for (const ref of this.refs) {
      this.environment.graph.edges.push({
        sourceId: ref.node.id,
        targetId: target.id,
        inputIndex,
        partitioning,
        ...(partitioning === 'hash' ? { keySelector: this.keySelector() } : {}),
        ...(ref.sideOutputTag ? { sideOutputTag: ref.sideOutputTag } : {}),
      });
    }
  }

  /** @internal the key selector if this is a keyed stream. */
  get keySelectorIfKeyed(): KeySelector<any, any> | undefined {
    return this.keySelector();
  }
}

class PartitionedStream<T> extends DataStream<T> {
  constructor(environment: StreamExecutionEnvironment, refs: readonly StreamRef[], private readonly mode: Partitioning) {
    super(environment, refs);
  }
  protected override partitioning(): Partitioning {
    return this.mode;
  }
}

/** A stream produced by one operator: it can be named, given a uid and a parallelism. */
export class SingleOutputStreamOperator<T> extends DataStream<T> {
  constructor(environment: StreamExecutionEnvironment, readonly node: StreamNode) {
    super(environment, [{ node }]);
  }

  /** A stable identity: state in checkpoints and snapshots is matched to operators by uid. */
  uid(uid: string): this {
    setUid(this.node, uid);
    return this;
  }

  name(name: string): this {
    this.node.name = name;
    return this;
  }

  setParallelism(parallelism: number): this {
    setParallelism(this.node, parallelism);
    return this;
  }

  setMaxParallelism(maxParallelism: number): this {
    this.node.maxParallelism = maxParallelism;
    return this;
  }

  getSideOutput<X>(tag: OutputTag<X>): DataStream<X> {
    if (!(tag instanceof OutputTag)) throw new InvalidPipelineError('getSideOutput needs an OutputTag');
    return new DataStream<X>(this.environment, [{ node: this.node, sideOutputTag: tag }]);
  }
}

export class DataStreamSink<T> {
  declare readonly elementType?: T;
  constructor(readonly node: StreamNode) {}

  uid(uid: string): this {
    setUid(this.node, uid);
    return this;
  }

  name(name: string): this {
    this.node.name = name;
    return this;
  }

  setParallelism(parallelism: number): this {
    setParallelism(this.node, parallelism);
    return this;
  }
}

function setUid(node: StreamNode, uid: string): void {
  if (typeof uid !== 'string' || uid.length === 0) throw new InvalidPipelineError(`uid of "${node.name}" must be a non-empty string`);
  node.uid = uid;
}

function setParallelism(node: StreamNode, parallelism: number): void {
  if (!Number.isInteger(parallelism) || parallelism < 1) {
    throw new InvalidPipelineError(`setParallelism on "${node.name}": parallelism must be a positive integer, got ${parallelism}`);
  }
  node.parallelism = parallelism;
}

export class KeyedStream<T, K> extends DataStream<T> {
  constructor(
    environment: StreamExecutionEnvironment,
    refs: readonly StreamRef[],
    private readonly selector: KeySelector<T, K>,
  ) {
    super(environment, refs);
  }

  protected override partitioning(): Partitioning {
    return 'hash';
  }

  protected override keySelector(): KeySelector<any, any> {
    return this.selector;
  }

  getKeySelector(): KeySelector<T, K> {
    return this.selector;
  }

  override process<R>(fn: FunctionOrFactory<KeyedProcessFunction<K, T, R>> | FunctionOrFactory<ProcessFunction<T, R>>): SingleOutputStreamOperator<R> {
    return this.transform<R>('KeyedProcess', { kind: 'keyed-process', fn: fn as FunctionOrFactory<KeyedProcessFunction<K, T, R>> }, true);
  }

  /** A rolling reduce: emits the reduced value of the key after every record. */
  reduce(fn: ReduceFunction<T>): SingleOutputStreamOperator<T> {
    return this.process<T>(rollingReduce(fn)).name('Keyed Reduce');
  }

  window<W extends Window = TimeWindow>(assigner: WindowAssigner): WindowedStream<T, K, W> {
    return new WindowedStream<T, K, W>(this, assigner, undefined);
  }

  /**
   * Tumbling count windows of `size` elements, or sliding ones: every `slide` elements, the last
   * `size` elements of the key (GlobalWindows with CountTrigger.of(slide) and CountEvictor.of(size), as Flink).
   */
  countWindow(size: number, slide?: number): WindowedStream<T, K, GlobalWindow> {
    const windowed = new WindowedStream<T, K, GlobalWindow>(this, GlobalWindows.create(), undefined);
    if (slide === undefined) return windowed.trigger(PurgingTrigger.of(CountTrigger.of<GlobalWindow>(size)));
    return windowed.evictor(CountEvictor.of<GlobalWindow>(size)).trigger(CountTrigger.of<GlobalWindow>(slide));
  }

  intervalJoin<R>(other: KeyedStream<R, K>): IntervalJoin<T, R, K> {
    return new IntervalJoin<T, R, K>(this, other);
  }

  /** @internal */
  transformKeyed<R>(name: string, operator: OperatorSpec, parallelism?: number): SingleOutputStreamOperator<R> {
    return this.transform<R>(name, operator, true, parallelism);
  }
}

function rollingReduce<T>(fn: ReduceFunction<T>): KeyedProcessFunction<unknown, T, T> & { state?: ValueState<T> } {
  // Per-instance state lives on `this`: each subtask runs its own copy of the function object.
  return {
    open(ctx) {
      this.state = ctx.getState(new ValueStateDescriptor<T>('reduce'));
    },
    processElement(value, _ctx, out: Collector<T>) {
      const previous = this.state!.value();
      const next = previous === undefined ? value : fn(previous, value);
      this.state!.update(next);
      out.collect(next);
    },
  };
}

export class WindowedStream<T, K, W extends Window> {
  private windowTrigger: Trigger<any, any> | undefined;
  private windowEvictor: Evictor<any, any> | undefined;
  private allowedLatenessMs = 0;
  private lateDataTag: OutputTag<T> | undefined;

  constructor(
    private readonly input: KeyedStream<T, K>,
    private readonly assigner: WindowAssigner,
    private readonly parallelism: number | undefined,
  ) {
    if (!(input instanceof KeyedStream)) {
      throw new InvalidPipelineError('window() needs a keyed stream: call keyBy(...) first, or use windowAll()');
    }
  }

  trigger(trigger: Trigger<any, W>): this {
    if (isMergingAssigner(this.assigner) && !triggerCanMerge(trigger)) {
      throw new InvalidPipelineError(`${trigger.name} cannot merge, so it cannot be used with ${this.assigner.toString()} (session windows merge): give it onMerge`);
    }
    this.windowTrigger = trigger;
    return this;
  }

  /**
   * Removes elements when the window fires, before or after the window function (Flink's
   * evictor). The window then keeps its elements as a list and reduces or aggregates what is
   * left at each firing: it cannot pre-aggregate.
   */
  evictor(evictor: Evictor<any, W>): this {
    this.windowEvictor = evictor;
    return this;
  }

  /** Keeps windows for `lateness` ms after the watermark passes their end; late records re-fire them. */
  allowedLateness(latenessMs: number): this {
    if (!Number.isFinite(latenessMs) || latenessMs < 0) throw new InvalidPipelineError(`allowedLateness must be a non-negative number of ms, got ${latenessMs}`);
    if (!this.assigner.isEventTime && latenessMs > 0) throw new InvalidPipelineError('allowedLateness applies only to event-time windows');
    this.allowedLatenessMs = latenessMs;
    return this;
  }

  /** Records too late for any window go to `tag` instead of being dropped. */
  sideOutputLateData(tag: OutputTag<T>): this {
    this.lateDataTag = tag;
    return this;
  }

  reduce(fn: ReduceFunction<T>): SingleOutputStreamOperator<T>;
  reduce<R>(fn: ReduceFunction<T>, windowFunction: ProcessWindowFunction<T, R, K, W>): SingleOutputStreamOperator<R>;
  reduce<R>(fn: ReduceFunction<T>, windowFunction?: ProcessWindowFunction<T, R, K, W>): SingleOutputStreamOperator<R> {
    return this.build<R>('Window(Reduce)', { kind: 'reduce', reduce: fn, ...(windowFunction ? { process: windowFunction } : {}) });
  }

  aggregate<ACC, V>(fn: AggregateFunction<T, ACC, V>): SingleOutputStreamOperator<V>;
  aggregate<ACC, V, R>(fn: AggregateFunction<T, ACC, V>, windowFunction: ProcessWindowFunction<V, R, K, W>): SingleOutputStreamOperator<R>;
  aggregate<ACC, V, R>(fn: AggregateFunction<T, ACC, V>, windowFunction?: ProcessWindowFunction<V, R, K, W>): SingleOutputStreamOperator<R> {
    if (isMergingAssigner(this.assigner) && this.windowEvictor === undefined && typeof fn.merge !== 'function') {
      throw new InvalidPipelineError('aggregate on session windows needs an AggregateFunction with merge(), because sessions merge');
    }
    return this.build<R>('Window(Aggregate)', { kind: 'aggregate', aggregate: fn, ...(windowFunction ? { process: windowFunction } : {}) });
  }

  process<R>(fn: ProcessWindowFunction<T, R, K, W>): SingleOutputStreamOperator<R> {
    return this.build<R>('Window(Process)', { kind: 'process', process: fn });
  }

  private build<R>(name: string, fn: WindowFunctionSpec): SingleOutputStreamOperator<R> {
    const spec: OperatorSpec = {
      kind: 'window',
      assigner: this.assigner,
      allowedLatenessMs: this.allowedLatenessMs,
      function: fn,
      ...(this.windowTrigger ? { trigger: this.windowTrigger } : {}),
      ...(this.windowEvictor ? { evictor: this.windowEvictor } : {}),
      ...(this.lateDataTag ? { lateDataTag: this.lateDataTag } : {}),
    };
    return this.input.transformKeyed<R>(`${name} ${this.assigner.toString()}`, spec, this.parallelism);
  }
}

export class ConnectedStreams<A, B> {
  constructor(
    private readonly environment: StreamExecutionEnvironment,
    readonly first: DataStream<A>,
    readonly second: DataStream<B>,
  ) {}

  keyBy<K>(firstKey: KeySelector<A, K>, secondKey: KeySelector<B, K>): ConnectedStreams<A, B> {
    return new ConnectedStreams<A, B>(this.environment, this.first.keyBy(firstKey), this.second.keyBy(secondKey));
  }

  process<R>(fn: FunctionOrFactory<CoProcessFunction<A, B, R>> | FunctionOrFactory<KeyedCoProcessFunction<any, A, B, R>>): SingleOutputStreamOperator<R> {
    const firstKey = this.first.keySelectorIfKeyed;
    const secondKey = this.second.keySelectorIfKeyed;
    if ((firstKey === undefined) !== (secondKey === undefined)) {
      throw new InvalidPipelineError('connect: either both inputs are keyed or neither is');
    }
    const keyed = firstKey !== undefined;
    return this.first.addTwoInputOperator<R>(
      {
        kind: 'operator',
        name: keyed ? 'KeyedCoProcess' : 'CoProcess',
        uid: undefined,
        parallelism: undefined,
        maxParallelism: undefined,
        operator: keyed
          ? { kind: 'keyed-co-process', fn: fn as FunctionOrFactory<KeyedCoProcessFunction<any, A, B, R>> }
          : { kind: 'co-process', fn: fn as FunctionOrFactory<CoProcessFunction<A, B, R>> },
        inputCount: 2,
        keySelectors: [firstKey, secondKey],
      },
      this.second,
    );
  }
}

type Tagged<A, B> = { side: 0; value: A } | { side: 1; value: B };

/** Window joins: `a.join(b).where(ka).equalTo(kb).window(w).apply(fn)`, as Flink's JoinedStreams. */
export class JoinedStreams<A, B> {
  constructor(private readonly left: DataStream<A>, private readonly right: DataStream<B>) {}

  where<K>(leftKey: KeySelector<A, K>) {
    return {
      equalTo: (rightKey: KeySelector<B, K>) => ({
        window: (assigner: TumblingEventTimeWindows | SlidingEventTimeWindows | WindowAssigner) => ({
          apply: <R>(fn: JoinFunction<A, B, R>): SingleOutputStreamOperator<R> => {
            // Flink builds window joins from a union of tagged inputs, keyed and windowed, and
            // the cross product of both sides per window; so do we.
            const taggedLeft = this.left.map((value): Tagged<A, B> => ({ side: 0, value })).name('Join: tag left');
            const taggedRight = this.right.map((value): Tagged<A, B> => ({ side: 1, value })).name('Join: tag right');
            const keyOf = (t: Tagged<A, B>): K => (t.side === 0 ? leftKey(t.value) : rightKey(t.value));
            return taggedLeft
              .union(taggedRight)
              .keyBy(keyOf)
              .window<TimeWindow>(assigner)
              .process<R>({
                process(_key, _context, elements, out) {
                  for (const l of elements) {
                    if (l.side !== 0) continue;
                    for (const r of elements) if (r.side === 1) out.collect(fn(l.value, r.value));
                  }
                },
              })
              .name('Window Join');
          },
        }),
      }),
    };
  }
}

/** Interval joins: each left record meets right records within [left + lower, left + upper]. */
export class IntervalJoin<A, B, K> {
  constructor(private readonly left: KeyedStream<A, K>, private readonly right: KeyedStream<B, K>) {}

  between(lowerBoundMs: number, upperBoundMs: number) {
    if (!Number.isFinite(lowerBoundMs) || !Number.isFinite(upperBoundMs) || lowerBoundMs > upperBoundMs) {
      throw new InvalidPipelineError(`intervalJoin.between: lower bound (${lowerBoundMs}) must be ≤ upper bound (${upperBoundMs})`);
    }
    let lowerInclusive = true;
    let upperInclusive = true;
    const builder = {
      lowerBoundExclusive: () => {
        lowerInclusive = false;
        return builder;
      },
      upperBoundExclusive: () => {
        upperInclusive = false;
        return builder;
      },
      process: <R>(fn: FunctionOrFactory<ProcessJoinFunction<A, B, R>>): SingleOutputStreamOperator<R> => {
        const environment = this.left.environment;
        const graph = environment.graph;
        const node: OperatorNode = {
          kind: 'operator',
          id: graph.nodes.length,
          name: 'IntervalJoin',
          uid: undefined,
          parallelism: undefined,
          maxParallelism: undefined,
          operator: {
            kind: 'interval-join',
            lowerBoundMs,
            upperBoundMs,
            lowerBoundInclusive: lowerInclusive,
            upperBoundInclusive: upperInclusive,
            fn,
          },
          inputCount: 2,
          keySelectors: [this.left.getKeySelector(), this.right.getKeySelector()],
        };
        graph.nodes.push(node);
        this.left.connectInputs(node, 0, undefined);
        this.right.connectInputs(node, 1, undefined);
        return new SingleOutputStreamOperator<R>(environment, node);
      },
    };
    return builder;
  }
}
