// Windows beyond the default triggers, one named case per behaviour: processing-time sliding and
// session windows (a manual clock the source moves to each record's arrival time), dynamic session
// gaps, sliding count windows, ContinuousEventTimeTrigger / ContinuousProcessingTimeTrigger /
// DeltaTrigger, a user trigger with its own state and timers (kept across a stop and a restore on
// both state backends), the evictors before and after the window function, and what is refused
// when the pipeline is built. The differential test (window-operator.differential.test.ts) checks
// the same features against a model of Flink on random inputs; these are the readable examples.
// Watermarks follow every record (interval 0); results carry the window's end - 1 as timestamp.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ContinuousEventTimeTrigger,
  ContinuousProcessingTimeTrigger,
  CountEvictor,
  CountTrigger,
  DeltaEvictor,
  DeltaTrigger,
  EventTimeSessionWindows,
  GlobalWindows,
  ListStateDescriptor,
  ProcessingTimeSessionWindows,
  PurgingTrigger,
  SlidingEventTimeWindows,
  SlidingProcessingTimeWindows,
  TimeEvictor,
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
  WatermarkStrategy,
  type AggregateFunction,
  type DataStream,
  type GlobalWindow,
  type ProcessWindowFunction,
  type ReducingStateDescriptor,
  type StreamExecutionEnvironment,
  type TimeWindow,
  type Trigger,
  type TriggerResult,
} from '../../shared/api/index.ts';
import { ManualClock, SystemClock } from '../../shared/clock.ts';
import { InvalidPipelineError } from '../../shared/errors.ts';
import { InMemoryLogger } from '../../shared/logging.ts';
import { InMemoryCheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import type { StateBackendKind } from '../../shared/config/state-backend.ts';
import { CollectSink } from '../connectors/collect-sink.ts';
import { InMemoryDeadLetterOutput } from '../runtime/dead-letter.ts';
import { EmbeddedExecutor } from '../runtime/embedded-executor.ts';
import { runEmbedded } from '../testing/embedded-harness.ts';
import { deterministicEnv as newEnv, multiset } from '../testing/pipeline-helpers.ts';
import { DifferentialSource } from '../testing/window-differential-source.ts';

interface Ev {
  readonly key: string;
  readonly ts: number;
  readonly v: number;
}

const ev = (key: string, ts: number, v: number): Ev => ({ key, ts, v });
const monotonous = () => WatermarkStrategy.forMonotonousTimestamps<Ev>().withTimestampAssigner((e) => e.ts);
const outOfOrder = (ms: number) => WatermarkStrategy.forBoundedOutOfOrderness<Ev>(ms).withTimestampAssigner((e) => e.ts);
const sumV = (a: Ev, b: Ev): Ev => ({ key: a.key, ts: Math.max(a.ts, b.ts), v: a.v + b.v });

/** `key [start,end) v,v,…` for every firing of a window. */
const listValues: ProcessWindowFunction<Ev, string, string, TimeWindow> = {
  process(key, ctx, elements, out) {
    out.collect(`${key} [${ctx.window.start},${ctx.window.end}) ${elements.map((e) => e.v).join(',')}`);
  },
};

/**
 * Runs a pipeline on processing time: record i arrives when the clock reads arrivals[i] (the
 * source moves a manual clock there and lets due timers fire first); after the last record the
 * clock moves far ahead, so every window fires.
 */
async function onProcessingTime(records: readonly Ev[], arrivals: readonly number[], build: (input: DataStream<Ev>) => DataStream<string>): Promise<string[]> {
  const clock = new ManualClock(arrivals[0]!);
  const env = newEnv();
  const sink = new CollectSink<string>();
  const source = new DifferentialSource(records, { recordsPerPoll: 1, processingTime: { clock, arrivals, finalMs: arrivals[arrivals.length - 1]! + 1_000_000 } });
  build(env.fromSource(source, WatermarkStrategy.noWatermarks(), 'records')).sinkTo(sink);
  await runEmbedded(env, { clock });
  return multiset(sink.committed.map((r) => `${r.value} @${r.timestamp}`));
}

describe('processing-time windows on a manual clock', () => {
  it('SlidingProcessingTimeWindows.of(100, 50): a record goes to the windows open when it arrives', async () => {
    const out = await onProcessingTime([ev('a', 0, 1), ev('a', 0, 2), ev('b', 0, 4)], [1010, 1060, 1120], (input) =>
      input.keyBy((e) => e.key).window<TimeWindow>(SlidingProcessingTimeWindows.of(100, 50)).process(listValues),
    );
    assert.deepEqual(out, multiset(['a [950,1050) 1 @1049', 'a [1000,1100) 1,2 @1099', 'a [1050,1150) 2 @1149', 'b [1050,1150) 4 @1149', 'b [1100,1200) 4 @1199']));
  });

  it('ProcessingTimeSessionWindows.withGap(30): records arriving less than the gap apart form one session', async () => {
    const out = await onProcessingTime([ev('a', 0, 1), ev('a', 0, 2), ev('a', 0, 3), ev('b', 0, 4)], [1000, 1020, 1100, 1100], (input) =>
      input.keyBy((e) => e.key).window<TimeWindow>(ProcessingTimeSessionWindows.withGap(30)).process(listValues),
    );
    assert.deepEqual(out, multiset(['a [1000,1050) 1,2 @1049', 'a [1100,1130) 3 @1129', 'b [1100,1130) 4 @1129']));
  });

  it('ProcessingTimeSessionWindows.withDynamicGap: each record opens a session of its own gap', async () => {
    // a@1000 gap 10 → [1000,1010); a@1015 gap 50 → [1015,1065); a@1060 gap 10 → [1060,1070) merges: [1015,1070).
    const out = await onProcessingTime([ev('a', 0, 10), ev('a', 0, 50), ev('a', 0, 10)], [1000, 1015, 1060], (input) =>
      input
        .keyBy((e) => e.key)
        .window<TimeWindow>(ProcessingTimeSessionWindows.withDynamicGap<Ev>((e) => e.v))
        .process(listValues),
    );
    assert.deepEqual(out, multiset(['a [1000,1010) 10 @1009', 'a [1015,1070) 50,10 @1069']));
  });

  it('ContinuousProcessingTimeTrigger.of(20): early results every 20 ms of processing time, then at the end', async () => {
    // [1000,1100): fire times 1020, 1040, … (the first multiple of 20 after the first arrival).
    const out = await onProcessingTime([ev('a', 0, 1), ev('a', 0, 2), ev('a', 0, 4)], [1005, 1030, 1090], (input) =>
      input
        .keyBy((e) => e.key)
        .window<TimeWindow>(TumblingProcessingTimeWindows.of(100))
        .trigger(ContinuousProcessingTimeTrigger.of(20))
        .reduce(sumV)
        .map((e) => String(e.v)),
    );
    // 1020: 1; 1040: 3; 1060: 3; 1080: 3; 1099 (the window's end): 7.
    assert.deepEqual(out, multiset(['1 @1099', '3 @1099', '3 @1099', '3 @1099', '7 @1099']));
  });
});

describe('dynamic session gaps and sliding count windows', () => {
  it('EventTimeSessionWindows.withDynamicGap: the gap comes from each element', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    // a@0 gap 5 → [0,5); a@8 gap 20 → [8,28); a@25 gap 1 → [25,26) inside it; b@3 gap 2 → [3,5).
    env
      .fromCollection([ev('a', 0, 5), ev('a', 8, 20), ev('b', 3, 2), ev('a', 25, 1)], outOfOrder(100))
      .keyBy((e) => e.key)
      .window<TimeWindow>(EventTimeSessionWindows.withDynamicGap<Ev>((e) => e.v))
      .process(listValues)
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.values), multiset(['a [0,5) 5', 'a [8,28) 20,1', 'b [3,5) 2']));
  });

  it('a dynamic gap that is not positive fails the job, naming the extractor', async () => {
    const env = newEnv();
    env
      .fromCollection([ev('a', 0, 0)], monotonous())
      .keyBy((e) => e.key)
      .window(EventTimeSessionWindows.withDynamicGap<Ev>((e) => e.v))
      .reduce(sumV)
      .sinkTo(new CollectSink<Ev>());
    await assert.rejects(runEmbedded(env), /session gap extractor returned 0/);
  });

  it('countWindow(3, 2): every 2 records of a key, the last 3 of them', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    env
      .fromCollection([1, 2, 3, 4, 5, 6, 7].map((v) => ({ key: 'k', v })))
      .keyBy((e) => e.key)
      .countWindow(3, 2)
      .process({
        process(key, _ctx, elements, out) {
          out.collect(`${key}:${elements.map((e) => e.v).join(',')}`);
        },
      } as ProcessWindowFunction<{ key: string; v: number }, string, string, GlobalWindow>)
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.values, ['k:1,2', 'k:2,3,4', 'k:4,5,6']);
  });
});

describe('early-firing triggers', () => {
  // One key, tumbling [0,100); the watermark follows the highest timestamp.
  const input = [ev('a', 5, 1), ev('a', 12, 2), ev('a', 18, 4), ev('a', 31, 8), ev('a', 64, 16)];

  it('ContinuousEventTimeTrigger.of(10): the running result at every 10 ms of event time, and the final one', async () => {
    const env = newEnv();
    const sink = new CollectSink<number>();
    env
      .fromCollection(input, monotonous())
      .keyBy((e) => e.key)
      .window(TumblingEventTimeWindows.of(100))
      .trigger(ContinuousEventTimeTrigger.of(10))
      .reduce(sumV)
      .map((e) => e.v)
      .sinkTo(sink);
    await runEmbedded(env);
    // Fire times 10, 20, …; a firing sees every record processed before the watermark that fires
    // it: a@12 moves it to 11 (10 → 3), a@31 to 30 (20, 30 → 15), a@64 to 63 (40, 50, 60 → 31), the
    // end of input fires 70, 80, 90 and the window's end, 99.
    assert.deepEqual(sink.values, [3, 15, 15, 31, 31, 31, 31, 31, 31, 31]);
  });

  it('PurgingTrigger.of(ContinuousEventTimeTrigger.of(10)): each firing emits what came since the last one', async () => {
    const env = newEnv();
    const sink = new CollectSink<number>();
    env
      .fromCollection(input, monotonous())
      .keyBy((e) => e.key)
      .window(TumblingEventTimeWindows.of(100))
      .trigger(PurgingTrigger.of(ContinuousEventTimeTrigger.of(10)))
      .reduce(sumV)
      .map((e) => e.v)
      .sinkTo(sink);
    await runEmbedded(env);
    // Nothing is lost or counted twice: the parts add up to 31.
    assert.deepEqual(sink.values, [3, 12, 16]);
  });

  it('DeltaTrigger: fires when a record is more than the threshold away from the one that fired last', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    env
      .fromCollection([ev('a', 1, 10), ev('a', 2, 12), ev('a', 3, 16), ev('a', 4, 17), ev('a', 5, 30)], monotonous())
      .keyBy((e) => e.key)
      .window<TimeWindow>(TumblingEventTimeWindows.of(100))
      .trigger(DeltaTrigger.of<Ev, TimeWindow>(5, (last, next) => next.v - last.v))
      .process(listValues)
      .sinkTo(sink);
    await runEmbedded(env);
    // 16 - 10 > 5 fires; 30 - 16 > 5 fires; nothing at the window's end (DeltaTrigger does not fire there).
    assert.deepEqual(sink.values, ['a [0,100) 10,12,16', 'a [0,100) 10,12,16,17,30']);
  });
});

// ---- a user trigger with state and timers, across a stop and a restore ------------------------

const maxV = { kind: 'reducing', name: 'max-v', reduceFunction: (a: number, b: number) => Math.max(a, b) } as ReducingStateDescriptor<number>;
const earlyAt = { kind: 'reducing', name: 'early-at', reduceFunction: (a: number, b: number) => Math.min(a, b) } as ReducingStateDescriptor<number>;
const seen = new ListStateDescriptor<number>('seen');

/**
 * Fires a session at its end, and early, 5 ms (event time) after a record with v >= 100; a
 * session whose highest v is odd is not fired at its end. Its state is reducing and list state,
 * which merges when sessions merge; its early timer is deleted when the session goes.
 */
const earlyOnBigValue: Trigger<Ev, TimeWindow> = {
  name: 'EarlyOnBigValue',
  onElement(e, timestamp, window, ctx) {
    ctx.getPartitionedState(maxV).add(e.v);
    ctx.getPartitionedState(seen).add(e.v);
    if (window.maxTimestamp() <= ctx.getCurrentWatermark()) return 'FIRE';
    ctx.registerEventTimeTimer(window.maxTimestamp());
    const early = ctx.getPartitionedState(earlyAt);
    if (e.v >= 100 && early.get() === undefined) {
      early.add(timestamp + 5);
      ctx.registerEventTimeTimer(timestamp + 5);
    }
    return 'CONTINUE';
  },
  onEventTime(time, window, ctx): TriggerResult {
    const early = ctx.getPartitionedState(earlyAt);
    if (time === early.get()) {
      early.clear();
      return 'FIRE';
    }
    if (time !== window.maxTimestamp()) return 'CONTINUE';
    return (ctx.getPartitionedState(maxV).get() ?? 0) % 2 === 1 ? 'CONTINUE' : 'FIRE';
  },
  onProcessingTime: () => 'CONTINUE',
  onMerge(window, ctx) {
    ctx.mergePartitionedState(maxV);
    ctx.mergePartitionedState(earlyAt);
    ctx.mergePartitionedState(seen);
    const early = ctx.getPartitionedState(earlyAt).get();
    if (early !== undefined) ctx.registerEventTimeTimer(early);
    ctx.registerEventTimeTimer(window.maxTimestamp());
  },
  clear(window, ctx) {
    const early = ctx.getPartitionedState(earlyAt);
    const at = early.get();
    if (at !== undefined) ctx.deleteEventTimeTimer(at);
    early.clear();
    ctx.getPartitionedState(maxV).clear();
    ctx.getPartitionedState(seen).clear();
    ctx.deleteEventTimeTimer(window.maxTimestamp());
  },
};

// Sessions of gap 10 (out-of-orderness 20): a@0, a@18 (v 100: early timer 23), a@9 merges them
// into [0,28). b@50 moves the watermark to 29: the early firing (23) and a's end (27). b@60 makes
// b's session [50,70), not fired at its end: its highest v, 3, is odd. c fires at the end of input.
const sessionInput = [ev('a', 0, 2), ev('a', 18, 100), ev('a', 9, 4), ev('b', 50, 3), ev('b', 60, 1), ev('c', 100, 6)];
const sessionOutput = ['a [0,28) 2,100,4', 'a [0,28) 2,100,4', 'c [100,110) 6'];

function sessionJob(env: StreamExecutionEnvironment, source: DifferentialSource<Ev>, sink: CollectSink<string>): void {
  env
    .fromSource(source, outOfOrder(20), 'events')
    .uid('events')
    .keyBy((e) => e.key)
    .window<TimeWindow>(EventTimeSessionWindows.withGap(10))
    .trigger(earlyOnBigValue)
    .process(listValues)
    .uid('sessions')
    .sinkTo(sink);
}

describe('a user trigger with its own state and timers', () => {
  it('fires early and at the end, with its state merged when sessions merge', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    sessionJob(env, new DifferentialSource(sessionInput, { recordsPerPoll: 1 }), sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.values), multiset(sessionOutput));
  });

  for (const backend of ['memory', 'leveldb'] as const satisfies readonly StateBackendKind[]) {
    for (const stopAt of [2, 3, 5]) {
      it(`keeps its state and timers across a stop with a checkpoint and a restore (${backend}, stop before record ${stopAt})`, async () => {
        const sink = new CollectSink<string>();
        const storage = new InMemoryCheckpointStorage();
        const directory = backend === 'leveldb' ? await mkdtemp(join(tmpdir(), 'sluice-trigger-restore-')) : undefined;
        const options = {
          jobName: 'trigger-restore',
          properties: {},
          clock: SystemClock.INSTANCE,
          logger: new InMemoryLogger(),
          deadLetters: new InMemoryDeadLetterOutput(),
          stateBackend: backend,
          checkpointStorage: storage,
          ...(directory ? { stateDirectory: directory } : {}),
        };
        try {
          let stop = () => {};
          const first = newEnv();
          sessionJob(first, new DifferentialSource(sessionInput, { recordsPerPoll: 1, pauseAt: stopAt, onPause: () => stop() }), sink);
          const executor = await EmbeddedExecutor.create(first, options);
          stop = () => executor.stop();
          assert.equal((await executor.run()).state, 'stopped');
          const [checkpointId] = (await storage.listCompleted()).slice(-1);
          const second = newEnv();
          sessionJob(second, new DifferentialSource(sessionInput, { recordsPerPoll: 1 }), sink);
          const restored = await EmbeddedExecutor.create(second, { ...options, restore: { storage, checkpointId: checkpointId! } });
          assert.equal((await restored.run()).state, 'finished');
          // The watermark starts again after the restore (as in Flink), which changes nothing here.
          assert.deepEqual(multiset(sink.values), multiset(sessionOutput));
        } finally {
          if (directory) await rm(directory, { recursive: true, force: true });
        }
      });
    }
  }
});

// ---- evictors ------------------------------------------------------------------------------

describe('evictors', () => {
  it('CountEvictor.of(2) on sliding windows: each window reduces its last 2 records (no pre-aggregated panes)', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    env
      .fromCollection([ev('a', 1, 1), ev('a', 3, 2), ev('a', 7, 4), ev('a', 8, 8)], monotonous())
      .keyBy((e) => e.key)
      .window(SlidingEventTimeWindows.of(10, 5))
      .evictor(CountEvictor.of(2))
      .reduce(sumV)
      .map((e) => `${e.v}`)
      .sinkTo(sink);
    await runEmbedded(env);
    // [-5,5): 1,2 → 3; [0,10): 1,2,4,8 → 4+8; [5,15): 4,8 → 12.
    assert.deepEqual(sink.committed, [
      { value: '3', timestamp: 4 },
      { value: '12', timestamp: 9 },
      { value: '12', timestamp: 14 },
    ]);
  });

  it('TimeEvictor.of(5): only records within 5 ms of the newest one in the window', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    env
      .fromCollection([ev('a', 1, 1), ev('a', 5, 2), ev('a', 6, 4), ev('a', 9, 8)], outOfOrder(0))
      .keyBy((e) => e.key)
      .window<TimeWindow>(TumblingEventTimeWindows.of(10))
      .evictor(TimeEvictor.of(5))
      .process(listValues)
      .sinkTo(sink);
    await runEmbedded(env);
    // Newest 9: records at or before 4 go.
    assert.deepEqual(sink.values, ['a [0,10) 2,4,8']);
  });

  it('an evictor after the function: it sees everything, and only what is left stays for the next firing', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    env
      .fromCollection([1, 2, 9, 10, 11, 30].map((v) => ({ key: 'k', v })))
      .keyBy((e) => e.key)
      .window<GlobalWindow>(GlobalWindows.create())
      .trigger(CountTrigger.of<GlobalWindow>(3))
      .evictor(DeltaEvictor.of<{ key: string; v: number }, GlobalWindow>(5, (e, last) => Math.abs(last.v - e.v), true))
      .process({
        process(key, _ctx, elements, out) {
          out.collect(`${key}:${elements.map((e) => e.v).join(',')}`);
        },
      } as ProcessWindowFunction<{ key: string; v: number }, string, string, GlobalWindow>)
      .sinkTo(sink);
    await runEmbedded(env);
    // First firing sees 1,2,9; keeps 9 (1 and 2 are 5 or more from the last, 9). Second: 9,10,11,30; keeps 30.
    assert.deepEqual(sink.values, ['k:1,2,9', 'k:9,10,11,30']);
  });

  it('aggregate on session windows with an evictor needs no merge(): the window keeps its records', async () => {
    const env = newEnv();
    const sink = new CollectSink<number>();
    const sumNoMerge: AggregateFunction<Ev, number, number> = { createAccumulator: () => 0, add: (e, acc) => acc + e.v, getResult: (acc) => acc };
    env
      .fromCollection([ev('a', 0, 1), ev('a', 20, 2), ev('a', 10, 4), ev('a', 15, 8)], outOfOrder(100))
      .keyBy((e) => e.key)
      .window(EventTimeSessionWindows.withGap(10))
      .evictor(CountEvictor.of(3))
      .aggregate(sumNoMerge)
      .sinkTo(sink);
    await runEmbedded(env);
    // One session [0,30) of 1, 2, 4, 8 (in session order: [0,10) then [10,30)'s); the last 3: 2 + 4 + 8.
    assert.deepEqual(sink.values, [14]);
  });
});

describe('refused when the pipeline is built', () => {
  const sessions = () => newEnv().fromCollection([ev('a', 0, 1)], monotonous()).keyBy((e) => e.key).window(EventTimeSessionWindows.withGap(10));

  it('a trigger that cannot merge, on session windows', () => {
    assert.throws(
      () => sessions().trigger(DeltaTrigger.of<Ev>(1, (a, b) => b.v - a.v)),
      (error: Error) => error instanceof InvalidPipelineError && /DeltaTrigger\(1\) cannot merge/.test(error.message),
    );
    const noMerge: Trigger<Ev> = { name: 'NoMerge', onElement: () => 'CONTINUE', onEventTime: () => 'CONTINUE', onProcessingTime: () => 'CONTINUE', clear: () => {} };
    assert.throws(() => sessions().trigger(noMerge), /NoMerge cannot merge/);
    assert.doesNotThrow(() => sessions().trigger(PurgingTrigger.of(CountTrigger.of(2))));
  });

  it('bad arguments to the assigners, triggers and evictors', () => {
    assert.throws(() => SlidingProcessingTimeWindows.of(10, 0), RangeError);
    assert.throws(() => ProcessingTimeSessionWindows.withGap(0), RangeError);
    assert.throws(() => ContinuousEventTimeTrigger.of(0), RangeError);
    assert.throws(() => CountEvictor.of(-1), RangeError);
    assert.throws(() => TimeEvictor.of(-5), RangeError);
  });
});
