// Makes the operator instance for one node of the plan: the runtime side of OperatorSpec.

import type { JobIdentity } from '../../shared/api/connectors.ts';
import type { StreamNode } from '../../shared/api/graph.ts';
import {
  CoProcessOperator,
  FilterOperator,
  FlatMapOperator,
  KeyedCoProcessOperator,
  KeyedProcessOperator,
  MapOperator,
  ProcessOperator,
  TimestampsAndWatermarksOperator,
} from '../operators/simple-operators.ts';
import { AsyncWaitOperator } from '../operators/async-wait-operator.ts';
import { BroadcastProcessOperator, KeyedBroadcastProcessOperator } from '../operators/broadcast-operators.ts';
import { IntervalJoinOperator } from '../operators/interval-join-operator.ts';
import { SinkOperator } from '../operators/sink-operator.ts';
import { SourceOperator } from '../operators/source-operator.ts';
import { WindowOperator } from '../operators/window-operator.ts';
import { canSliceWindows, SlicedWindowOperator } from '../operators/sliced-window-operator.ts';
import type { DeadLetterOutput } from './dead-letter.ts';
import { copyForSubtask, instantiateForSubtask } from './function-copy.ts';
import type { AbstractStreamOperator } from './stream-operator.ts';

export interface OperatorFactoryContext {
  readonly jobName: string;
  readonly job: JobIdentity;
  readonly watermarkIntervalMs: number;
  readonly deadLetters: DeadLetterOutput;
}

export function createOperator(node: StreamNode, context: OperatorFactoryContext): AbstractStreamOperator {
  switch (node.kind) {
    case 'source':
      return new SourceOperator(node.source, node.watermarkStrategy, context.watermarkIntervalMs, context.deadLetters);
    case 'sink':
      return new SinkOperator(node.sink, context.jobName, context.job);
    case 'operator': {
      const spec = node.operator;
      switch (spec.kind) {
        case 'map':
          return new MapOperator(spec.fn);
        case 'filter':
          return new FilterOperator(spec.fn);
        case 'flatMap':
          return new FlatMapOperator(spec.fn);
        case 'process':
          return new ProcessOperator(instantiateForSubtask(spec.fn));
        case 'keyed-process':
          return new KeyedProcessOperator(instantiateForSubtask(spec.fn));
        case 'co-process':
          return new CoProcessOperator(instantiateForSubtask(spec.fn));
        case 'keyed-co-process':
          return new KeyedCoProcessOperator(instantiateForSubtask(spec.fn));
        case 'timestamps':
          return new TimestampsAndWatermarksOperator(spec.strategy, context.watermarkIntervalMs === 0);
        case 'window': {
          const fn = spec.function;
          const copied = { ...spec, function: fn.process ? { ...fn, process: copyForSubtask(fn.process) } : fn } as typeof spec;
          return canSliceWindows(copied) ? new SlicedWindowOperator(copied) : new WindowOperator(copied);
        }
        case 'interval-join':
          return new IntervalJoinOperator({ ...spec, fn: instantiateForSubtask(spec.fn) });
        case 'async':
          return new AsyncWaitOperator(spec);
        case 'broadcast-process':
          return new BroadcastProcessOperator(instantiateForSubtask(spec.fn), spec.descriptors);
        case 'keyed-broadcast-process':
          return new KeyedBroadcastProcessOperator(instantiateForSubtask(spec.fn), spec.descriptors);
      }
    }
  }
}

/** Whether the node keeps keyed state (it reads its input with a key selector). */
export function isKeyedNode(node: StreamNode): boolean {
  return node.kind === 'operator' && node.keySelectors.some((k) => k !== undefined);
}
