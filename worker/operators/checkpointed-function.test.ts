// Operator state for user functions (CheckpointedFunction): a function that buffers keeps its
// buffer across a failure and a restore (exactly once in the output); list state is split evenly
// and union state given whole when a job restores at another parallelism; a refused mix-up of the
// two kinds names the state; a job with operator state rescales by restart, not live.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ListStateDescriptor,
  StreamExecutionEnvironment,
  WatermarkStrategy,
  type CheckpointedFunction,
  type Collector,
  type FunctionInitializationContext,
  type ListState,
  type ProcessContext,
  type ProcessFunction,
} from '../../shared/api/index.ts';
import { InMemoryCheckpointStorage, type CheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import { liveRescaleRefusal, planJob } from '../../shared/plan/job-plan.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';
import { CollectSink } from '../connectors/collect-sink.ts';
import { EmbeddedExecutor, type EmbeddedExecutorOptions } from '../runtime/embedded-executor.ts';
import { embeddedOptions } from '../testing/embedded-harness.ts';
import { GatedSource } from '../testing/gated-source.ts';
import { multiset } from '../testing/pipeline-helpers.ts';

const options = (storage: CheckpointStorage, extra: Partial<EmbeddedExecutorOptions> = {}) => embeddedOptions('checkpointed-function', storage, extra);

/** Emits its input four at a time; what it holds between batches is operator state. */
class Batching implements ProcessFunction<number, string>, CheckpointedFunction {
  private buffer: number[] = [];
  private state!: ListState<number>;

  initializeState(context: FunctionInitializationContext): void {
    this.state = context.getOperatorStateStore().getListState(new ListStateDescriptor<number>('buffer'));
    if (context.isRestored()) this.buffer = [...this.state.get()];
  }

  snapshotState(): void {
    this.state.update(this.buffer);
  }

  processElement(value: number, _ctx: ProcessContext, out: Collector<string>): void {
    this.buffer.push(value);
    if (this.buffer.length === 4) {
      out.collect(this.buffer.join(','));
      this.buffer = [];
    }
  }
}

const numbers = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('CheckpointedFunction', () => {
  it('a buffering function keeps its buffer across a failure and a restore: each batch once, none lost', async () => {
    const storage = new InMemoryCheckpointStorage();
    const sink = new CollectSink<string>();
    const job = (source: GatedSource<number>) => {
      const env = new StreamExecutionEnvironment();
      env.fromSource(source, WatermarkStrategy.noWatermarks<number>(), 'numbers').uid('numbers').process(() => new Batching()).uid('batching').sinkTo(sink).uid('sink');
      return env;
    };

    // 1. Read 10 records (two batches out, two records buffered), checkpoint twice, fail before record 10.
    const first = new GatedSource(numbers(20));
    const executor = await EmbeddedExecutor.create(job(first), options(storage, { checkpointIntervalMs: 10 }));
    first.release(10);
    const running = executor.run();
    await waitFor('10 records read', 5_000, () => executor.getStatus().recordsRead === 10);
    const before = executor.getStatus().checkpoints.completed;
    await waitFor('two checkpoints with two records buffered', 5_000, () => executor.getStatus().checkpoints.completed >= before + 2);
    first.failAt = 10;
    first.release(10);
    await assert.rejects(running, /injected failure before record 10/);
    await waitFor('the checkpoint in flight at the failure to settle', 5_000, () => !executor.getStatus().checkpoints.inProgress);
    assert.deepEqual(sink.values, ['0,1,2,3', '4,5,6,7']);

    // 2. Restore: records 8 and 9 come from the function's operator state, 10..19 from the source.
    const ids = await storage.listCompleted();
    const second = new GatedSource(numbers(20));
    second.releaseAllAndEnd();
    const restored = await EmbeddedExecutor.create(job(second), options(storage, { restore: { storage, checkpointId: ids[ids.length - 1]! } }));
    assert.equal((await restored.run()).state, 'finished');
    assert.deepEqual(multiset(sink.values), multiset(['0,1,2,3', '4,5,6,7', '8,9,10,11', '12,13,14,15', '16,17,18,19']));
  });

  it('at another parallelism, split lists are dealt out evenly and union lists given whole', async () => {
    const seen = new Map<number, { restored: boolean; split: readonly string[]; union: readonly string[] }>();
    const recorder = (): ProcessFunction<number, number> & CheckpointedFunction => {
      let split: ListState<string>;
      let union: ListState<string>;
      let subtask = -1;
      return {
        open(context) {
          subtask = context.indexOfThisSubtask;
        },
        initializeState(context) {
          split = context.getOperatorStateStore().getListState(new ListStateDescriptor<string>('split'));
          union = context.getOperatorStateStore().getUnionListState(new ListStateDescriptor<string>('union'));
          seen.set(seen.size, { restored: context.isRestored(), split: [...split.get()], union: [...union.get()] });
        },
        snapshotState() {
          if (split.get().length > 0) return;
          // Subtask 0 keeps three elements, subtask 1 two: five to deal out at parallelism 3.
          const count = subtask === 0 ? 3 : 2;
          split.update(Array.from({ length: count }, (_, k) => `s${subtask}-${k}`));
          union.update([`u${subtask}`]);
        },
        processElement(value, _ctx, out) {
          out.collect(value);
        },
      };
    };
    // One sink, as one external system: the restore finds the commits it made.
    const sink = new CollectSink<number>();
    const job = (parallelism: number) => {
      const env = new StreamExecutionEnvironment();
      env.fromCollection(numbers(10)).rebalance().process(recorder).setParallelism(parallelism).uid('recorder').sinkTo(sink).uid('sink');
      return env;
    };
    const storage = new InMemoryCheckpointStorage();
    await (await EmbeddedExecutor.create(job(2), options(storage))).run();
    assert.deepEqual([...seen.values()].map((s) => s.restored), [false, false]);

    seen.clear();
    const [finalId] = await storage.listCompleted();
    await (await EmbeddedExecutor.create(job(3), options(storage, { restore: { storage, checkpointId: finalId! } }))).run();
    const shares = [...seen.values()];
    assert.deepEqual(shares.map((s) => s.restored), [true, true, true]);
    assert.deepEqual(shares.map((s) => s.split), [['s0-0'], ['s0-1', 's0-2'], ['s1-0', 's1-1']], 'five elements over three subtasks, each once');
    for (const share of shares) assert.deepEqual([...share.union].sort(), ['u0', 'u1'], 'every subtask gets the whole union list');
  });

  it('refuses reading a split list as a union list after a restore, naming the state', async () => {
    const kept = (union: boolean) => (): ProcessFunction<number, number> & CheckpointedFunction => {
      let list: ListState<string>;
      return {
        initializeState(context) {
          const store = context.getOperatorStateStore();
          list = union ? store.getUnionListState(new ListStateDescriptor<string>('kept')) : store.getListState(new ListStateDescriptor<string>('kept'));
        },
        snapshotState() {
          list.update(['x']);
        },
        processElement(value, _ctx, out) {
          out.collect(value);
        },
      };
    };
    const sink = new CollectSink<number>();
    const job = (union: boolean) => {
      const env = new StreamExecutionEnvironment();
      env.fromCollection([1]).process(kept(union)).uid('kept').sinkTo(sink).uid('sink');
      return env;
    };
    const storage = new InMemoryCheckpointStorage();
    await (await EmbeddedExecutor.create(job(false), options(storage))).run();
    const [finalId] = await storage.listCompleted();
    await assert.rejects(
      EmbeddedExecutor.create(job(true), options(storage, { restore: { storage, checkpointId: finalId! } })),
      /list state "kept" was kept as split list state; read it with the same kind/,
    );
  });

  it('a job with operator state rescales by restart, not live', () => {
    const plan = (parallelism: number) => {
      const env = new StreamExecutionEnvironment();
      env.fromCollection([1]).rebalance().process(() => new Batching()).setParallelism(parallelism).sinkTo(new CollectSink()).setParallelism(parallelism);
      return planJob(env.graph, env.settings, { jobName: 'batching', parallelism });
    };
    assert.match(liveRescaleRefusal(plan(1), plan(2)) ?? '', /keeps operator state \(a CheckpointedFunction\): its lists are redistributed by a restart/);
  });
});
