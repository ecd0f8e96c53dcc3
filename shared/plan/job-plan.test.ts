// planJob: validation (every problem named), parallelism and max parallelism, uids, and chaining
// (forward at equal parallelism chains; keyBy, rebalance, unions and parallelism changes do not,
// and a forward edge between different parallelisms becomes rebalance). Read off planJob's output.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  StreamExecutionEnvironment,
  TumblingEventTimeWindows,
  WatermarkStrategy,
} from '../api/index.ts';
import type { StreamGraph } from '../api/graph.ts';
import { InvalidPipelineError } from '../errors.ts';
import { CollectSink } from '../../worker/connectors/collect-sink.ts';
import { runEmbedded } from '../../worker/testing/embedded-harness.ts';
import { planJob, type JobPlan, type PlanOptions } from './job-plan.ts';

function plan(env: StreamExecutionEnvironment, options: Partial<PlanOptions> = {}): JobPlan {
  return planJob(env.graph, env.settings, { jobName: 'plan-test', ...options });
}

/** Each task as "name ×parallelism", in plan order. */
function taskSummary(p: JobPlan): string[] {
  return p.tasks.map((t) => `${t.name} ×${t.parallelism}`);
}

function nodeId(graph: StreamGraph, name: string): number {
  const matches = graph.nodes.filter((n) => n.name === name);
  assert.equal(matches.length, 1, `expected one node named ${name}`);
  return matches[0]!.id;
}

function assertInvalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: Error) => {
    assert.ok(error instanceof InvalidPipelineError, `expected an InvalidPipelineError, got ${error.name}: ${error.message}`);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('validation', () => {
  it('an empty pipeline is refused', () => {
    assertInvalid(() => plan(new StreamExecutionEnvironment()), /no pipeline/);
  });

  it('a pipeline without a sink is refused, and the message says so', () => {
    const env = new StreamExecutionEnvironment();
    env.fromCollection([1, 2]).map((x) => x + 1);
    assertInvalid(() => plan(env), /no sink/);
  });

  it('a duplicate uid is refused; the message names the uid and both operators', () => {
    const env = new StreamExecutionEnvironment();
    env
      .fromCollection([1])
      .map((x) => x)
      .name('First mapper')
      .uid('mapper')
      .map((x) => x)
      .name('Second mapper')
      .uid('mapper')
      .sinkTo(new CollectSink<number>());
    assertInvalid(() => plan(env), /duplicate uid "mapper".*"First mapper".*"Second mapper"/);
  });

  it('a uid shared by a source and a sink is refused too', () => {
    const env = new StreamExecutionEnvironment();
    env.fromCollection([1]).uid('same').sinkTo(new CollectSink<number>()).uid('same');
    assertInvalid(() => plan(env), /duplicate uid "same".*Source: Collection.*Sink: Collect/);
  });

  it('an empty uid is refused when set', () => {
    const env = new StreamExecutionEnvironment();
    assertInvalid(() => env.fromCollection([1]).uid(''), /uid/);
  });

  it('window() does not exist on a non-keyed stream; windowAll() does', () => {
    const env = new StreamExecutionEnvironment();
    const stream = env.fromCollection([1]);
    assert.equal((stream as unknown as { window?: unknown }).window, undefined);
    assert.equal(typeof stream.windowAll, 'function');
    // Checked by `tsc --noEmit`: the call below must not compile.
    const typeCheckOnly = () => {
      // @ts-expect-error window() exists only on a KeyedStream
      stream.window(TumblingEventTimeWindows.of(10));
    };
    void typeCheckOnly;
  });

  it('windowAll runs at parallelism 1 whatever the job parallelism', () => {
    const env = new StreamExecutionEnvironment().setParallelism(4);
    env
      .fromCollection([1, 2, 3], WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((x) => x))
      .map((x) => x)
      .windowAll(TumblingEventTimeWindows.of(10))
      .reduce((a, b) => a + b)
      .name('All')
      .sinkTo(new CollectSink<number>());
    const p = plan(env);
    assert.equal(p.parallelismOf.get(nodeId(env.graph, 'All')), 1);
    assert.equal(p.parallelismOf.get(nodeId(env.graph, 'Map')), 4);
  });

  it('windowAll at job parallelism 4 sums every record into one result per window', async () => {
    const env = new StreamExecutionEnvironment().setParallelism(4).setAutoWatermarkInterval(0);
    const sink = new CollectSink<number>();
    env
      .fromCollection([1, 2, 3, 14, 15], WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((x) => x))
      .rebalance()
      .map((x) => x)
      .windowAll(TumblingEventTimeWindows.of(10))
      .reduce((a, b) => a + b)
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.committed, [
      { value: 6, timestamp: 9 },
      { value: 29, timestamp: 19 },
    ]);
  });

  it('an operator whose parallelism exceeds the job max parallelism is refused, naming it', () => {
    const env = new StreamExecutionEnvironment().setMaxParallelism(2);
    env.fromCollection([1]).map((x) => x).name('Wide map').setParallelism(3).sinkTo(new CollectSink<number>()).setParallelism(1);
    assertInvalid(() => plan(env), /"Wide map".*parallelism 3.*max parallelism 2/);
  });

  it('a --parallelism above the --max-parallelism is refused', () => {
    const env = new StreamExecutionEnvironment();
    env.fromCollection([1]).map((x) => x).sinkTo(new CollectSink<number>());
    assertInvalid(() => plan(env, { parallelism: 8, maxParallelism: 4 }), /parallelism 8 is greater than its max parallelism 4/);
  });

  // Flink: "The maximum parallelism must be greater than or equal the parallelism".
  it('an operator whose own max parallelism is below its parallelism is refused', () => {
    const env = new StreamExecutionEnvironment();
    env.fromCollection([1]).map((x) => x).name('Capped').setParallelism(3).setMaxParallelism(2).sinkTo(new CollectSink<number>());
    assertInvalid(() => plan(env), /Capped/);
  });

  it('a keyed operator whose input edge is not keyed is refused, naming keyBy', () => {
    const env = new StreamExecutionEnvironment();
    env
      .fromCollection([1])
      .keyBy((x) => x)
      .reduce((a, b) => a + b)
      .sinkTo(new CollectSink<number>());
    // Corrupt the graph the way a wrong API would: the keyed operator's input becomes forward.
    const edgeIndex = env.graph.edges.findIndex((e) => e.partitioning === 'hash');
    env.graph.edges[edgeIndex] = { ...env.graph.edges[edgeIndex]!, partitioning: 'forward' };
    assertInvalid(() => plan(env), /Keyed Reduce.*keyBy/);
  });

  it('invalid settings are refused where they are set', () => {
    const env = new StreamExecutionEnvironment();
    assertInvalid(() => env.setParallelism(0), /setParallelism/);
    assertInvalid(() => env.setMaxParallelism(32769), /setMaxParallelism/);
    assertInvalid(() => env.fromCollection([1]).map((x) => x).setParallelism(1.5), /positive integer/);
  });
});

describe('parallelism and uids', () => {
  it('the application parallelism wins over --parallelism; unset nodes take the default', () => {
    const env = new StreamExecutionEnvironment().setParallelism(2);
    env.fromCollection([1]).map((x) => x).sinkTo(new CollectSink<number>());
    const p = plan(env, { parallelism: 5 });
    assert.equal(p.defaultParallelism, 2);
    assert.equal(p.parallelismOf.get(nodeId(env.graph, 'Map')), 2);
    assert.equal(p.parallelismOf.get(nodeId(env.graph, 'Source: Collection')), 1); // fromCollection is parallelism 1
  });

  it('--parallelism applies when the application sets none; 1 without either', () => {
    const env = new StreamExecutionEnvironment();
    env.fromCollection([1]).map((x) => x).sinkTo(new CollectSink<number>());
    assert.equal(plan(env, { parallelism: 3 }).parallelismOf.get(nodeId(env.graph, 'Map')), 3);
    assert.equal(plan(env).parallelismOf.get(nodeId(env.graph, 'Map')), 1);
  });

  it('max parallelism defaults as in Flink: next power of two of 1.5 × the largest parallelism, at least 128', () => {
    const small = new StreamExecutionEnvironment().setParallelism(4);
    small.fromCollection([1]).map((x) => x).sinkTo(new CollectSink<number>());
    assert.equal(plan(small).maxParallelism, 128);
    const large = new StreamExecutionEnvironment().setParallelism(100);
    large.fromCollection([1]).map((x) => x).sinkTo(new CollectSink<number>());
    assert.equal(plan(large).maxParallelism, 256); // 150 → 256
  });

  it('the application max parallelism wins over --max-parallelism', () => {
    const env = new StreamExecutionEnvironment().setMaxParallelism(64);
    env.fromCollection([1]).map((x) => x).sinkTo(new CollectSink<number>());
    assert.equal(plan(env, { maxParallelism: 512 }).maxParallelism, 64);
    const cli = new StreamExecutionEnvironment();
    cli.fromCollection([1]).map((x) => x).sinkTo(new CollectSink<number>());
    assert.equal(plan(cli, { maxParallelism: 512 }).maxParallelism, 512);
  });

  it('explicit uids are kept; every node has a distinct uid', () => {
    const env = new StreamExecutionEnvironment();
    env.fromCollection([1]).uid('src').map((x) => x).uid('mapper').sinkTo(new CollectSink<number>()).uid('out');
    const p = plan(env);
    assert.equal(p.uidOf.get(nodeId(env.graph, 'Source: Collection')), 'src');
    assert.equal(p.uidOf.get(nodeId(env.graph, 'Map')), 'mapper');
    assert.equal(p.uidOf.get(nodeId(env.graph, 'Sink: Collect')), 'out');
    const many = new StreamExecutionEnvironment();
    many.fromCollection([1]).map((x) => x).map((x) => x).sinkTo(new CollectSink<number>());
    const uids = [...plan(many).uidOf.values()];
    assert.equal(new Set(uids).size, 4);
  });
});

describe('chaining', () => {
  it('forward edges at equal parallelism chain into one task', () => {
    const env = new StreamExecutionEnvironment();
    env.fromCollection([1]).map((x) => x).filter(() => true).sinkTo(new CollectSink<number>());
    const p = plan(env);
    assert.deepEqual(taskSummary(p), ['Source: Collection -> Map -> Filter -> Sink: Collect ×1']);
    assert.deepEqual(p.tasks[0]!.nodeIds, [0, 1, 2, 3]);
    assert.equal(p.tasks[0]!.isSource, true);
  });

  it('keyBy breaks the chain: a hash edge between two tasks', () => {
    const env = new StreamExecutionEnvironment();
    env
      .fromCollection([1])
      .map((x) => x)
      .keyBy((x) => x % 2)
      .reduce((a, b) => a + b)
      .map((x) => x)
      .name('After')
      .sinkTo(new CollectSink<number>());
    const p = plan(env);
    assert.deepEqual(taskSummary(p), ['Source: Collection -> Map ×1', 'Keyed Reduce -> After -> Sink: Collect ×1']);
    const edge = p.edges.find((e) => e.targetId === nodeId(env.graph, 'Keyed Reduce'))!;
    assert.equal(edge.partitioning, 'hash');
    assert.deepEqual(p.tasks[1]!.inputs.map((e) => e.partitioning), ['hash']);
  });

  it('a forward edge between different parallelisms becomes rebalance and does not chain', () => {
    const env = new StreamExecutionEnvironment().setParallelism(3);
    env.fromCollection([1]).map((x) => x).filter(() => true).sinkTo(new CollectSink<number>());
    const p = plan(env);
    assert.deepEqual(taskSummary(p), ['Source: Collection ×1', 'Map -> Filter -> Sink: Collect ×3']);
    const toMap = p.edges.find((e) => e.targetId === nodeId(env.graph, 'Map'))!;
    assert.equal(toMap.partitioning, 'rebalance');
    const toFilter = p.edges.find((e) => e.targetId === nodeId(env.graph, 'Filter'))!;
    assert.equal(toFilter.partitioning, 'forward');
    // The graph itself is not changed: the API built a forward edge.
    assert.equal(env.graph.edges.find((e) => e.targetId === nodeId(env.graph, 'Map'))!.partitioning, 'forward');
  });

  it('an explicit rebalance at equal parallelism does not chain', () => {
    const env = new StreamExecutionEnvironment();
    env.fromCollection([1]).rebalance().map((x) => x).sinkTo(new CollectSink<number>());
    assert.deepEqual(taskSummary(plan(env)), ['Source: Collection ×1', 'Map -> Sink: Collect ×1']);
  });

  it('an operator with two inputs (a union) starts its own task', () => {
    const env = new StreamExecutionEnvironment();
    const a = env.fromCollection([1]);
    const b = env.fromCollection([2]);
    a.union(b).map((x) => x).sinkTo(new CollectSink<number>());
    const p = plan(env);
    assert.deepEqual(taskSummary(p), ['Source: Collection ×1', 'Source: Collection ×1', 'Map -> Sink: Collect ×1']);
    assert.equal(p.tasks[2]!.inputs.length, 2);
  });

  it('one operator feeding two forward consumers chains both', () => {
    const env = new StreamExecutionEnvironment();
    const mapped = env.fromCollection([1]).map((x) => x);
    mapped.sinkTo(new CollectSink<number>('one'));
    mapped.sinkTo(new CollectSink<number>('two'));
    const p = plan(env);
    assert.equal(p.tasks.length, 1);
    assert.deepEqual([...p.tasks[0]!.nodeIds].sort(), [0, 1, 2, 3]);
  });

  it('tasks are in topological order: each after every task that feeds it', () => {
    const env = new StreamExecutionEnvironment().setParallelism(2);
    const a = env.fromCollection([1]).map((x) => x);
    const b = env.fromCollection([2]).keyBy((x) => x).reduce((x, y) => x + y);
    a.union(b).rebalance().map((x) => x).sinkTo(new CollectSink<number>());
    const p = plan(env);
    const position = new Map(p.tasks.map((t, i) => [t.id, i]));
    for (const task of p.tasks) {
      for (const input of task.inputs) {
        const producer = p.taskOfNode.get(input.sourceId)!;
        assert.ok(position.get(producer)! < position.get(task.id)!, `${p.tasks[producer]!.name} must come before ${task.name}`);
      }
    }
    // and every node is in exactly one task
    const all = p.tasks.flatMap((t) => t.nodeIds).sort((x, y) => x - y);
    assert.deepEqual(all, env.graph.nodes.map((n) => n.id));
  });
});
