// Async I/O (AsyncDataStream) in embedded mode: ordered and unordered results, watermarks kept in
// order in unordered mode, the capacity as the bound on requests in flight, timeouts, retries,
// a bounded job that ends only once its last answers came, and records in flight kept by a
// checkpoint and requested again after a restore (exactly once in the output).
// Answers arrive after a record-dependent number of event-loop turns, so they complete out of
// order without any wall-clock wait.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AsyncDataStream,
  AsyncRetryStrategies,
  RetryPredicates,
  StreamExecutionEnvironment,
  WatermarkStrategy,
  type AsyncFunction,
  type KeyedProcessFunction,
} from '../../shared/api/index.ts';
import { InMemoryCheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';
import { CollectSink } from '../connectors/collect-sink.ts';
import { EmbeddedExecutor, type EmbeddedExecutorOptions } from '../runtime/embedded-executor.ts';
import { embeddedOptions, runEmbedded } from '../testing/embedded-harness.ts';
import { GatedSource } from '../testing/gated-source.ts';
import { multiset } from '../testing/pipeline-helpers.ts';
import { liveRescaleRefusal, planJob } from '../../shared/plan/job-plan.ts';

/** Resolves after `turns` turns of the event loop: a service whose answers take different times. */
function after<T>(turns: number, value: T): Promise<T> {
  return new Promise((resolve) => {
    const step = (left: number) => (left === 0 ? resolve(value) : setImmediate(() => step(left - 1)));
    step(turns);
  });
}

const numbers = (n: number) => Array.from({ length: n }, (_, i) => i);
/** Later records answer sooner within each group of 7: out of order by design. */
const turnsFor = (i: number) => 6 - (i % 7);

describe('AsyncDataStream', () => {
  it('orderedWait emits every result in input order although answers come out of order', async () => {
    const env = new StreamExecutionEnvironment();
    const sink = new CollectSink<string>();
    const answered: number[] = [];
    AsyncDataStream.orderedWait(env.fromCollection(numbers(200)), async (i: number) => {
      const value = await after(turnsFor(i), i);
      answered.push(value);
      return [`v${value}`];
    }, 10_000, 10).sinkTo(sink);

    await runEmbedded(env);

    assert.deepEqual(sink.values, numbers(200).map((i) => `v${i}`));
    assert.notDeepEqual(answered, numbers(200), 'the answers came in input order: the test shows nothing');
  });

  it('unorderedWait emits results as they complete, but never after a watermark that followed their record', async () => {
    const env = new StreamExecutionEnvironment().setAutoWatermarkInterval(0);
    const seen: Array<{ t: number; watermark: number }> = [];
    const sink = new CollectSink<number>();
    // Ten records share each timestamp, so the watermark advances every ten records: room to reorder between watermarks.
    const events = numbers(300).map((i) => ({ i, t: 1_000 + Math.floor(i / 10) * 10 }));
    const input = env.fromCollection(events, WatermarkStrategy.forMonotonousTimestamps<{ i: number; t: number }>().withTimestampAssigner((e) => e.t));
    const watch: KeyedProcessFunction<number, number, number> = {
      processElement(value, ctx, out) {
        seen.push({ t: ctx.timestamp()!, watermark: ctx.timerService().currentWatermark() });
        out.collect(value);
      },
    };
    AsyncDataStream.unorderedWait(input, (e: { i: number; t: number }) => after(turnsFor(e.i), [e.i]), 10_000, 20)
      .keyBy(() => 0)
      .process(watch)
      .sinkTo(sink);

    await runEmbedded(env);

    assert.deepEqual([...sink.values].sort((a, b) => a - b), numbers(300));
    assert.notDeepEqual(sink.values, numbers(300), 'unordered output came in input order: the test shows nothing');
    const late = seen.filter((s) => s.t <= s.watermark);
    assert.deepEqual(late, [], 'results emitted after a watermark that passed their timestamp');
  });

  it('keeps at most `capacity` requests in flight, and reaches it', async () => {
    const env = new StreamExecutionEnvironment();
    const sink = new CollectSink<number>();
    let inFlight = 0;
    let most = 0;
    AsyncDataStream.unorderedWait(env.fromCollection(numbers(500)), async (i: number) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await after(1 + (i % 3), undefined);
      inFlight--;
      return [i];
    }, 10_000, 8).sinkTo(sink);

    await runEmbedded(env, { sourceBatchSize: 64 });

    assert.equal(sink.values.length, 500);
    assert.equal(most, 8, `at most 8 requests at once, and 8 reached (saw ${most})`);
  });

  it('a request past its timeout takes the results of timeout(input); a late answer is dropped', async () => {
    const env = new StreamExecutionEnvironment();
    const sink = new CollectSink<string>();
    const fn: AsyncFunction<number, string> = {
      asyncInvoke: (i) => (i === 3 ? new Promise<never>(() => {}) : after(1, [`ok ${i}`])),
      timeout: (i) => [`timed out ${i}`],
    };
    AsyncDataStream.orderedWait(env.fromCollection(numbers(6)), fn, 50, 4).sinkTo(sink);

    await runEmbedded(env);

    assert.deepEqual(sink.values, ['ok 0', 'ok 1', 'ok 2', 'timed out 3', 'ok 4', 'ok 5']);
  });

  it('without a timeout function, a timeout fails the job naming the record', async () => {
    const env = new StreamExecutionEnvironment();
    AsyncDataStream.unorderedWait(env.fromCollection([{ id: 'a' }, { id: 'slow' }]), (r: { id: string }) => (r.id === 'slow' ? new Promise<never>(() => {}) : after(1, [r])), 30, 4).sinkTo(
      new CollectSink(),
    );
    await assert.rejects(runEmbedded(env), /record \{"id":"slow"\} timed out after 30 ms \(1 attempt\(s\)\); give the function a timeout\(input\)/);
  });

  it('retries failed requests and empty results by the strategy, and fails when the attempts run out', async () => {
    const attempts = new Map<number, number>();
    const flaky = async (i: number): Promise<number[]> => {
      const n = (attempts.get(i) ?? 0) + 1;
      attempts.set(i, n);
      await after(1, undefined);
      if (n === 1) throw new Error(`unavailable (${i})`);
      if (n === 2) return [];
      return [i * 10];
    };
    const strategy = AsyncRetryStrategies.fixedDelay<number>(3, 1).ifException(RetryPredicates.HAS_EXCEPTION_PREDICATE).ifResult(RetryPredicates.EMPTY_RESULT_PREDICATE).build();
    const env = new StreamExecutionEnvironment();
    const sink = new CollectSink<number>();
    AsyncDataStream.orderedWaitWithRetry(env.fromCollection(numbers(20)), flaky, 10_000, 5, strategy).sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.values, numbers(20).map((i) => i * 10));
    assert.deepEqual([...new Set(attempts.values())], [3], 'every record took three attempts');

    attempts.clear();
    const twoAttempts = AsyncRetryStrategies.exponentialBackoff<number>(2, 1, 10, 2).ifException(RetryPredicates.HAS_EXCEPTION_PREDICATE).build();
    const failing = new StreamExecutionEnvironment();
    AsyncDataStream.unorderedWaitWithRetry(failing.fromCollection([7]), async (i: number) => { attempts.set(i, (attempts.get(i) ?? 0) + 1); throw new Error('down'); }, 10_000, 5, twoAttempts).sinkTo(new CollectSink());
    await assert.rejects(runEmbedded(failing), /record 7: the request failed after 2 attempt\(s\): down/);
    assert.equal(attempts.get(7), 2);
  });

  it('an answer that is not a list of results fails the job with what to return', async () => {
    const env = new StreamExecutionEnvironment();
    AsyncDataStream.orderedWait(env.fromCollection([1]), async () => 42 as unknown as number[], 1_000).sinkTo(new CollectSink());
    await assert.rejects(runEmbedded(env), /record 1: asyncInvoke resolved to number, not a list of results \(resolve to \[\] for none, \[x\] for one\)/);
  });

  it('refuses a bad timeout, capacity or function when the pipeline is built', () => {
    const env = new StreamExecutionEnvironment();
    const input = env.fromCollection([1]);
    assert.throws(() => AsyncDataStream.orderedWait(input, async (i: number) => [i], 0), /orderedWait: timeout must be a positive number of ms, got 0/);
    assert.throws(() => AsyncDataStream.unorderedWait(input, async (i: number) => [i], 100, 0), /unorderedWait: capacity: a positive integer, got 0/);
    assert.throws(() => AsyncDataStream.orderedWait(input, {} as AsyncFunction<number, number>, 100), /asyncInvoke\(input\) returning a promise/);
  });

  it('a job with async I/O rescales by restart, not live: its records in flight are state only a restore hands over', () => {
    const build = (parallelism: number) => {
      const env = new StreamExecutionEnvironment();
      AsyncDataStream.orderedWait(env.fromCollection([1]), async (i: number) => [i], 100).sinkTo(new CollectSink());
      return planJob(env.graph, env.settings, { jobName: 'async', parallelism });
    };
    assert.match(liveRescaleRefusal(build(1), build(2)) ?? '', /is async I\/O: its records in flight move by a restart/);
  });
});

describe('async I/O across a failure and a restore', () => {
  it('records in flight at a checkpoint are requested again after the restore: the output holds each result once', async () => {
    const storage = new InMemoryCheckpointStorage();
    const options = (extra: Partial<EmbeddedExecutorOptions> = {}) => embeddedOptions('async-restore', storage, { checkpointIntervalMs: 10, ...extra });
    const sink = new CollectSink<string>();
    const job = (source: GatedSource<number>, answer: (i: number) => Promise<string[]>) => {
      const env = new StreamExecutionEnvironment();
      AsyncDataStream.orderedWait(env.fromSource(source, WatermarkStrategy.noWatermarks<number>(), 'numbers').uid('numbers'), answer, 60_000, 10).uid('enrich').sinkTo(sink).uid('sink');
      return env;
    };

    // 1. Records 10..14 never get an answer before the failure: they are in flight at every checkpoint after they were read.
    const first = new GatedSource(numbers(20));
    const executor = await EmbeddedExecutor.create(job(first, (i) => (i < 10 ? after(1, [`r${i}`]) : new Promise<never>(() => {}))), options());
    first.release(15);
    const running = executor.run();
    await waitFor('15 records read', 10_000, () => executor.getStatus().recordsRead === 15);
    // Records 0..9 answered and committed by a checkpoint that holds 10..14 in flight.
    await waitFor('the answers for 0..9 committed', 10_000, () => sink.committed.length === 10);
    first.failAt = 15;
    first.release(5);
    await assert.rejects(running, /injected failure before record 15/);
    await waitFor('the checkpoint in flight at the failure to settle', 5_000, () => !executor.getStatus().checkpoints.inProgress);
    assert.deepEqual(multiset(sink.committed.map((r) => r.value)), multiset(numbers(10).map((i) => `r${i}`)));

    // 2. Restore with a service that answers: 10..14 come from the checkpoint's records in flight, 15..19 from the source.
    const ids = await storage.listCompleted();
    const second = new GatedSource(numbers(20));
    second.releaseAllAndEnd();
    const restored = await EmbeddedExecutor.create(job(second, (i) => after(1, [`r${i}`])), options({ restore: { storage, checkpointId: ids[ids.length - 1]! } }));
    assert.equal((await restored.run()).state, 'finished');

    // 3. Nothing lost, nothing twice.
    const output = sink.committed.map((r) => r.value);
    assert.deepEqual(multiset(output), multiset(numbers(20).map((i) => `r${i}`)), `lost or doubled: ${JSON.stringify(output)}`);
  });
});
